"""Run records: the small, committed trace of every run behind a committed table; rendering from them;
checking a fresh reproduction against them.

A run directory (:mod:`piltools.runs`) is git-ignored: its checkpoint is large and it lives on one
machine. When a run finishes, its small files are copied into a *record*,
``<records root>/<scale>/<experiment-slug>/<run_id>/``:

- ``config.json`` (the resolved config), ``code.json`` and ``version.txt`` (the code fingerprint and
  ``git describe``), ``machine.json`` (CPU model, instruction set, versions, threads as used, data
  fingerprint: :func:`piltools.runs.machine_info`), ``metrics.csv`` (per epoch), ``eval.json`` (the final
  evaluation, per-class parsing IoU included);
- ``predictions_val.csv`` when at most :data:`MAX_PREDICTIONS_BYTES`;
- ``record.json``: experiment, scale, seed, run id, the files kept, and the per-class parsing IoU by class
  name (``eval.json`` lists it in the class-id order of the dataset's parsing labels).

The records root (:func:`records_root`) is the committed ``results/records`` for the :data:`RECORDED_SCALES`
(``cpu``, ``paper``); ``smoke`` runs (CI) write no record unless ``PILTOOLS_RECORDS_DIR`` names a folder.
A record is written when a run finishes training and no record of it exists, or when the run replaced an
older one on request (``--restart``, ``--retrain-stale``); a cached run without a record gets one when it is
next loaded. A fresh reproduction never overwrites a record, so :func:`verify_runs` can compare the two.

Records are not a cache for training: with ``PILTOOLS_RECORDS=only`` (:func:`records_only`) the runner
returns the recorded result of each run and trains nothing (a missing record is a one-line
:class:`RecordNotFoundError`), which renders every notebook in minutes; otherwise it trains as usual.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from piltools.config import ExperimentConfig, load_config
from piltools.datasets.specs import get_spec
from piltools.errors import InputError
from piltools.reports import summary_row
from piltools.runs import (
    CODE_FILE,
    MACHINE_FILE,
    RunResult,
    experiment_slug,
    find_runs,
    is_complete,
    load_result,
    resolve_path,
    warn_if_stale,
    write_json,
)

#: Scales whose records go to the committed folder; other scales (``smoke``: CI) are recorded only where
#: ``PILTOOLS_RECORDS_DIR`` says.
RECORDED_SCALES: tuple[str, ...] = ("cpu", "paper")
#: The committed records folder (relative to the project root).
COMMITTED_ROOT = "results/records"
#: Environment variable naming another records root (any scale), e.g. a temporary folder in tests.
ROOT_ENV = "PILTOOLS_RECORDS_DIR"
#: Environment variable of the records mode: unset / empty / ``off`` (train as usual) or ``only``.
MODE_ENV = "PILTOOLS_RECORDS"
MODES: tuple[str, ...] = ("", "off", "only")
#: The run files every record keeps (all small: about 10 KB together).
RECORD_FILES: tuple[str, ...] = ("config.json", CODE_FILE, "version.txt", MACHINE_FILE, "metrics.csv", "eval.json")
PREDICTIONS_FILE = "predictions_val.csv"
#: A prediction CSV is kept up to this size. A LIP row takes about 270 bytes (8 rows: 2,153 bytes at smoke
#: scale), so the ``cpu`` LIP val split (200 images) gives about 54 KB.
MAX_PREDICTIONS_BYTES = 100_000
#: All records of the collection together stay under this (66 runs at about 64 KB each make about 4.2 MB).
RECORDS_BUDGET_BYTES = 20_000_000
RECORD_FILE = "record.json"

# ------------------------------------------------------------------ the tolerance of a reproduction
#: Machine-record keys that decide bit-identical CPU numbers: the CPU kind and the instruction set torch
#: dispatches to (different SIMD widths sum in another order), the torch version (its kernels), the
#: threads the run used (intra-op reductions split by thread) and the training data's bytes.
SAME_MACHINE_KEYS: tuple[str, ...] = ("cpu_model", "cpu_capability", "torch", "torch_threads", "dataset_sha256")
#: Tolerance when every :data:`SAME_MACHINE_KEYS` value matches: none. The data order, augmentation and
#: initialisation are pure functions of the seed, so the same machine gives the same bits.
SAME_MACHINE_TOLERANCE = 0.0
#: Tolerance in PCK points (or mIoU / mAP points) on another machine. A different summation order changes
#: the weights in the last bits and the training trajectory drifts from there, so a run on another machine
#: behaves like another draw from the seed distribution: the difference of two draws has standard deviation
#: sqrt(2) x sigma, and we allow three of those, with sigma = 0.4 PCK, the seed spread of the Table 1 VGG16
#: row (cpu scale). 3 x sqrt(2) x 0.4 = 1.70. The one measurement we have (the same VGG16 runs on another
#: machine of the same kind: 63.93 and 63.13 against the recorded 62.48 and 62.84) differs by 1.45 and 0.29.
CROSS_MACHINE_TOLERANCE = round(3 * math.sqrt(2) * 0.4, 2)
#: The summary metrics compared (columns of :func:`piltools.reports.summary_row`, where a run has them).
VERIFIED_METRICS: tuple[str, ...] = ("PCK", "parsing_mIoU", "mAP")


class RecordNotFoundError(InputError, FileNotFoundError):
    """A run has no record (``PILTOOLS_RECORDS=only`` cannot render it without training)."""


def records_mode() -> str:
    """The records mode from ``PILTOOLS_RECORDS``: ``""`` (train as usual) or ``"only"``.

    Raises:
        InputError: any other value.
    """
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode not in MODES:
        raise InputError(f"{MODE_ENV}={os.environ[MODE_ENV]!r}: expected 'only' (render from the committed records) "
                         f"or nothing / 'off' (train)")
    return "" if mode == "off" else mode


def records_only() -> bool:
    """True when ``PILTOOLS_RECORDS=only``: runs come from their records, nothing trains."""
    return records_mode() == "only"


def records_root(scale: str) -> Path | None:
    """Where the records of a scale live: ``PILTOOLS_RECORDS_DIR`` if set, else :data:`COMMITTED_ROOT` for
    the :data:`RECORDED_SCALES`, else None (no records at that scale)."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return resolve_path(env)
    return resolve_path(COMMITTED_ROOT) if scale in RECORDED_SCALES else None


def record_dir_for(cfg: ExperimentConfig, run_id: str) -> Path | None:
    """``<records root>/<scale>/<slug>/<run_id>`` of a run, or None where its scale keeps no records."""
    root = records_root(cfg.scale)
    return None if root is None else root / cfg.scale / experiment_slug(cfg.name) / run_id


def parsing_iou_by_class(cfg: ExperimentConfig, ev: dict[str, Any]) -> dict[str, float] | None:
    """The per-class parsing IoU of an evaluation keyed by class name, or None when the model does not parse.

    Raises:
        ValueError: ``eval["parsing"]["IoU"]`` has another length than the dataset's parsing labels.
    """
    iou = (ev.get("parsing") or {}).get("IoU")
    if iou is None:
        return None
    names = get_spec(cfg.data.kind).parsing_labels
    if len(iou) != len(names):
        raise ValueError(f"{cfg.name}: {len(iou)} parsing IoU values for {len(names)} {cfg.data.kind} labels")
    return dict(zip(names, iou))


def write_record(run_dir: Path, replace: bool = False) -> Path | None:
    """Copy the small files of the finished run ``run_dir`` into its record (written atomically).

    Args:
        run_dir: a complete run directory.
        replace: overwrite an existing record (the run replaced an older one on request); otherwise an
            existing record is kept as it is.

    Returns:
        The record folder, or None where the run's scale keeps no records.
    """
    cfg = load_config(run_dir / "config.json")
    record = record_dir_for(cfg, run_dir.name)
    if record is None or (is_complete(record) and not replace):
        return record
    files = [name for name in RECORD_FILES if (run_dir / name).is_file()]
    predictions = run_dir / PREDICTIONS_FILE
    if predictions.is_file() and predictions.stat().st_size <= MAX_PREDICTIONS_BYTES:
        files.append(PREDICTIONS_FILE)
    ev = json.loads((run_dir / "eval.json").read_text())
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=record.parent, prefix=f".{record.name}.tmp-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; a record is for every reader
    try:
        for name in files:
            shutil.copyfile(run_dir / name, tmp / name)
        write_json(tmp / RECORD_FILE, {"experiment": cfg.name, "scale": cfg.scale, "seed": cfg.seed,
                                       "run_id": run_dir.name, "files": files,
                                       "parsing_IoU": parsing_iou_by_class(cfg, ev)})
        if record.exists():
            shutil.rmtree(record)
        os.replace(tmp, record)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return record


def export_records(runs_out: str | Path = "results/runs", scale: str = "cpu", replace: bool = False) -> list[Path]:
    """Write the record of every complete run of ``scale`` under a runs folder (e.g. runs trained before
    records existed). Returns the records written or kept."""
    return [rec for run in find_runs(runs_out)
            if run.parents[1].name == scale and is_complete(run) and (rec := write_record(run, replace)) is not None]


def load_record(cfg: ExperimentConfig, run_id: str) -> RunResult:
    """The recorded result of the run ``run_id`` of ``cfg`` (``cached=True``; its ``run_dir`` is the record),
    with a :class:`~piltools.runs.StaleRunWarning` when other code trained it.

    Raises:
        RecordNotFoundError: no record of that run (the message names the run and how to make one).
    """
    record = record_dir_for(cfg, run_id)
    if record is None:
        raise RecordNotFoundError(
            f"{cfg.name} ({cfg.scale}, seed {cfg.seed}): {cfg.scale}-scale runs keep no records (only "
            f"{', '.join(RECORDED_SCALES)}); set {ROOT_ENV} to a records folder or unset {MODE_ENV} to train")
    if not is_complete(record):
        train = f"`{cfg.command}`" if cfg.command else "run_config(cfg)"
        raise RecordNotFoundError(
            f"{cfg.name} ({cfg.scale}, seed {cfg.seed}): no record of run {run_id} in {record.parent}; "
            f"{MODE_ENV}=only renders from records and trains nothing: unset it and train with {train}")
    warn_if_stale(record, cfg)
    return load_result(record)


def find_records(scale: str) -> list[Path]:
    """The complete records of a scale, sorted (empty where the scale keeps none)."""
    root = records_root(scale)
    return [] if root is None else sorted(p.parent for p in (root / scale).glob(f"*/*/{RECORD_FILE}")
                                           if not p.parent.name.startswith("."))


def records_size(root: str | Path = COMMITTED_ROOT) -> int:
    """Bytes of all files under a records folder (compare with :data:`RECORDS_BUDGET_BYTES`)."""
    root = resolve_path(root)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


# ------------------------------------------------------------------ verification of a reproduction
@dataclass(frozen=True)
class Check:
    """One (experiment, seed, metric) of a fresh run against its record.

    Attributes:
        tolerance: :data:`SAME_MACHINE_TOLERANCE` when the machine records agree on
            :data:`SAME_MACHINE_KEYS`, else :data:`CROSS_MACHINE_TOLERANCE`.
        same_machine: whether they agree.
    """

    experiment: str
    seed: int
    metric: str
    recorded: float
    fresh: float
    tolerance: float
    same_machine: bool
    run_id: str

    @property
    def difference(self) -> float:
        """fresh - recorded (0 when both are NaN)."""
        if math.isnan(self.recorded) and math.isnan(self.fresh):
            return 0.0
        return self.fresh - self.recorded

    @property
    def ok(self) -> bool:
        """|difference| within the tolerance (NaN against a number fails)."""
        return abs(self.difference) <= self.tolerance


def _machine(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MACHINE_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two ``machine.json`` dicts agree on every :data:`SAME_MACHINE_KEYS` value (all present)."""
    return all(a.get(k) is not None and a.get(k) == b.get(k) for k in SAME_MACHINE_KEYS)


def compare_run(fresh: RunResult, recorded: RunResult) -> list[Check]:
    """The :data:`VERIFIED_METRICS` checks of one fresh run against its record."""
    same = same_machine(_machine(fresh.run_dir), _machine(recorded.run_dir))
    tolerance = SAME_MACHINE_TOLERANCE if same else CROSS_MACHINE_TOLERANCE
    row_f, row_r = summary_row(fresh), summary_row(recorded)
    nan = float("nan")  # a metric only one side has fails its check
    return [Check(experiment=fresh.config.name, seed=fresh.config.seed, metric=m,
                  recorded=float(row_r.get(m, nan)), fresh=float(row_f.get(m, nan)), tolerance=tolerance,
                  same_machine=same, run_id=fresh.run_id)
            for m in VERIFIED_METRICS if m in row_f or m in row_r]


def verify_results(fresh: Iterable[RunResult]) -> list[Check]:
    """Checks of every fresh result that has a record (results without one are skipped)."""
    checks = []
    for result in fresh:
        record = record_dir_for(result.config, result.run_id)
        if record is not None and is_complete(record):
            checks += compare_run(result, load_result(record))
    return checks


def verify_runs(scale: str, runs_out: str | Path = "results/runs") -> list[Check]:
    """Checks of every complete run of ``scale`` under ``runs_out`` that has a record (what ``make reproduce``
    prints at the end, see :func:`print_verification`)."""
    runs = [run for run in find_runs(runs_out) if run.parents[1].name == scale and is_complete(run)]
    return verify_results(load_result(run) for run in runs)


def format_verification(checks: list[Check]) -> str:
    """The verification table: one row per (experiment, seed, metric) with recorded, fresh, difference,
    tolerance and ok, then a one-line verdict."""
    if not checks:
        return "verification: no fresh run has a record to compare with"
    header = f"{'experiment':<28} {'seed':>4} {'metric':<13} {'recorded':>9} {'fresh':>9} {'diff':>8} {'tol':>5}  ok"
    lines = [header, "-" * len(header)]
    for c in checks:
        lines.append(f"{c.experiment:<28} {c.seed:>4} {c.metric:<13} {c.recorded:>9.2f} {c.fresh:>9.2f} "
                     f"{c.difference:>+8.2f} {c.tolerance:>5.2f}  {'ok' if c.ok else 'FAIL'}")
    bad = sum(not c.ok for c in checks)
    machines = "same machine (exact)" if all(c.same_machine for c in checks) else \
        f"other machine for some runs (tolerance {CROSS_MACHINE_TOLERANCE} points)"
    verdict = f"{bad} of {len(checks)} beyond tolerance" if bad else f"all {len(checks)} within tolerance"
    lines.append(f"verification: {verdict}; {machines}; tolerances in piltools/records.py")
    return "\n".join(lines)


def print_verification(checks: list[Check], file: TextIO | None = None) -> int:
    """Print :func:`format_verification` and return the exit status: 1 if any check is beyond tolerance."""
    print(format_verification(checks), file=file or sys.stdout, flush=True)
    return 1 if any(not c.ok for c in checks) else 0
