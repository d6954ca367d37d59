"""Calibration of the synthetic data's difficulty on the POSE-ONLY baseline .

The project's rule: the embedded data is made neither too easy nor too hard for
the training budget of a scale by looking at a pose-only baseline (default
``table2/hg-1s-1u``), never at a PIL model. :func:`calibration_config` trains
that baseline at a scale on each named difficulty level of the generator
(:data:`piltools.synthetic.DIFFICULTY`, hardest first);
:func:`calibration_frame` tabulates the runs and :func:`plot_calibration`
draws their validation curves. ``python -m piltools calibrate`` writes
``results/calibration.csv`` and ``results/figures/calibration.png``.

The level ``"default"`` resolves to exactly the baseline's own experiment
config, so its run is shared with Table 2.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from piltools.config import ExperimentConfig
from piltools.experiments import get_experiment, with_changes
from piltools.reports import summary_row
from piltools.runs import RunResult
from piltools.training.pool import parallel_waves
from piltools.training.runner import run_config

BASELINE = "table2/hg-1s-1u"

# The band the project aims the baseline at, at the `cpu` scale: well between chance and saturation.
TARGET_BAND: tuple[float, float] = (50.0, 85.0)


def calibration_config(level: str, scale: str = "cpu", seed: int = 0, experiment: str = BASELINE) -> ExperimentConfig:
    """``experiment`` at ``scale`` trained on the synthetic data of difficulty ``level``.

    Each non-default level gets its own data folder (``<root>-<level>``), so levels never overwrite
    each other's cached data.

    Raises:
        ValueError: the scale uses real data (nothing to calibrate) or the level is unknown.
    """
    cfg = get_experiment(experiment, scale, seed)
    if cfg.data.synthetic is None:
        raise ValueError(f"scale {scale!r} trains on real data: only synthetic-data scales can be calibrated")
    if level == cfg.data.synthetic.difficulty:
        return cfg
    synthetic = dataclasses.replace(cfg.data.synthetic, difficulty=level)
    return with_changes(cfg, data={"root": f"{cfg.data.root}-{level}", "synthetic": synthetic})


def run_calibration(levels: Sequence[str], scale: str = "cpu", seeds: Iterable[int] = (0,),
                    experiment: str = BASELINE, out: str | Path = "results/runs", jobs: int = 1,
                    quiet: bool | None = None) -> list[tuple[str, RunResult]]:
    """Train (or load cached) calibration runs, levels outer, seeds inner.

    Args:
        levels: difficulty level names.
        jobs: runs trained at once, each in its own process (cpu scale: one torch thread per run).

    Returns:
        ``(level, result)`` pairs in that order.
    """
    pairs = [(level, calibration_config(level, scale, s, experiment)) for level in levels for s in seeds]
    if jobs <= 1 or len(pairs) <= 1:
        return [(level, run_config(cfg, out=out, quiet=quiet)) for level, cfg in pairs]
    quiet = True if quiet is None else quiet
    [results] = parallel_waves(run_config, [[(cfg, out, quiet) for _, cfg in pairs]], jobs)
    return [(level, result) for (level, _), result in zip(pairs, results)]


def calibration_frame(results: Sequence[tuple[str, RunResult]]) -> pd.DataFrame:
    """One row per run: ``level`` and the recipe (epochs, batch size, lr) before the usual summary
    columns (:func:`piltools.reports.summary_row`), then ``val_pck_by_epoch`` (the quick
    single-scale validation after each epoch, ``;``-separated)."""
    rows: list[dict[str, Any]] = []
    for level, result in results:
        t = result.config.train
        row = {"level": level, "epochs": t.epochs, "batch_size": t.batch_size, "lr": t.lr,
               "optimizer": t.optimizer, **summary_row(result)}
        curve = [r["val_pck"] for r in result.metrics]
        row["val_pck_by_epoch"] = ";".join(f"{v:.2f}" for v in curve)
        rows.append(row)
    return pd.DataFrame(rows)


def plot_calibration(frame: pd.DataFrame, band: tuple[float, float] = TARGET_BAND):
    """Validation PCK per epoch of every calibration run (one colour per level), the target band shaded,
    the final flip-tested PCK as a dot at the last epoch. Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.axhspan(*band, color="0.9", zorder=0, label=f"target band {band[0]:.0f}-{band[1]:.0f}")
    colours = plt.get_cmap("tab10")
    levels = list(dict.fromkeys(frame["level"]))
    for i, level in enumerate(levels):
        colour = colours(i % 10)
        for j, (_, row) in enumerate(frame[frame["level"] == level].iterrows()):
            curve = [float(v) for v in str(row["val_pck_by_epoch"]).split(";") if v]
            epochs = list(range(1, len(curve) + 1))
            ax.plot(epochs, curve, color=colour, lw=1.5, alpha=0.9,
                    label=f"{level} (final {frame[frame['level'] == level]['PCK'].mean():.1f})" if j == 0 else None)
            ax.plot([epochs[-1]], [row["PCK"]], "o", color=colour, ms=5)
    first = frame.iloc[0]
    ax.set_xlabel("epoch")
    ax.set_ylabel("val PCKh@0.5 (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{first['model']} at {first['scale']} scale on each synthetic difficulty level\n"
                 "(lines: single-scale val after each epoch; dots: final flip-tested PCK)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


__all__ = ["BASELINE", "TARGET_BAND", "calibration_config", "run_calibration", "calibration_frame",
           "plot_calibration"]
