"""``python -m piltools plan [NOTEBOOK...] --scale S [--jobs N]``: the runs the notebooks need and how long they take.

Lists each distinct run the notebooks need once (with the notebooks that share
it), which are done (and stale), and the estimated time of the rest on this
machine, per notebook and in total, one after the other and with ``--jobs``
runs at a time (see :mod:`piltools.planning`). Without NOTEBOOK arguments:
the numbered notebooks of ``--notebooks`` that the registry knows, as
``python -m piltools reproduce`` would train them.
"""
from __future__ import annotations

import argparse

from piltools.collection import NOTEBOOKS, notebook_prefix, numbered_notebooks
from piltools.planning import default_jobs, make_plan
from piltools.errors import InputError
from piltools.experiments import SCALE_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebooks_given", nargs="*", metavar="NOTEBOOK",
                   help=f"notebook prefixes or file names ({', '.join(NOTEBOOKS)}); default: the numbered notebooks "
                        "of --notebooks")
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at a time for the wall-time estimate (default: one per core at the smoke and cpu "
                        "scales, whose runs use one thread; else 1)")
    p.add_argument("--notebooks", default="notebooks", help="folder of numbered notebooks")
    p.add_argument("--out", default="results/runs", help="runs folder (relative to the project root)")


def notebook_titles(folder: str) -> dict[str, str]:
    """Registered prefix -> the notebook file name found in ``folder`` (for display)."""
    titles = {}
    for path in numbered_notebooks(folder):
        if any(path.name.startswith(p) for p in NOTEBOOKS):
            titles[notebook_prefix(path.name)] = path.name
    return titles


def run(args: argparse.Namespace) -> int:
    titles = notebook_titles(args.notebooks)
    chosen = args.notebooks_given or list(titles)
    if not chosen:
        raise InputError(f"--notebooks {args.notebooks}: no registered numbered notebook there; name notebooks "
                         f"by prefix instead (one of {', '.join(NOTEBOOKS)})")
    jobs = default_jobs(args.scale) if args.jobs is None else args.jobs
    plan = make_plan(chosen, args.scale, jobs, out=args.out)
    print("\n".join(plan.lines(titles)))
    return 0
