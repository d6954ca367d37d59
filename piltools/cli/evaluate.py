"""``python -m piltools evaluate EXPERIMENT --scale S [--seed K]``: re-evaluate a trained run.

Loads the run's checkpoint (checked to be readable and to belong to the run),
predicts the validation split with the config's evaluation protocol (scales,
flip), rewrites ``eval.json`` (and for LIP the prediction CSV) and prints the
table. A run trained by code other than today's gets a warning line.
"""
from __future__ import annotations

import argparse
import json

from piltools.cli.train import seed_argument, stale_runs_reported
from piltools.experiments import SCALE_NAMES, get_experiment
from piltools.training import evaluate_run


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="named experiment")
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--seed", type=seed_argument, default=0, help="training seed (a non-negative integer)")
    p.add_argument("--out", default="results/runs", help="runs folder (relative to the project root)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"], help="default: CUDA when available")


def run(args: argparse.Namespace) -> int:
    cfg = get_experiment(args.experiment, args.scale, args.seed)
    with stale_runs_reported("evaluate"):
        result = evaluate_run(cfg, out=args.out, quiet=True, device=args.device)
    table = result.get("lip_pckh") or result.get("mpii_pckh") or {}
    shown = {k: v for k, v in table.items() if isinstance(v, float)}
    print(json.dumps({"experiment": cfg.name, "scale": cfg.scale, "seed": cfg.seed, "pck": result["pck"],
                      "table": shown, "parsing_mIoU": result.get("parsing", {}).get("mIoU")}, indent=2))
    return 0
