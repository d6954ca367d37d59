"""``python -m piltools evaluate EXPERIMENT --scale S [--seed K]``: re-evaluate a trained run.

Loads the run's checkpoint, predicts the validation split with the config's
evaluation protocol (scales, flip), rewrites ``eval.json`` (and for LIP the
prediction CSV) and prints the table.
"""
from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="named experiment")
    p.add_argument("--scale", default="cpu", choices=["smoke", "cpu", "paper"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/runs", help="runs folder (relative to the project root)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"], help="default: CUDA when available")


def run(args: argparse.Namespace) -> int:
    from piltools.experiments import get_experiment
    from piltools.training import evaluate_run

    cfg = get_experiment(args.experiment, args.scale, args.seed)
    result = evaluate_run(cfg, out=args.out, quiet=True, device=args.device)
    table = result.get("lip_pckh") or result.get("mpii_pckh") or {}
    shown = {k: v for k, v in table.items() if isinstance(v, float)}
    print(json.dumps({"experiment": cfg.name, "scale": cfg.scale, "seed": cfg.seed, "pck": result["pck"],
                      "table": shown, "parsing_mIoU": result.get("parsing", {}).get("mIoU")}, indent=2))
    return 0
