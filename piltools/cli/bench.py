"""``python -m piltools bench [model|data]``: benchmarks that measure ratios in one run."""
from __future__ import annotations

import argparse

from piltools.benchmarks import data as data_bench
from piltools.benchmarks import model as model_bench


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", default="model", choices=["model", "data"],
                   help="model: adaptive conv and PIL overhead; data: loader throughput")
    p.add_argument("--out", default="results/bench.csv", help="CSV to append the measurements to")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a fast check")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (data bench)")


def run(args: argparse.Namespace) -> int:
    if args.what == "model":
        return model_bench.main(out=args.out, quick=args.quick)
    return data_bench.main(out=args.out, quick=args.quick, workers=args.workers)
