"""``python -m piltools experiments [--scale S] [--show NAME]``: list the named experiments."""
from __future__ import annotations

import argparse
import json

from piltools.experiments import SCALE_NAMES, get_experiment, list_experiments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES, help="scale to resolve at")
    p.add_argument("--show", default=None, metavar="NAME", help="print one experiment's resolved config (JSON)")


def run(args: argparse.Namespace) -> int:
    if args.show is not None:
        print(json.dumps(get_experiment(args.show, args.scale).to_dict(), indent=2))
        return 0
    rows = [(n, get_experiment(n, args.scale)) for n in list_experiments()]
    w_name = max(len(n) for n, _ in rows)
    w_table = max(len(c.table) for _, c in rows)
    w_row = max(len(c.row) for _, c in rows)
    print(f"{'experiment':<{w_name}}  {'table':<{w_table}}  {'row':<{w_row}}  model  (scale={args.scale})")
    for name, cfg in rows:
        print(f"{name:<{w_name}}  {cfg.table:<{w_table}}  {cfg.row:<{w_row}}  {cfg.model.name}")
    return 0
