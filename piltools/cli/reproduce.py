"""``python -m piltools reproduce --scale cpu``: execute the numbered notebooks in order.

Each notebook reads its scale from the ``PILTOOLS_SCALE`` environment variable
(first code cell), so the same notebooks run at ``smoke``, ``cpu`` or ``paper``
scale. Executed copies go to ``results/executed/<scale>/``; the committed
notebooks are only overwritten with ``--update-notebooks`` (how the maintainers
store the ``cpu``-scale outputs that readers see on GitHub). Training runs are
cached in ``results/runs``, so a second call is fast.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from piltools.experiments import SCALE_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--notebooks", default="notebooks", help="folder of numbered notebooks")
    p.add_argument("--only", nargs="*", default=None, help="notebook name prefixes to run (e.g. 01)")
    p.add_argument("--out", default="results/executed", help="where executed copies are written")
    p.add_argument("--update-notebooks", action="store_true",
                   help="also write the executed outputs back into the committed notebooks")
    p.add_argument("--timeout", type=int, default=-1, help="per-cell timeout in seconds (-1: none)")


def run(args: argparse.Namespace) -> int:
    import nbformat
    from nbclient import NotebookClient

    nb_dir = Path(args.notebooks)
    paths = sorted(p for p in nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in args.only)]
    if not paths:
        print(f"no numbered notebooks found in {nb_dir.resolve()}", file=sys.stderr)
        return 2
    out_dir = Path(args.out) / args.scale
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PILTOOLS_SCALE"] = args.scale
    failed = []
    for path in paths:
        t0 = time.time()
        print(f"[reproduce] {path.name} at scale={args.scale} ...", flush=True)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=None if args.timeout < 0 else args.timeout,
                                kernel_name="python3", resources={"metadata": {"path": str(nb_dir)}})
        try:
            client.execute()
        except Exception as exc:  # report which notebook failed, keep the partial copy
            failed.append(path.name)
            print(f"[reproduce] {path.name} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        executed = out_dir / path.name
        nbformat.write(nb, executed)
        if args.update_notebooks and path.name not in failed:
            nbformat.write(nb, path)
        print(f"[reproduce] {path.name} done in {time.time() - t0:.0f} s -> {executed}", flush=True)
    if failed:
        print(f"[reproduce] failed notebooks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
