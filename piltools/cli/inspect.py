"""``python -m piltools inspect [--scale S | --baseline RUN --pil RUN] [--port P]``: the PIL inspector as an app.

Trains the pair if needed and computes the per-image cache (:mod:`piltools.inspection`), then serves
``notebooks/06_inspector.ipynb`` with Voila on 127.0.0.1 with a random token, prints the URL and
runs until interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse

from piltools.cli.train import seed_argument, stale_runs_reported
from piltools.experiments import SCALE_NAMES
from piltools.inspection.data import DEFAULT_PAIR, inspect_pair
from piltools.inspection.serve import start_voila


def port_argument(text: str) -> int:
    """argparse type of ``--port``: 1-65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1-65535, got {text!r}")
    return port


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--baseline", default=None, help=f"run directory or experiment name (default {DEFAULT_PAIR[0]})")
    p.add_argument("--pil", default=None, help=f"run directory or experiment name (default {DEFAULT_PAIR[1]})")
    p.add_argument("--seed", type=seed_argument, default=0, help="seed of runs given by name")
    p.add_argument("--port", type=port_argument, default=None, help="port on 127.0.0.1 (default: a free one)")


def run(args: argparse.Namespace) -> int:
    with stale_runs_reported("inspect"):
        pair = inspect_pair(scale=args.scale, baseline=args.baseline, pil=args.pil, seed=args.seed, quiet=False)
    # the kernel gets the resolved run directories, so that it opens exactly this pair
    server = start_voila(scale=args.scale, baseline=str(pair.baseline.run_dir), pil=str(pair.pil.run_dir),
                         port=args.port)
    server.wait_ready()
    print(f"PIL inspector ({pair.pil.label} vs {pair.baseline.label}): {server.url}", flush=True)
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
