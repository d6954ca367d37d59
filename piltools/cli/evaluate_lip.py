"""``python -m piltools evaluate-lip PRED.csv GT.csv [--json]``: LIP PCKh table.

Both files are LIP pose CSVs (see :mod:`piltools.lipcsv`); rows are matched by
image name. A malformed row, a duplicate name or names present on only one
side end the command with exit code 2 and a one-line message (file and line
number where there is one).
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from piltools.lipcsv import LipRow, read_lip_csv
from piltools.metrics import LIP_COLUMNS, lip_pckh


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pred", help="prediction CSV (LIP format, one row per image)")
    p.add_argument("gt", help="ground-truth CSV (LIP format, e.g. lip_val_set.csv)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--threshold", type=float, default=0.5, help="PCKh threshold (default 0.5)")


def _pred_coords(row: LipRow) -> np.ndarray:
    """``(16, 2)`` x, y with NaN for joints the prediction does not give."""
    coords = row.joints[:, :2].copy()
    coords[row.joints[:, 2] == 0] = np.nan
    return coords


def format_table(table: dict, threshold: float) -> str:
    """Two aligned lines (header, values) plus an image-count line."""
    width = 7
    header = "".join(f"{c:>{width}}" for c in LIP_COLUMNS)
    values = "".join(
        f"{'nan':>{width}}" if math.isnan(table[c]) else f"{table[c]:>{width}.1f}" for c in LIP_COLUMNS
    )
    note = (f"LIP PCKh@{threshold:g}: {table['images']} images evaluated, "
            f"{table['excluded_images']} excluded (no head top or neck in the ground truth)")
    return f"{note}\n{header}\n{values}"


def run(args: argparse.Namespace) -> int:
    try:
        pred_rows = read_lip_csv(args.pred)
        gt_rows = read_lip_csv(args.gt)
        pred = {name: _pred_coords(row) for name, row in pred_rows.items()}
        gt = {name: row.joints for name, row in gt_rows.items()}
        table = lip_pckh(pred, gt, thr=args.threshold)
    except (ValueError, OSError) as err:
        print(f"evaluate-lip: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(format_table(table, args.threshold))
    return 0
