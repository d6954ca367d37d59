"""``python -m piltools bench [model|data|train]``: benchmarks that measure ratios in one run."""
from __future__ import annotations

import argparse

from piltools.benchmarks import data as data_bench
from piltools.benchmarks import model as model_bench
from piltools.benchmarks import train as train_bench


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", default="model", choices=["model", "data", "train"],
                   help="model: adaptive conv and PIL overhead; data: loader throughput; "
                        "train: one training step of every model of a scale")
    p.add_argument("--out", default="results/bench.csv", help="CSV to append the measurements to")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a fast check")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (data bench)")
    p.add_argument("--scale", default="cpu", choices=["smoke", "cpu", "paper"],
                   help="train bench: the experiments' scale (models, batch, input size, threads)")
    p.add_argument("--models", nargs="+", default=None, metavar="NAME",
                   help="train bench: only these models (paper names or slugs); default all of the scale")
    p.add_argument("--steps", type=int, default=5, help="train bench: timed steps per model")
    p.add_argument("--variant", default="today", choices=list(train_bench.VARIANTS),
                   help="train bench: the step as the training loop runs it today, or tuned")
    p.add_argument("--threads", type=int, default=None,
                   help="train bench: torch threads (default: the config's cpu_threads)")
    p.add_argument("--compare", action="store_true",
                   help="train bench: also time today vs tuned in fresh processes and add a speedup row")


def run(args: argparse.Namespace) -> int:
    if args.what == "model":
        return model_bench.main(out=args.out, quick=args.quick)
    if args.what == "train":
        return train_bench.main(scale=args.scale, models=args.models, steps=args.steps, variant=args.variant,
                                threads=args.threads, compare=args.compare, out=args.out, quick=args.quick)
    return data_bench.main(out=args.out, quick=args.quick, workers=args.workers)
