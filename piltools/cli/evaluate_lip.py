"""``python -m piltools evaluate-lip PRED.csv GT.csv [--json]``: LIP PCKh table.

Both files are LIP pose CSVs (see :mod:`piltools.lipcsv`); rows are matched by
image name. Bad input ends the command with exit code 2 and a one-line message
that names it: a missing file (prediction or ground truth), a file that is not
a LIP CSV (binary, header line, malformed row: file and line number), a
duplicate name, names present on only one side, or a ``--threshold`` that is
not a number in (0, 1]. ``--json`` writes strict JSON: a column with nothing
to count is ``null``.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from piltools.errors import InputError
from piltools.lipcsv import LipCsvError, LipRow, read_lip_csv
from piltools.metrics import LIP_COLUMNS, lip_pckh


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pred", help="prediction CSV (LIP format, one row per image)")
    p.add_argument("gt", help="ground-truth CSV (LIP format, e.g. lip_val_set.csv)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--threshold", default="0.5", metavar="T",
                   help="PCKh threshold: a joint is correct within T x head size, T in (0, 1] (default 0.5)")


def parse_threshold(text: str) -> float:
    """The ``--threshold`` value as a float in (0, 1]; anything else raises :class:`InputError`.

    Args:
        text: the argument as typed.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise InputError(f"--threshold {text!r}: expected a number in (0, 1] (the PCKh distance / head size "
                         "cut-off, e.g. 0.5)")
    return value


def read_csv(path: str, role: str) -> dict[str, LipRow]:
    """Read one side's LIP CSV; errors name the side (``role``) and the file.

    Args:
        path: the CSV as given on the command line.
        role: ``"prediction"`` or ``"ground-truth"``.
    """
    if not Path(path).is_file():
        what = "is a directory" if Path(path).is_dir() else "does not exist"
        raise InputError(f"{role} file {path} {what}; expected a LIP pose CSV")
    try:
        return read_lip_csv(path)
    except LipCsvError as err:
        raise InputError(f"{role} file {err}") from None
    except OSError as err:
        raise InputError(f"{role} file {path} cannot be read ({err.strerror or err}); expected a LIP pose CSV") \
            from None


def strict_json(value: object) -> object:
    """``value`` with every float NaN replaced by None, so ``json.dumps`` writes ``null`` (dicts and lists walked)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


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
    threshold = parse_threshold(args.threshold)
    pred_rows = read_csv(args.pred, "prediction")
    gt_rows = read_csv(args.gt, "ground-truth")
    pred = {name: _pred_coords(row) for name, row in pred_rows.items()}
    gt = {name: row.joints for name, row in gt_rows.items()}
    table = lip_pckh(pred, gt, thr=threshold)
    if args.json:
        print(json.dumps(strict_json(table), indent=2, allow_nan=False))
    else:
        print(format_table(table, threshold))
    return 0
