"""The PAPER'S numbers (Nie et al., CVPR 2018), transcribed for side-by-side display.

These are the numbers printed in the paper, never our measurements; every
table that shows them next to ours must label them as the paper's. Source:
the paper's Tables 1-6 (overall columns only: the per-joint columns were not
transcribed, so they are absent here rather than guessed).

Each entry is a :class:`PaperNumber` with the table, the row as printed, the
metric and the value, plus the name of the experiment in
:mod:`piltools.experiments` that reproduces that row.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperNumber:
    """One number printed in the paper.

    Args:
        table: ``"Table 1"`` .. ``"Table 6"``.
        row: the row label as printed.
        metric: ``"PCK"`` (LIP PCKh@0.5, percent), ``"PCKh"`` (MPII), ``"mAP"``,
            ``"mIoU"`` (parsing, Table 3).
        value: the printed value.
        experiment: the named experiment that reproduces the row.
    """

    table: str
    row: str
    metric: str
    value: float
    experiment: str


PAPER_NUMBERS: tuple[PaperNumber, ...] = (
    # Table 1: VGG16 ablation, LIP val PCK (paper's numbers).
    PaperNumber("Table 1", "VGG16", "PCK", 69.1, "table1/vgg16"),
    PaperNumber("Table 1", "VGG16-Add", "PCK", 68.6, "table1/vgg16-add"),
    PaperNumber("Table 1", "VGG16-Multi", "PCK", 63.7, "table1/vgg16-multi"),
    PaperNumber("Table 1", "VGG16-Concat", "PCK", 66.1, "table1/vgg16-concat"),
    PaperNumber("Table 1", "VGG16-MTL", "PCK", 65.3, "table1/vgg16-mtl"),
    PaperNumber("Table 1", "VGG16-Self", "PCK", 69.8, "table1/vgg16-self"),
    PaperNumber("Table 1", "VGG16-PIL(VGG16)", "PCK", 75.0, "table1/vgg16-pil"),
    # Table 2: hourglass with / without PIL, LIP val PCK (paper's numbers).
    PaperNumber("Table 2", "HG-1s-1u", "PCK", 78.8, "table2/hg-1s-1u"),
    PaperNumber("Table 2", "HG-1s-1u-PIL(HG-1s-1u)", "PCK", 82.2, "table2/hg-1s-1u-pil"),
    PaperNumber("Table 2", "HG-2s-1u", "PCK", 80.8, "table2/hg-2s-1u"),
    PaperNumber("Table 2", "HG-2s-1u-PIL(HG-1s-2u)", "PCK", 83.0, "table2/hg-2s-1u-pil"),
    PaperNumber("Table 2", "HG-4s-2u", "PCK", 84.5, "table2/hg-4s-2u"),
    PaperNumber("Table 2", "HG-4s-2u-PIL(HG-1s-2u)", "PCK", 85.3, "table2/hg-4s-2u-pil"),
    PaperNumber("Table 2", "HG-8s-1u", "PCK", 84.9, "table2/hg-8s-1u"),
    PaperNumber("Table 2", "HG-8s-1u-PIL(HG-1s-2u)", "PCK", 85.6, "table2/hg-8s-1u-pil"),
    # Table 3: pose net HG-4s-2u, parsing net HG-1s-{1,2,4,8}u (paper's numbers).
    PaperNumber("Table 3", "HG-1s-1u", "mIoU", 41.1, "table3/pil-hg-1s-1u"),
    PaperNumber("Table 3", "HG-1s-1u", "PCK", 85.0, "table3/pil-hg-1s-1u"),
    PaperNumber("Table 3", "HG-1s-2u", "mIoU", 42.4, "table3/pil-hg-1s-2u"),
    PaperNumber("Table 3", "HG-1s-2u", "PCK", 85.3, "table3/pil-hg-1s-2u"),
    PaperNumber("Table 3", "HG-1s-4u", "mIoU", 43.3, "table3/pil-hg-1s-4u"),
    PaperNumber("Table 3", "HG-1s-4u", "PCK", 85.4, "table3/pil-hg-1s-4u"),
    PaperNumber("Table 3", "HG-1s-8u", "mIoU", 43.9, "table3/pil-hg-1s-8u"),
    PaperNumber("Table 3", "HG-1s-8u", "PCK", 85.5, "table3/pil-hg-1s-8u"),
    PaperNumber("Table 3", "Baseline (HG-4s-2u)", "PCK", 84.5, "table2/hg-4s-2u"),
    # Table 5: PASCAL-Person-Part multi-person mAP (paper's numbers).
    PaperNumber("Table 5", "Baseline", "mAP", 39.6, "table5/baseline"),
    PaperNumber("Table 5", "With PIL", "mAP", 41.0, "table5/pil"),
    # Table 6: MPII val PCKh@0.5 (paper's numbers).
    PaperNumber("Table 6", "HG-8s-1u", "PCKh", 90.2, "mpii/hg-8s-1u"),
    PaperNumber("Table 6", "HG-8s-1u + PIL(HG-1s-2u) transferred", "PCKh", 91.0, "mpii/hg-8s-1u-pil-transfer"),
)


def paper_numbers(table: str | None = None, metric: str | None = None) -> list[PaperNumber]:
    """The paper's numbers, optionally filtered by table and metric.

    Args:
        table: e.g. ``"Table 1"``; None = all tables.
        metric: e.g. ``"PCK"``; None = all metrics.
    """
    known_tables = {p.table for p in PAPER_NUMBERS}
    if table is not None and table not in known_tables:
        raise KeyError(f"unknown table {table!r}; known: {sorted(known_tables)}")
    return [p for p in PAPER_NUMBERS
            if (table is None or p.table == table) and (metric is None or p.metric == metric)]


def paper_value(experiment: str, metric: str) -> float:
    """The paper's number for a named experiment and metric (KeyError if the paper has none)."""
    for p in PAPER_NUMBERS:
        if p.experiment == experiment and p.metric == metric and not p.row.startswith("Baseline ("):
            return p.value
    raise KeyError(f"the paper prints no {metric} for experiment {experiment!r}")


def paper_rows(table: str) -> list[dict]:
    """Rows for a DataFrame: ``{"table", "row", "metric", "paper_value", "experiment"}``.

    The column is named ``paper_value`` so it cannot be mistaken for ours.
    """
    return [{"table": p.table, "row": p.row, "metric": p.metric, "paper_value": p.value,
             "experiment": p.experiment} for p in paper_numbers(table)]
