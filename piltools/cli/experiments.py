"""``python -m piltools experiments [--scale S] [--show NAME]``: list the named experiments.

``python -m piltools experiments --stale [--out results/runs]`` lists instead the runs of a runs folder
that code other than today's trained (see :mod:`piltools.runs`), each with the command that retrains it.
"""
from __future__ import annotations

import argparse
import json

from piltools.config import load_config
from piltools.experiments import SCALE_NAMES, get_experiment, list_experiments
from piltools.runs import find_runs, run_freshness


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES, help="scale to resolve at")
    p.add_argument("--show", default=None, metavar="NAME", help="print one experiment's resolved config (JSON)")
    p.add_argument("--stale", action="store_true",
                   help="list the runs under --out trained by code other than today's (retrain with --retrain-stale)")
    p.add_argument("--out", default="results/runs", help="runs folder for --stale (relative to the project root)")


def list_stale(out: str) -> None:
    """Print each stale run under ``out`` (its directory, then how to retrain it) and a count by freshness."""
    counts = {"current": 0, "stale": 0, "unknown": 0}
    for run_dir in find_runs(out):
        freshness = run_freshness(run_dir)
        counts[freshness] += 1
        if freshness == "stale":
            command = load_config(run_dir / "config.json").command
            print(f"stale  {run_dir}  ({command} --retrain-stale)" if command else f"stale  {run_dir}")
    print(f"{counts['stale']} stale, {counts['current']} current, {counts['unknown']} unknown "
          "(made before code fingerprints were recorded) runs under " + out)


def run(args: argparse.Namespace) -> int:
    if args.stale:
        list_stale(args.out)
        return 0
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
