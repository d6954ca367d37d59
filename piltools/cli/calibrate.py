"""``python -m piltools calibrate [--scale cpu] [--levels ...] [--seeds 0] [--jobs N] [--append]``: train the pose-only
baseline on each synthetic difficulty level and write ``results/calibration.csv`` and
``results/figures/calibration.png``. ``--experiment NAME`` calibrates another pose-only baseline (Table 5's
multi-person ``table5/baseline``: mAP instead of PCK) and writes ``results/calibration_<slug>.csv`` / ``.png``;
``--epochs E [E ...]`` tries training budgets as well as levels, ``--offset-designs D [D ...]`` a multi-person
baseline's centroid-offset head designs.

``python -m piltools calibrate --parsing [--networks ...] [--seeds 0 1 2] [--scale cpu] [--append]``: train the
parsing networks alone (cross-entropy only) and write ``results/calibration_parsing.csv`` and
``results/figures/calibration_parsing.png`` with the verdicts printed (see :mod:`piltools.training.calibration`)."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from piltools.errors import InputError
from piltools.experiments import SCALE_NAMES, get_experiment
from piltools.inspection.people import predict_val_people
from piltools.models.pil import OFFSET_DESIGNS
from piltools.synthetic.config import DIFFICULTY, PERSON_SIZE_LEVELS
from piltools.reports import PCK_COLUMNS
from piltools.runs import experiment_slug, resolve_path
from piltools.training.calibration import (
    BASELINE,
    PARSING_NETWORKS,
    calibration_frame,
    calibration_metric,
    parsing_calibration_frame,
    parsing_experiment,
    parsing_verdicts,
    plot_calibration,
    plot_parsing_calibration,
    run_calibration,
    run_parsing_calibration,
)


#: The levels a pose-only calibration trains when ``--levels`` is not given: all but the person-size variants.
BASE_LEVELS: list[str] = [level for level in DIFFICULTY if level not in PERSON_SIZE_LEVELS]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default="cpu", choices=[s for s in SCALE_NAMES if s != "paper"],
                   help="synthetic-data scale to calibrate (the paper scale trains on real data)")
    p.add_argument("--levels", nargs="+", default=None,
                   help=f"difficulty levels (default, hardest first: {' '.join(BASE_LEVELS)}; "
                        f"the person-size variants of 'default': {' '.join(PERSON_SIZE_LEVELS)})")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds per level")
    p.add_argument("--experiment", default=BASELINE,
                   help="the pose-only baseline experiment (another than the default writes "
                        "results/calibration_<experiment slug>.csv and .png)")
    p.add_argument("--epochs", nargs="+", type=int, default=None,
                   help="training budgets to try, in epochs (default: the scale's own); each keeps the scale's "
                        "schedule shape (milestones at the same fraction of the run)")
    p.add_argument("--offset-designs", nargs="+", default=None, choices=OFFSET_DESIGNS,
                   help="multi-person baseline only: centroid-offset head designs to try (default: the experiment's "
                        "own)")
    p.add_argument("--parsing", action="store_true",
                   help="calibrate the parsing side instead: train the parsing networks alone (cross-entropy only)")
    p.add_argument("--networks", nargs="+", default=None,
                   help=f"with --parsing: the parsing networks (default: all, {' '.join(PARSING_NETWORKS)})")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once (one process each)")
    p.add_argument("--runs", default="results/runs", help="runs folder")
    p.add_argument("--csv", default=None, help="output table (default results/calibration.csv, with --parsing "
                                               "results/calibration_parsing.csv; _<scale> added for other scales)")
    p.add_argument("--figure", default=None, help="output figure (default results/figures/calibration[_parsing]"
                                                  "[_<scale>].png)")
    p.add_argument("--append", action="store_true",
                   help="keep the rows of an existing table (a re-run (level or network, seed) replaces its row)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def outputs(args: argparse.Namespace, stem: str) -> tuple[Path, Path]:
    """The table and figure a calibration writes: ``--csv`` / ``--figure``, else ``results/<stem>[_<slug>][_<scale>]``
    (``_<slug>``: the experiment's slug, for a pose-only calibration of another baseline than the default)."""
    suffix = "" if args.scale == "cpu" else f"_{args.scale}"
    if not args.parsing and args.experiment != BASELINE:
        suffix = f"_{experiment_slug(args.experiment)}{suffix}"
    return (resolve_path(args.csv or f"results/{stem}{suffix}.csv"),
            resolve_path(args.figure or f"results/figures/{stem}{suffix}.png"))


def merged(frame: pd.DataFrame, csv: Path, key: str, order: Sequence[str], what: str,
           also: Sequence[str] = ()) -> pd.DataFrame:
    """``frame`` with the rows of the existing table ``csv`` whose (``key``, ``also``..., seed) it does not re-run
    (``--append``), sorted by ``key`` in ``order``, then ``also``, then seed.

    Raises:
        InputError: ``csv`` is not a table of that kind (no ``key`` / ``also`` / ``seed`` column).
    """
    old = pd.read_csv(csv)
    columns = [key, *also, "seed"]
    missing = set(columns) - set(old.columns)
    if missing:
        raise InputError(f"--append: {csv} has no column(s) {sorted(missing)}; not a {what} table (write to another "
                         "--csv or drop --append)")
    keep = ~old.set_index(columns).index.isin(frame.set_index(columns).index)
    frame = pd.concat([old[keep], frame], ignore_index=True)
    rank = {name: i for i, name in enumerate(order)}
    return frame.sort_values(columns, key=lambda c: c.map(rank) if c.name == key else c, kind="stable",
                             ignore_index=True)


def write(frame: pd.DataFrame, csv: Path, figure: Path, rounded: Sequence[str], plot) -> None:
    """The table (``rounded`` columns to 2 decimals) and its figure."""
    csv.parent.mkdir(parents=True, exist_ok=True)
    frame.round({c: 2 for c in rounded}).to_csv(csv, index=False)
    figure.parent.mkdir(parents=True, exist_ok=True)
    plot(frame).savefig(figure, dpi=120)


def run(args: argparse.Namespace) -> int:
    if args.parsing:
        return run_parsing(args)
    if args.networks is not None:
        raise InputError("--networks chooses parsing networks: add --parsing (or drop --networks)")
    levels = args.levels or BASE_LEVELS
    unknown = [level for level in levels if level not in DIFFICULTY]
    if unknown:
        raise InputError(f"unknown difficulty level(s) {unknown}; expected some of {list(DIFFICULTY)}")
    if args.epochs is not None and min(args.epochs) < 1:
        raise InputError(f"--epochs: budgets must be at least 1 epoch, got {args.epochs}")
    if args.offset_designs is not None and not get_experiment(args.experiment, args.scale).model.offset_head:
        raise InputError(f"--offset-designs: {args.experiment} is single-person and has no offset head; use a "
                         "multi-person experiment (table5/baseline)")
    csv, figure = outputs(args, "calibration")
    results = run_calibration(levels, args.scale, args.seeds, args.experiment, out=args.runs, jobs=args.jobs,
                              quiet=True if args.quiet else None, budgets=args.epochs or [None],
                              offset_designs=args.offset_designs or [None])
    frame = calibration_frame(results)
    if calibration_metric(frame) == "mAP":  # multi-person diagnostics: wider tolerances, grouping by the truth
        people = [predict_val_people(result.config, result.run_dir) for _, result in results]
        diagnostics = pd.DataFrame([{**val.wider_tolerance_maps(), **val.ground_truth_grouping_map()} for val in people])
        frame = pd.concat([frame, diagnostics], axis=1)
    axes = ["epochs", *(["offset_design"] if "offset_design" in frame.columns else [])]  # beside the level
    if args.append and csv.is_file():
        frame = merged(frame, csv, "level", list(DIFFICULTY), "calibration", also=axes)
    write(frame, csv, figure, [c for c in frame.columns if c in (*PCK_COLUMNS, "seconds") or c.startswith("mAP")],
          plot_calibration)
    metric = calibration_metric(frame)  # of the table as written (with --append, its old rows too)
    summary = frame.groupby(["level", *axes], sort=False)[metric].agg(["mean", "std", "count"])
    print(f"final flip-tested {metric} of {args.experiment} ({args.scale}) by {', '.join(['level', *axes[:-1]])} "
          f"and {axes[-1]}:")
    print(summary.round(1).to_string())
    print(f"wrote {csv} and {figure}")
    return 0


def run_parsing(args: argparse.Namespace) -> int:
    """``calibrate --parsing``: the parsing networks alone, their table, figure and verdicts."""
    if args.levels is not None or args.experiment != BASELINE or args.epochs is not None or args.offset_designs:
        raise InputError("--levels, --experiment, --epochs and --offset-designs belong to the pose-only calibration: "
                         "drop them with --parsing (the parsing networks train on the scale's own data)")
    networks = list(PARSING_NETWORKS) if args.networks is None else args.networks
    for network in networks:
        parsing_experiment(network)  # InputError naming the known networks
    csv, figure = outputs(args, "calibration_parsing")
    results = run_parsing_calibration(networks, args.scale, args.seeds, out=args.runs, jobs=args.jobs,
                                      quiet=True if args.quiet else None)
    frame = parsing_calibration_frame(results)
    if args.append and csv.is_file():
        frame = merged(frame, csv, "network", list(PARSING_NETWORKS), "parsing calibration")
    write(frame, csv, figure, [c for c in frame.columns if c.startswith(("IoU_", "parsing_")) or c == "seconds"],
          plot_parsing_calibration)
    print("\n".join(parsing_verdicts(frame)["lines"]))
    print(f"wrote {csv} and {figure}")
    return 0
