"""``python -m piltools train EXPERIMENT --scale S [--seed K] [--out results/runs] [--retrain-stale] [--restart]``.

Cached and resumable: a finished run is returned at once, an interrupted one
resumes from its last checkpoint. A finished run trained by other code is
reported as stale (a warning line) and retrained only with ``--retrain-stale``
(see :mod:`piltools.runs`); ``--restart`` trains the run from scratch (e.g. after
a corrupt checkpoint). Under ``torchrun --nproc_per_node=N`` it trains with
DistributedDataParallel.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from typing import Iterator

from piltools.config import load_config
from piltools.experiments import SCALE_NAMES, get_experiment
from piltools.runs import StaleRunWarning
from piltools.training import run_config
from piltools.training.distributed import init_from_env, shutdown


def seed_argument(text: str) -> int:
    """argparse type of ``--seed``: a non-negative integer."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer seed (0, 1, 2, ...), got {text!r}")
    return seed


@contextlib.contextmanager
def stale_runs_reported(command: str) -> Iterator[None]:
    """Inside the block, each :class:`~piltools.runs.StaleRunWarning` is printed as one line
    ``piltools COMMAND: warning: ...`` on stderr; other warnings show as usual."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001 (warnings' signature)
        if issubclass(category, StaleRunWarning):
            print(f"piltools {command}: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", StaleRunWarning)
        warnings.showwarning = show
        yield


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", nargs="?", default=None,
                   help="named experiment (python -m piltools experiments lists them)")
    p.add_argument("--config", default=None, help="train a saved config file (JSON/YAML) instead of a name")
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--seed", type=seed_argument, default=0, help="training seed (a non-negative integer)")
    p.add_argument("--out", default="results/runs", help="runs folder (relative to the project root)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"], help="default: CUDA when available")
    p.add_argument("--quiet", action="store_true", help="no progress bars (also PILTOOLS_QUIET=1)")
    p.add_argument("--retrain-stale", action="store_true",
                   help="retrain the run (and its transfer source) if code other than today's trained it; "
                        "the old run is kept under <experiment>/.replaced/")
    p.add_argument("--restart", action="store_true",
                   help="train the run from scratch whatever its state (e.g. its checkpoint is corrupt); "
                        "the old run directory is replaced once the new run has finished")


def run(args: argparse.Namespace) -> int:
    if (args.experiment is None) == (args.config is None):
        raise SystemExit("train: give either an EXPERIMENT name or --config FILE")
    cfg = load_config(args.config) if args.config else get_experiment(args.experiment, args.scale, args.seed)
    ctx = init_from_env(args.device)
    try:
        with stale_runs_reported("train"):
            result = run_config(cfg, out=args.out, quiet=True if args.quiet else None, device=args.device,
                                retrain_stale=args.retrain_stale, restart=args.restart)
    finally:
        shutdown(ctx)
    if ctx.is_main:
        print(json.dumps({"run_dir": str(result.run_dir), "cached": result.cached, "code": result.freshness,
                          "pck": result.eval.get("pck"), "epochs": len(result.metrics)}))
    return 0
