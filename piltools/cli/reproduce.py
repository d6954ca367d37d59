"""``python -m piltools reproduce --scale cpu``: train the notebooks' runs, then execute the numbered notebooks.

First the plan (:mod:`piltools.planning`, as ``python -m piltools plan``
prints it): the runs the selected notebooks need, which are done, and the
estimated time of the rest. Then every unfinished run trains, ``--jobs`` at a
time, under one progress bar over all runs with an ETA. Then the notebooks
execute in order and find their runs cached. ``--plan-only`` stops after the plan.

Each notebook reads its scale from the ``PILTOOLS_SCALE`` environment variable
(first code cell), so the same notebooks run at ``smoke``, ``cpu`` or ``paper``
scale. Executed copies go to ``results/executed/<scale>/``; the committed
notebooks are only overwritten with ``--update-notebooks`` (how the maintainers
store the ``cpu``-scale outputs that readers see on GitHub). Training runs are
cached in ``results/runs``, so a second call is fast.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from piltools.cli.plan import notebook_titles
from piltools.cli.train import stale_runs_reported
from piltools.collection import NOTEBOOKS, numbered_notebooks
from piltools.planning import default_jobs, make_plan, train_plan
from piltools.experiments import SCALE_NAMES
from piltools.records import print_verification, records_only, verify_runs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=SCALE_NAMES)
    p.add_argument("--notebooks", default="notebooks", help="folder of numbered notebooks")
    p.add_argument("--only", nargs="*", default=None, help="notebook name prefixes to run (e.g. 01)")
    p.add_argument("--out", default="results/executed", help="where executed copies are written")
    p.add_argument("--update-notebooks", action="store_true",
                   help="also write the executed outputs back into the committed notebooks")
    p.add_argument("--timeout", type=int, default=-1, help="per-cell timeout in seconds (-1: none)")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs trained at once (default: one per core at the smoke and cpu scales, whose runs "
                        "use one thread; else 1)")
    p.add_argument("--plan-only", action="store_true", help="print the plan and stop (train and execute nothing)")


def train_needed_runs(paths: list[Path], scale: str, jobs: int, plan_only: bool) -> None:
    """Print the plan of the notebooks ``paths`` and, unless ``plan_only``, train its unfinished runs."""
    registered = [p.name for p in paths if any(p.name.startswith(prefix) for prefix in NOTEBOOKS)]
    for path in paths:
        if path.name not in registered:
            print(f"[reproduce] {path.name}: no runs registered in piltools.collection.NOTEBOOKS; "
                  "its runs train when it executes", flush=True)
    if not registered:
        return
    plan = make_plan(registered, scale, jobs)
    print("\n".join(plan.lines(notebook_titles(str(paths[0].parent)))), flush=True)
    if plan_only or not plan.to_train():
        return
    t0 = time.time()
    with stale_runs_reported("reproduce"):
        train_plan(plan)
    print(f"[reproduce] {len(plan.to_train())} runs trained in {time.time() - t0:.0f} s "
          f"(estimated ~{plan.wall_seconds() / 60:.1f} min)", flush=True)


def _needs_checkpoints(name: str) -> bool:
    """Whether a notebook runs trained models (so records, which hold numbers only, cannot render it)."""
    return any(name.startswith(prefix) and entry.needs_checkpoints for prefix, entry in NOTEBOOKS.items())


def run(args: argparse.Namespace) -> int:
    import nbformat
    from nbclient import NotebookClient

    nb_dir = Path(args.notebooks)
    paths = numbered_notebooks(nb_dir, args.only)
    if not paths:
        print(f"no numbered notebooks found in {nb_dir.resolve()}", file=sys.stderr)
        return 2
    jobs = default_jobs(args.scale) if args.jobs is None else args.jobs
    if records_only():  # rendering from the committed records: nothing to plan or train
        print("[reproduce] PILTOOLS_RECORDS=only: the notebooks read the committed run records; nothing trains",
              flush=True)
        for path in [p for p in paths if _needs_checkpoints(p.name)]:
            print(f"[reproduce] {path.name}: skipped, it runs the trained models themselves (records hold only "
                  f"their numbers); `python -m piltools reproduce --only {path.name[:2]}` trains and runs it",
                  flush=True)
        paths = [p for p in paths if not _needs_checkpoints(p.name)]
    else:
        train_needed_runs(paths, args.scale, jobs, args.plan_only)
    if args.plan_only:
        return 0
    out_dir = Path(args.out) / args.scale
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PILTOOLS_SCALE"] = args.scale
    failed = []
    for path in paths:
        t0 = time.time()
        print(f"[reproduce] {path.name} at scale={args.scale} ...", flush=True)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=None if args.timeout < 0 else args.timeout,
                                kernel_name="python3", resources={"metadata": {"path": str(nb_dir)}})
        try:
            client.execute()
        except Exception as exc:  # report which notebook failed, keep the partial copy
            failed.append(path.name)
            print(f"[reproduce] {path.name} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        executed = out_dir / path.name
        nbformat.write(nb, executed)
        if args.update_notebooks and path.name not in failed:
            nbformat.write(nb, path)
        print(f"[reproduce] {path.name} done in {time.time() - t0:.0f} s -> {executed}", flush=True)
    if failed:
        print(f"[reproduce] failed notebooks: {', '.join(failed)}", file=sys.stderr)
        return 1
    if records_only():  # rendered from records: nothing fresh to compare them with
        return 0
    return print_verification(verify_runs(args.scale))  # recorded vs fresh per (experiment, seed, metric)
