"""Serve ``notebooks/06_inspector.ipynb`` as an app with Voila on 127.0.0.1 with a random token."""
from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from piltools.errors import InputError
from piltools.runs import project_root

#: The notebook the app is.
NOTEBOOK = Path("notebooks") / "06_inspector.ipynb"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VoilaServer:
    """A running Voila process.

    Args:
        process: the ``voila`` process.
        url: the app's address with its token.
    """

    process: subprocess.Popen
    url: str
    port: int

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the server accepts connections.

        Raises:
            RuntimeError: Voila exited, or did not listen within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited with status {self.process.returncode} before serving {self.url}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"voila did not listen on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop within 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_voila(*, scale: str, baseline: str | None = None, pil: str | None = None, port: int | None = None,
                quiet: bool = True) -> VoilaServer:
    """Start Voila on the inspector notebook; the kernel reads the pair from the environment.

    Args:
        scale: ``PILTOOLS_SCALE`` of the notebook.
        baseline: baseline run directory or experiment name (None: the default pair).
        pil: PIL run directory or experiment name (None: the default pair).
        port: port on 127.0.0.1 (None: a free one).
        quiet: send Voila's log to /dev/null.

    Raises:
        InputError: Voila is not installed, or the notebook is missing.
    """
    if importlib.util.find_spec("voila") is None:
        raise InputError("voila is not installed: pip install voila (see pyproject.toml's 'notebooks' extra)")
    root = project_root()
    notebook = root / NOTEBOOK
    if not notebook.is_file():
        raise InputError(f"{notebook}: the inspector notebook is missing; run from a piltools checkout")
    port = port or free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, PILTOOLS_SCALE=scale, PILTOOLS_QUIET="1",
               PILTOOLS_INSPECT_BASELINE=baseline or "", PILTOOLS_INSPECT_PIL=pil or "",
               PYTHONPATH=os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])]),
               # the environment's own Voila templates first (else Voila may render a plain nbconvert page)
               JUPYTER_PATH=os.pathsep.join([str(Path(sys.prefix) / "share" / "jupyter"),
                                             *filter(None, [os.environ.get("JUPYTER_PATH")])]))
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", f"--token={token}"]
    out = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    return VoilaServer(process=process, url=f"http://127.0.0.1:{port}/?token={token}", port=port)
