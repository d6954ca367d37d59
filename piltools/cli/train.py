"""``python -m piltools train EXPERIMENT --scale S [--seed K] [--out results/runs]``.

Cached and resumable: a finished run is returned at once, an interrupted one
resumes from its last checkpoint. Under ``torchrun --nproc_per_node=N`` it
trains with DistributedDataParallel.
"""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", nargs="?", default=None,
                   help="named experiment (python -m piltools experiments lists them)")
    p.add_argument("--config", default=None, help="train a saved config file (JSON/YAML) instead of a name")
    p.add_argument("--scale", default="cpu", choices=["smoke", "cpu", "paper"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/runs", help="runs folder (relative to the project root)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"], help="default: CUDA when available")
    p.add_argument("--quiet", action="store_true", help="no progress bars (also PILTOOLS_QUIET=1)")


def run(args: argparse.Namespace) -> int:
    from piltools.config import load_config
    from piltools.experiments import get_experiment
    from piltools.training import run_config
    from piltools.training.distributed import init_from_env, shutdown

    if (args.experiment is None) == (args.config is None):
        raise SystemExit("train: give either an EXPERIMENT name or --config FILE")
    cfg = load_config(args.config) if args.config else get_experiment(args.experiment, args.scale, args.seed)
    ctx = init_from_env(args.device)
    try:
        result = run_config(cfg, out=args.out, quiet=True if args.quiet else None, device=args.device)
    finally:
        shutdown(ctx)
    if ctx.is_main:
        print(json.dumps({"run_dir": str(result.run_dir), "cached": result.cached,
                          "pck": result.eval.get("pck"), "epochs": len(result.metrics)}))
    return 0
