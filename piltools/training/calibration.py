"""Calibration of the synthetic data's difficulty on the POSE-ONLY baseline, and of the parsing side.

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

The parsing side: the parsing networks of the PIL models (``Parsing(VGG16)`` of
Table 1, ``Parsing(HG-1s-{1,2,4,8}u)`` of Tables 2 / 3) trained alone with
cross-entropy at a scale's recipe (experiments ``calib/parsing-*``).
:func:`run_parsing_calibration` trains them, :func:`parsing_calibration_frame`
tabulates mIoU, pixel accuracy and per-class IoU, :func:`parsing_verdicts`
computes the verdicts (target :data:`PARSING_TARGET` met per network; mIoU rising
with depth 1u -> 8u) and :func:`plot_parsing_calibration` draws them.
``python -m piltools calibrate --parsing`` writes ``results/calibration_parsing.csv``
and ``results/figures/calibration_parsing.png``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from piltools.config import ExperimentConfig
from piltools.datasets.specs import get_spec
from piltools.errors import InputError
from piltools.experiments import CALIBRATION_PREFIX, get_experiment, scaled_milestones, with_changes
from piltools.paper import paper_numbers
from piltools.reports import PCK_COLUMNS, summary_row
from piltools.runs import RunResult
from piltools.training.pool import parallel_waves
from piltools.training.runner import run_config

BASELINE = "table2/hg-1s-1u"

# The band the project aims the baseline at, at the `cpu` scale: well between chance and saturation.
TARGET_BAND: tuple[float, float] = (50.0, 85.0)
#: The band for a multi-person baseline's mAP (Table 5; the paper's baseline has 39.6 on real PASCAL-Person-Part):
#: most people found, far from saturation. mAP sits below PCK: it also charges every false detection.
MULTI_PERSON_BAND: tuple[float, float] = (20.0, 70.0)

#: Parsing network (the slug in its experiment's name) -> its calibration experiment, shallow to deep.
PARSING_NETWORKS: dict[str, str] = {
    net: f"{CALIBRATION_PREFIX}parsing-{net}" for net in ("vgg16", "hg-1s-1u", "hg-1s-2u", "hg-1s-4u", "hg-1s-8u")
}
#: The hourglass parsing networks by residual units (the depth axis of Table 3).
PARSING_DEPTHS: dict[str, int] = {"hg-1s-1u": 1, "hg-1s-2u": 2, "hg-1s-4u": 4, "hg-1s-8u": 8}
#: The parsing mIoU the project aims the parsing networks at, at the ``cpu`` scale (the paper's nets reach 41-44).
PARSING_TARGET = 40.0


def calibration_config(level: str, scale: str = "cpu", seed: int = 0, experiment: str = BASELINE,
                       epochs: int | None = None, offset_design: str | None = None) -> ExperimentConfig:
    """``experiment`` at ``scale`` trained on the synthetic data of difficulty ``level``, for ``epochs`` epochs
    (None: the scale's own budget), a multi-person one with the offset head ``offset_design`` (None: its own).

    Each level other than the experiment's own gets its own data folder (``<root>-<level>``), so levels never
    overwrite each other's cached data. Another budget keeps the shape of the scale's schedule: each learning-rate
    milestone moves to the same fraction of the run (:func:`scaled_budget`).

    Raises:
        ValueError: real data (nothing to calibrate), an unknown level, ``epochs`` < 1, a single-person offset design.
    """
    cfg = get_experiment(experiment, scale, seed)
    if cfg.data.synthetic is None:
        raise ValueError(f"scale {scale!r} trains on real data: only synthetic-data scales can be calibrated")
    if offset_design is not None:
        if not cfg.model.offset_head:
            raise ValueError(f"{experiment} is single-person: it has no offset head to give design {offset_design!r}")
        cfg = with_changes(cfg, model={"offset_design": offset_design})
    if epochs is not None and epochs != cfg.train.epochs:
        cfg = with_changes(cfg, train=scaled_budget(cfg, epochs))
    if level == cfg.data.synthetic.difficulty:
        return cfg
    synthetic = dataclasses.replace(cfg.data.synthetic, difficulty=level)
    return with_changes(cfg, data={"root": f"{cfg.data.root}-{level}", "synthetic": synthetic})


def scaled_budget(cfg: ExperimentConfig, epochs: int) -> dict[str, Any]:
    """The ``train`` changes that give ``cfg`` ``epochs`` epochs with its schedule's shape: each milestone at the
    same fraction of the run, rounded to an epoch, at least 1 (``cpu``: the rate halves after 6 of 8 epochs, so
    after 12 of 16 and 24 of 32).

    Raises:
        ValueError: ``epochs`` < 1.
    """
    if epochs < 1:
        raise ValueError(f"{cfg.name}: a calibration budget needs at least 1 epoch, got {epochs}")
    return {"epochs": int(epochs), "milestones": scaled_milestones(cfg.train.milestones, cfg.train.epochs, epochs)}


def _train_labelled(pairs: list[tuple[str, ExperimentConfig]], out: str | Path, jobs: int,
                    quiet: bool | None) -> list[tuple[str, RunResult]]:
    """Train (or load) each ``(label, config)`` run, ``jobs`` at a time; ``(label, result)`` in the same order."""
    if jobs <= 1 or len(pairs) <= 1:
        return [(label, run_config(cfg, out=out, quiet=quiet)) for label, cfg in pairs]
    quiet = True if quiet is None else quiet  # interleaved progress bars from several processes are unreadable
    [results] = parallel_waves(run_config, [[(cfg, out, quiet) for _, cfg in pairs]], jobs)
    return [(label, result) for (label, _), result in zip(pairs, results)]


def run_calibration(levels: Sequence[str], scale: str = "cpu", seeds: Iterable[int] = (0,),
                    experiment: str = BASELINE, out: str | Path = "results/runs", jobs: int = 1,
                    quiet: bool | None = None, budgets: Sequence[int | None] = (None,),
                    offset_designs: Sequence[str | None] = (None,)) -> list[tuple[str, RunResult]]:
    """Train (or load cached) calibration runs, levels outer, then offset designs, budgets, seeds inner.

    Args:
        levels: difficulty level names.
        jobs: runs trained at once, each in its own process (cpu scale: one torch thread per run).
        budgets: training epochs to try (None: the scale's own), see :func:`calibration_config`.
        offset_designs: multi-person offset-head designs to try (None: the experiment's own).

    Returns:
        ``(level, result)`` pairs in that order (a result's budget is its ``config.train.epochs``).
    """
    seeds = list(seeds)
    pairs = [(level, calibration_config(level, scale, s, experiment, epochs, design))
             for level in levels for design in offset_designs for epochs in budgets for s in seeds]
    return _train_labelled(pairs, out, jobs, quiet)


def calibration_frame(results: Sequence[tuple[str, RunResult]]) -> pd.DataFrame:
    """One row per run: ``level`` and the recipe (epochs, batch size, lr; a multi-person run's offset design) before
    the usual summary columns (:func:`piltools.reports.summary_row`), then ``val_pck_by_epoch`` (the quick
    single-scale validation after each epoch, ``;``-separated)."""
    rows: list[dict[str, Any]] = []
    for level, result in results:
        t, m = result.config.train, result.config.model
        row = {"level": level, "epochs": t.epochs, "batch_size": t.batch_size, "lr": t.lr, "optimizer": t.optimizer,
               **({"offset_design": m.offset_design} if m.offset_head else {}), **summary_row(result)}
        curve = [r["val_pck"] for r in result.metrics]
        row["val_pck_by_epoch"] = ";".join(f"{v:.2f}" for v in curve)
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_metric(frame: pd.DataFrame) -> str:
    """The headline metric of a calibration table: ``"mAP"`` for a multi-person baseline, else ``"PCK"``."""
    return "mAP" if "mAP" in frame.columns and frame["mAP"].notna().all() else "PCK"


def target_band(frame: pd.DataFrame) -> tuple[float, float]:
    """The band a calibration table's baseline is aimed at: :data:`TARGET_BAND` for PCK,
    :data:`MULTI_PERSON_BAND` for multi-person mAP."""
    return MULTI_PERSON_BAND if calibration_metric(frame) == "mAP" else TARGET_BAND


def run_label(row: pd.Series, frame: pd.DataFrame) -> str:
    """A calibration run's curve label: its level, and its budget and offset design when the table tries several."""
    parts = [str(row["level"])] + [f"{row['epochs']} epochs"] * (frame["epochs"].nunique() > 1)
    if "offset_design" in frame.columns and frame["offset_design"].nunique() > 1:
        parts.append(f"{row['offset_design']} offsets")
    return ", ".join(parts)


def plot_calibration(frame: pd.DataFrame, band: tuple[float, float] | None = None):
    """Validation PCK (mAP for a multi-person baseline) per epoch of every calibration run, one colour per
    (level, budget), the target band (:func:`target_band` unless given) shaded, the final flip-tested number
    as a dot at the last epoch. Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    metric = calibration_metric(frame)
    band = target_band(frame) if band is None else band
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.axhspan(*band, color="0.9", zorder=0, label=f"target band {band[0]:.0f}-{band[1]:.0f}")
    colours = plt.get_cmap("tab10")
    labels = frame.apply(run_label, axis=1, frame=frame)
    for i, label in enumerate(dict.fromkeys(labels)):
        colour = colours(i % 10)
        runs = frame[labels == label]
        for j, (_, row) in enumerate(runs.iterrows()):
            curve = [float(v) for v in str(row["val_pck_by_epoch"]).split(";") if v]
            epochs = list(range(1, len(curve) + 1))
            ax.plot(epochs, curve, color=colour, lw=1.5, alpha=0.9,
                    label=f"{label} (final {runs[metric].mean():.1f})" if j == 0 else None)
            ax.plot([epochs[-1]], [row[metric]], "o", color=colour, ms=5)
    first = frame.iloc[0]
    ax.set(xlabel="epoch", ylabel="val multi-person mAP (%)" if metric == "mAP" else "val PCKh@0.5 (%)", ylim=(0, 100))
    varied = [name for name, c in (("budget", "epochs"), ("offset design", "offset_design")) if frame.get(c) is not None
              and frame[c].nunique() > 1]
    axis = f"{', '.join(varied)} and difficulty level" if varied else "synthetic difficulty level"
    ax.set_title(f"{first['model']} ({first['experiment']}) at {first['scale']} scale by {axis}\n"
                 f"(lines: single-scale val after each epoch; dots: final flip-tested {metric})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def parsing_experiment(network: str) -> str:
    """The calibration experiment of a parsing network (``"hg-1s-2u"`` -> ``"calib/parsing-hg-1s-2u"``).

    Raises:
        InputError: an unknown network; the message lists the known ones.
    """
    if network not in PARSING_NETWORKS:
        raise InputError(f"--networks: unknown parsing network {network!r}; known: {', '.join(PARSING_NETWORKS)}")
    return PARSING_NETWORKS[network]


def paper_parsing_miou() -> dict[str, float]:
    """The PAPER'S LIP val mIoU of the Table 3 parsing nets by network slug (``"hg-1s-1u"`` -> 41.1)."""
    return {p.row.lower(): p.value for p in paper_numbers(table="Table 3", metric="mIoU")}


def run_parsing_calibration(networks: Sequence[str], scale: str = "cpu", seeds: Iterable[int] = (0,),
                            out: str | Path = "results/runs", jobs: int = 1,
                            quiet: bool | None = None) -> list[tuple[str, RunResult]]:
    """Train (or load cached) the parsing-only runs, networks outer, seeds inner.

    Args:
        networks: keys of :data:`PARSING_NETWORKS`.
        jobs: runs trained at once, each in its own process.

    Returns:
        ``(network, result)`` pairs in that order.

    Raises:
        InputError: an unknown network.
    """
    pairs = [(net, get_experiment(parsing_experiment(net), scale, s)) for net in networks for s in seeds]
    return _train_labelled(pairs, out, jobs, quiet)


def parsing_calibration_frame(results: Sequence[tuple[str, RunResult]]) -> pd.DataFrame:
    """One row per parsing-only run: ``network``, ``units`` (hourglass residual units; empty for VGG16) and the
    recipe (``lr`` is the base rate; the parsing network trains at ``lr x parsing_lr_mult``), the usual summary
    columns less the PCK ones (no pose side), ``parsing_mIoU``, ``parsing_pixel_acc``,
    ``val_mIoU_by_epoch`` (the quick validation mIoU after each epoch, ``;``-separated; the runs' metrics.csv
    keeps it in ``val_pck``) and ``IoU_<class>`` per parsing class."""
    rows: list[dict[str, Any]] = []
    for network, result in results:
        t = result.config.train
        parsing = result.eval["parsing"]
        row = {"network": network, "units": PARSING_DEPTHS.get(network), "epochs": t.epochs,
               "batch_size": t.batch_size, "lr": t.lr, "parsing_lr_mult": t.parsing_lr_mult,
               "optimizer": t.optimizer, **summary_row(result),
               "parsing_pixel_acc": parsing["pixel_acc"]}
        row["val_mIoU_by_epoch"] = ";".join(f"{r['val_pck']:.2f}" for r in result.metrics)
        labels = get_spec(result.config.data.kind).parsing_labels
        row.update({f"IoU_{name}": value for name, value in zip(labels, parsing["IoU"])})
        rows.append(row)
    frame = pd.DataFrame(rows).drop(columns=list(PCK_COLUMNS))  # no pose side: the PCK columns are all NaN
    frame["units"] = frame["units"].astype("Int64")  # empty for VGG16
    return frame


def parsing_verdicts(frame: pd.DataFrame, target: float = PARSING_TARGET) -> dict[str, Any]:
    """The verdicts of a parsing calibration, computed from :func:`parsing_calibration_frame` rows.

    Returns:
        ``{"networks": {network: {"mean", "std" (ddof=1; NaN for one seed), "seeds", "per_seed": {seed: mIoU},
        "target_met" (mean >= target)}}, "depth": {"units": [...], "means": [...], "per_seed": {seed: [mIoU per
        depth, NaN where missing]}, "rises" (means strictly increasing 1u -> 8u; None with fewer than two depths),
        "rises_per_seed": {seed: bool}}, "lines": [readable verdict lines]}``.
    """
    nets: dict[str, dict[str, Any]] = {}
    lines: list[str] = []
    for network, group in frame.groupby("network", sort=False):
        values = group.set_index("seed")["parsing_mIoU"].astype(float)
        mean = float(values.mean())
        std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        met = bool(mean >= target)
        nets[network] = {"mean": mean, "std": std, "seeds": len(values),
                         "per_seed": {int(k): float(v) for k, v in values.items()}, "target_met": met}
        lines.append(f"{network}: mIoU {mean:.1f} +- {std:.1f} over {len(values)} seed(s) "
                     f"({', '.join(f'{v:.1f}' for v in values)}): target {target:.0f} "
                     f"{'met' if met else 'NOT met'}")
    depths = [(units, net) for net, units in PARSING_DEPTHS.items() if net in nets]
    units = [u for u, _ in depths]
    means = [nets[net]["mean"] for _, net in depths]
    seeds = sorted({s for _, net in depths for s in nets[net]["per_seed"]})
    per_seed = {s: [nets[net]["per_seed"].get(s, float("nan")) for _, net in depths] for s in seeds}
    rises = bool(np.all(np.diff(means) > 0)) if len(means) > 1 else None
    rises_per_seed = {s: bool(np.all(np.diff(v) > 0)) for s, v in per_seed.items() if len(v) > 1}
    if rises is None:
        lines.append("mIoU vs depth: fewer than two hourglass depths trained, nothing to judge")
    else:
        seed_text = "; ".join(f"seed {s}: {', '.join(f'{v:.1f}' for v in vals)} "
                              f"({'rises' if rises_per_seed.get(s) else 'not monotone'})"
                              for s, vals in per_seed.items())
        lines.append(f"mIoU rises with depth {'->'.join(f'{u}u' for u in units)}: "
                     f"{'yes' if rises else 'NO'} (means {', '.join(f'{m:.1f}' for m in means)}; {seed_text})")
    return {"networks": nets, "depth": {"units": units, "means": means, "per_seed": per_seed, "rises": rises,
                                        "rises_per_seed": rises_per_seed}, "lines": lines}


def plot_parsing_calibration(frame: pd.DataFrame, target: float = PARSING_TARGET):
    """Left: final parsing mIoU per network (VGG16, then the hourglass depths 1u..8u), a dot per seed and a
    bar for the mean, the paper's Table 3 mIoU as hollow diamonds over a band spanning them (labelled as the
    paper's, real LIP), the target line. Right: the quick validation mIoU after each epoch, one line per run.
    Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    order = [net for net in PARSING_NETWORKS if net in set(frame["network"])]
    fig, (ax, curves) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.2]})
    paper = paper_parsing_miou()
    ax.axhspan(min(paper.values()), max(paper.values()), color="#fde0dd", zorder=0,
               label=f"paper's LIP mIoU, Table 3 ({min(paper.values()):.1f}-{max(paper.values()):.1f})")
    xs_paper = [i for i, net in enumerate(order) if net in paper]
    ax.scatter(xs_paper, [paper[order[i]] for i in xs_paper], marker="D", s=50, facecolors="none",
               edgecolors="#d62728", linewidths=1.6, zorder=5, label="paper's number (real LIP)")
    ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:.0f}")
    colours = plt.get_cmap("tab10")
    for i, net in enumerate(order):
        values = frame.loc[frame["network"] == net, "parsing_mIoU"].astype(float)
        ax.bar(i, values.mean(), color="#9ecae1", width=0.6, label="ours (mean over seeds)" if i == 0 else None)
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        ax.plot(i + jitter, values, "o", color="#08519c", ms=5, label="ours (one seed)" if i == 0 else None)
        for j, (_, row) in enumerate(frame[frame["network"] == net].iterrows()):
            curve = [float(v) for v in str(row["val_mIoU_by_epoch"]).split(";") if v]
            curves.plot(range(1, len(curve) + 1), curve, color=colours(i % 10), lw=1.4, alpha=0.85,
                        label=f"{net} (final {values.mean():.1f})" if j == 0 else None)
    curves.axhline(target, color="k", ls="--", lw=1)
    ax.set_xticks(range(len(order)), order)
    ax.set(xlabel="parsing network (hourglass: residual units, shallow to deep)", ylabel="val parsing mIoU (%)",
           ylim=(0, 100))
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    curves.set(xlabel="epoch", ylabel="quick val mIoU (%)", ylim=(0, 100))
    curves.legend(loc="upper left", fontsize=7, frameon=False)
    curves.grid(alpha=0.3)
    first = frame.iloc[0]
    fig.suptitle(f"Parsing networks alone (cross-entropy only) at {first['scale']} scale: final mIoU per network "
                 "(left) and quick val mIoU per epoch (right)", fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["BASELINE", "TARGET_BAND", "PARSING_NETWORKS", "PARSING_DEPTHS", "PARSING_TARGET", "calibration_config",
           "run_calibration", "calibration_frame", "plot_calibration", "parsing_experiment", "paper_parsing_miou",
           "run_parsing_calibration", "parsing_calibration_frame", "parsing_verdicts", "plot_parsing_calibration"]
