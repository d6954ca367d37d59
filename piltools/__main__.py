"""Command line: ``python -m piltools COMMAND ...`` (also installed as ``piltools``).

Each command lives in its own module under ``piltools/cli/`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only
when their command runs, so ``--help`` stays fast and needs no dataset.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from piltools.errors import InputError

# command name -> (module under piltools.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "write a synthetic LIP / MPII / PASCAL dataset in the real formats"),
    "evaluate-lip": ("evaluate_lip", "score a LIP-format prediction CSV against a ground-truth CSV"),
    "params": ("params", "parameter counts of registered models at a given width"),
    "bench": ("bench", "benchmarks: 'model' (adaptive conv, PIL overhead) or 'data' (loader throughput)"),
    "experiments": ("experiments", "list the named experiments (one per table row / curve)"),
    "train": ("train", "train a named experiment at a scale (cached, resumable)"),
    "evaluate": ("evaluate", "evaluate a trained named experiment"),
    "plan": ("plan", "the runs the notebooks need, which are done, and the estimated time of the rest"),
    "reproduce": ("reproduce", "execute the numbered notebooks at a scale"),
    "predict": ("predict", "a trained model on your own images: overlays, joints as JSON, a LIP CSV"),
    "inspect": ("inspect", "serve the PIL inspector (notebook 06) as an app with Voila on 127.0.0.1"),
    "calibrate": ("calibrate", "train the pose-only baseline on each synthetic difficulty level (results/calibration.csv)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="piltools", description="piltools command line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    modules = {}
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            mod = importlib.import_module(f"piltools.cli.{module}")
            mod.add_arguments(p)
            modules[name] = mod
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except InputError as exc:  # the user's input is wrong: one line naming it, no traceback
        print(f"piltools {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
