"""Run directories: where one (experiment, scale, seed) training run keeps everything.

Layout: ``<out>/<scale>/<experiment-slug>/<run_id>/`` where ``run_id`` is a
short hash of the resolved config (seed included) and ``out`` defaults to
``results/runs`` under the project root. A run directory holds:

- ``config.json``: the resolved :class:`~piltools.config.ExperimentConfig`;
- ``version.txt``: ``git describe --always --dirty`` of the code (or ``unknown``);
- ``machine.json``: what decides whether another machine gets the same numbers
  (:func:`machine_info`): CPU model, the instruction set torch uses, torch / numpy /
  OpenCV versions, the torch threads the run trained with, the dataset's fingerprint;
  and host, platform, device, world size;
- ``metrics.csv``: one row per epoch (:data:`METRIC_COLUMNS`);
- ``last.pt``: the latest checkpoint (atomic write; tensors and plain values only);
- ``eval.json``: the final evaluation; its presence marks the run complete;
- ``predictions_val.csv``: for LIP, predictions in LIP CSV format in original
  image coordinates;
- ``code.json``: the code fingerprint (:func:`code_fingerprint`) and ``git describe``
  of the code that trained the run.

Run directories are git-ignored; the small files of a finished ``cpu`` or ``paper`` run are
also kept as its committed record (:mod:`piltools.records`).

Stale runs. The run id hashes the config and seed only (never the code), so a
fix to the training, evaluation or data code does not move run ids and a
cached run can hold numbers that today's code would not reproduce. Every run
therefore records :func:`code_fingerprint`, a hash of the package source files
that decide the numbers (everything under ``piltools/`` except
:data:`UNFINGERPRINTED`; ``git describe`` is recorded beside it but not compared,
so a commit that touches only docs, the CLI or reports makes nothing stale).
:func:`run_freshness` compares a run's fingerprint with the current code:
``"current"``, ``"stale"`` or ``"unknown"`` (runs made before fingerprints
were recorded: reported, never retrained on that ground). The policy:

- a stale run is reported, never silently retrained: ``run_experiment`` returns
  it with :class:`StaleRunWarning`, ``python -m piltools train`` / ``evaluate``
  print a warning line, result tables carry a ``stale`` column
  (:func:`piltools.reports.summary_row`), ``python -m piltools experiments --stale``
  lists the stale runs of a runs folder (:func:`find_runs`);
- retraining is asked for: ``run_experiment(..., retrain_stale=True)`` or
  ``python -m piltools train NAME --retrain-stale`` (``--restart`` retrains a run
  whatever its state, e.g. after a corrupt checkpoint);
- a retrain never loses finished work: it trains in :func:`staging_dir` and only
  once it has finished does :func:`replace_run` move the old run directory to
  ``<slug>/.replaced/<run_id>-<UTC time>/`` and the new one into its place.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from piltools.config import HASH_NEUTRAL_DEFAULTS, ExperimentConfig, load_config
from piltools.errors import InputError

METRIC_COLUMNS: tuple[str, ...] = (
    "epoch", "loss", "heatmap_loss", "parsing_loss", "train_acc", "val_pck", "lr", "seconds",
)
# Fields of the config that do not change what a run computes (excluded from the hash).
_UNHASHED = ("command", "notes")

PACKAGE_DIR = Path(__file__).resolve().parent
#: Paths under ``piltools/`` whose source does not decide a run's numbers (left out of the fingerprint):
#: the command line, benchmarks, figures, result tables, run records, run plans, predictions on a user's
#: images, the inspector, the synthetic data's attribute sidecar, the paper's numbers, error texts.
UNFINGERPRINTED: tuple[str, ...] = ("cli/", "benchmarks/", "__main__.py", "viz.py", "reports.py", "records.py",
                                    "collection.py", "planning.py", "predict.py", "inspection/",
                                    "synthetic/attributes.py", "training/calibration.py", "paper.py",
                                    "errors.py")
CODE_FILE = "code.json"
MACHINE_FILE = "machine.json"
#: Distributions that may provide ``cv2``, in the order they are looked up for the recorded OpenCV version.
OPENCV_DISTRIBUTIONS: tuple[str, ...] = ("opencv-python-headless", "opencv-python", "opencv-contrib-python")


class CheckpointError(InputError):
    """A run's checkpoint is missing, unreadable (truncated, corrupt) or belongs to another run."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A run has no checkpoint (it was never trained, or its folder was moved)."""


class StaleRunWarning(UserWarning):
    """A cached run was trained by code whose fingerprint differs from the current code's."""


def project_root() -> Path:
    """The folder holding ``pyproject.toml`` above the package, else the current folder.

    Override with the environment variable ``PILTOOLS_HOME``.
    """
    env = os.environ.get("PILTOOLS_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file():
        return here
    return Path.cwd().resolve()


def resolve_path(path: str | Path) -> Path:
    """``path`` if absolute, else relative to :func:`project_root`."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


def experiment_slug(name: str) -> str:
    """A folder name for an experiment name: ``table1/vgg16-pil`` -> ``table1-vgg16-pil``."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name.lower())


def hashed_config(cfg: ExperimentConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dict the run id is computed from: the resolved config (minus free text) + ``extra``."""
    d = cfg.to_dict()
    for key in _UNHASHED:
        d.pop(key, None)
    for dotted, neutral in HASH_NEUTRAL_DEFAULTS.items():
        *parents, leaf = dotted.split(".")
        section = d
        for part in parents:
            section = section.get(part) or {}
        if leaf in section and section[leaf] == _plain_value(neutral):
            del section[leaf]
    if extra:
        d["extra"] = dict(sorted(extra.items()))
    return d


def _plain_value(value: Any) -> Any:
    """A default as it appears in ``to_dict`` (tuples as lists)."""
    return [_plain_value(v) for v in value] if isinstance(value, (list, tuple)) else value


def run_id(cfg: ExperimentConfig, extra: dict[str, Any] | None = None) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of :func:`hashed_config`.

    Args:
        cfg: the resolved config (its ``seed`` is part of it).
        extra: other things the result depends on (e.g. the transfer source's
            run id, the DDP world size).
    """
    text = json.dumps(hashed_config(cfg, extra), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_dir_for(cfg: ExperimentConfig, out: str | Path = "results/runs",
                extra: dict[str, Any] | None = None) -> Path:
    """``<out>/<scale>/<slug>/<run_id>`` (``out`` relative to the project root)."""
    return resolve_path(out) / cfg.scale / experiment_slug(cfg.name) / run_id(cfg, extra)


def code_version() -> str:
    """``git describe --always --dirty`` of the project, or ``"unknown"``."""
    try:
        res = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=project_root(),
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    out = res.stdout.strip()
    return out if res.returncode == 0 and out else "unknown"


def cpu_model() -> str:
    """The CPU's ``model name`` from ``/proc/cpuinfo``, else :func:`platform.processor`, else ``"unknown"``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def opencv_version() -> str:
    """The installed OpenCV distribution's version (read from package metadata, without loading ``cv2``)."""
    for dist in OPENCV_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def machine_info(device: str = "cpu", world_size: int = 1, dataset_sha256: str | None = None) -> dict[str, Any]:
    """What a run's numbers may depend on besides its config and code (``machine.json``).

    Bit-identical CPU results need the same CPU kind (``cpu_model``, ``cpu_capability``: the instruction set
    torch's kernels dispatch to, e.g. ``AVX512``), the same torch / numpy / OpenCV versions, the same torch
    thread count and the same data; host, platform, device and world size describe the rest.

    Args:
        device: the run's device.
        world_size: processes training the run.
        dataset_sha256: fingerprint of the training data (synthetic data only; see
            :func:`piltools.synthetic.ensure.dataset_fingerprint`), or None.

    ``torch_threads`` is the count at the time of the call: call it where the run has set its threads.
    """
    info: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": opencv_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "world_size": world_size,
        "dataset_sha256": dataset_sha256,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def describe_machine(info: dict[str, Any], versions: bool = False) -> str:
    """One line for a :func:`machine_info` dict, e.g. ``"host1 cpu (16 cores)"``; missing keys print as ``?``.

    With a GPU its name follows the device: ``"host1 cuda:0 NVIDIA H200 (16 cores)"``. With ``versions``
    (benchmarks) the platform, Python and torch versions and the torch thread count follow.
    """
    device = str(info.get("device", "?"))
    if info.get("gpu"):
        device += f" {info['gpu']}"
    line = f"{info.get('host', 'unknown')} {device} ({info.get('cpu_count', '?')} cores)"
    if versions:
        line += (f"; {info.get('platform', '?')}; python {info.get('python', '?')}; torch {info.get('torch', '?')}; "
                 f"{info.get('torch_threads', '?')} torch threads")
    return line


def fingerprint_files(package: Path = PACKAGE_DIR) -> list[Path]:
    """The ``.py`` files under ``package`` that decide a run's numbers (all but :data:`UNFINGERPRINTED`), sorted."""
    files = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if not any(rel == skip or (skip.endswith("/") and rel.startswith(skip)) for skip in UNFINGERPRINTED):
            files.append(path)
    return files


def source_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """16 hex digits of SHA-256 over the relative paths and contents of :func:`fingerprint_files` of ``package``."""
    digest = hashlib.sha256()
    for path in fingerprint_files(package):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def code_fingerprint() -> str:
    """:func:`source_fingerprint` of the running package, computed once per process (the code a process
    runs does not change under it)."""
    return source_fingerprint(PACKAGE_DIR)


def write_code_record(run_dir: Path) -> None:
    """Record the current :func:`code_fingerprint` and :func:`code_version` in ``run_dir/code.json``."""
    write_json(run_dir / CODE_FILE, {"fingerprint": code_fingerprint(), "version": code_version()})


def recorded_fingerprint(run_dir: Path) -> str | None:
    """The fingerprint a run recorded, or None (runs made before fingerprints were recorded)."""
    path = run_dir / CODE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("fingerprint")


def run_freshness(run_dir: Path) -> str:
    """``"current"`` (trained by code with today's fingerprint), ``"stale"`` (other code) or ``"unknown"``."""
    recorded = recorded_fingerprint(run_dir)
    if recorded is None:
        return "unknown"
    return "current" if recorded == code_fingerprint() else "stale"


def warn_if_stale(run_dir: Path, cfg: ExperimentConfig) -> None:
    """Issue a :class:`StaleRunWarning` naming the run and the fix when :func:`run_freshness` is ``"stale"``."""
    if run_freshness(run_dir) == "stale":
        retrain = f"`{cfg.command} --retrain-stale`" if cfg.command else "run_config(..., retrain_stale=True)"
        warnings.warn(StaleRunWarning(
            f"run {run_dir} ({cfg.name}, seed {cfg.seed}) is STALE: trained by code {recorded_fingerprint(run_dir)}, "
            f"the current code is {code_fingerprint()}; its numbers may differ from today's code: retrain with "
            f"{retrain}"), stacklevel=3)


def find_runs(out: str | Path = "results/runs") -> list[Path]:
    """The run directories under a runs folder (``<out>/<scale>/<slug>/<run_id>`` holding ``config.json``),
    sorted; retrains in progress and replaced runs (``.retrain/``, ``.replaced/``) are not listed."""
    return sorted(p.parent for p in resolve_path(out).glob("*/*/*/config.json") if not p.parent.name.startswith("."))


def staging_dir(run_dir: Path) -> Path:
    """Where a replacement of ``run_dir`` trains: ``<slug>/.retrain/<run_id>`` (same name, so its checkpoint
    belongs to the run)."""
    return run_dir.parent / ".retrain" / run_dir.name


def replace_run(run_dir: Path, new_dir: Path) -> Path | None:
    """Put the finished run ``new_dir`` in place of ``run_dir``.

    The old directory (if any) is first moved to ``<slug>/.replaced/<run_id>-<UTC time>/``, so at every
    moment a finished run exists on disk.

    Returns:
        Where the old run directory went, or None if there was none.
    """
    kept = None
    if run_dir.exists():
        kept = run_dir.parent / ".replaced" / f"{run_dir.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(run_dir, kept)
    os.replace(new_dir, run_dir)
    return kept


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file + ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (NaN written as ``NaN``)."""
    write_text_atomic(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot serialise {type(x).__name__} to JSON")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temporary file in the same folder + ``os.replace``).

    Args:
        path: destination, e.g. ``run_dir / "last.pt"``.
        state: tensors and plain values only (so ``torch.load(weights_only=True)`` reads it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointNotFoundError: the file is missing.
        CheckpointError: the file is unreadable (truncated, corrupt, not a checkpoint).
    """
    if not Path(path).is_file():
        raise CheckpointNotFoundError(f"{path}: no checkpoint there")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, pickle errors... for a damaged file
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise CheckpointError(f"{path}: cannot read the checkpoint (truncated or corrupt: {reason})") from exc


def write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write all epoch rows to ``metrics.csv`` (atomically, header :data:`METRIC_COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(METRIC_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in METRIC_COLUMNS})
    write_text_atomic(path, buf.getvalue())


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of ``metrics.csv`` as dicts of floats (``epoch`` as int)."""
    rows = []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                parsed = {k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
            except ValueError as exc:
                raise ValueError(f"{path} line {line}: expected numbers in every column: {exc}") from exc
            parsed["epoch"] = int(parsed["epoch"])
            rows.append(parsed)
    return rows


@dataclass
class RunResult:
    """What a finished run returns.

    Attributes:
        run_dir: the run directory.
        config: the resolved config.
        metrics: per-epoch rows (``pandas.DataFrame(result.metrics)``).
        eval: the final evaluation (``eval.json``): for LIP ``eval["lip_pckh"]``
            is the PCKh table (Head, Sho., ..., PCK, counts), ``eval["pck"]``
            the overall PCK; for MPII ``eval["mpii_pckh"]``; parsing mIoU under
            ``eval["parsing"]`` where the model parses.
        cached: True when the stored result was returned without training.
        freshness: ``"current"``, ``"stale"`` or ``"unknown"`` (:func:`run_freshness`).
    """

    run_dir: Path
    config: ExperimentConfig
    metrics: list[dict[str, Any]] = field(default_factory=list)
    eval: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    freshness: str = "unknown"

    @property
    def run_id(self) -> str:
        """The run directory's name (the config hash)."""
        return self.run_dir.name

    def metrics_frame(self):
        """Per-epoch metrics as a ``pandas.DataFrame``."""
        import pandas as pd

        return pd.DataFrame(self.metrics, columns=list(METRIC_COLUMNS))


def is_complete(run_dir: Path) -> bool:
    """A run is complete once its ``eval.json`` exists (written last)."""
    return (run_dir / "eval.json").is_file()


def load_result(run_dir: Path, cached: bool = True) -> RunResult:
    """Read a completed run directory back into a :class:`RunResult`."""
    if not is_complete(run_dir):
        raise FileNotFoundError(f"{run_dir} holds no finished run (no eval.json)")
    return RunResult(
        run_dir=run_dir,
        config=load_config(run_dir / "config.json"),
        metrics=read_metrics(run_dir / "metrics.csv"),
        eval=json.loads((run_dir / "eval.json").read_text()),
        cached=cached,
        freshness=run_freshness(run_dir),
    )
