"""Result tables and figures for the notebooks: our runs beside the paper's numbers.

Everything here works on the flat per-run rows of :func:`summary_row` (one
row per experiment and seed),
so a table can always be rebuilt from the committed ``results/*.csv`` files.
The paper's numbers come from :mod:`piltools.paper` and are kept in their own,
clearly labelled columns. What a model costs (parameters, training seconds per
image) is computed from its config and from the run's recorded per-epoch times,
so a table rendered from the committed run records is the same on any machine.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch

from piltools.config import ExperimentConfig
from piltools.datasets.specs import get_spec
from piltools.experiments import get_experiment
from piltools.joints import JOINT_NAMES
from piltools.metrics import LIP_COLUMNS, PAIR_COLUMNS, PASCAL_BOX_FRACTION, curve_area, multi_person_ap
from piltools.models import create_model
from piltools.paper import paper_numbers, paper_value
from piltools.runs import RunResult, describe_machine, resolve_path

#: The PCK columns of a results row: LIP's PCKh table (MPII fills the pairs and copies ``Total`` to ``PCK``).
PCK_COLUMNS: tuple[str, ...] = LIP_COLUMNS
#: The pose columns of an MPII row (Table 6): the official pair columns, ``UBody`` (the 6 arm joints pooled: not
#: LIP's ``U.Body``, which also holds neck and head top), ``PCK`` (the official ``Total``) and ``AUC`` (the official
#: area under the PCKh curve over the thresholds 0 .. 0.5, :func:`piltools.metrics.mpii_auc`).
MPII_ROW_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, "UBody", "PCK", "AUC")
#: The pose columns of a multi-person row (Table 5): the AP of each joint group (:func:`group_ap`) and ``PCK``
#: (the mAP, as the evaluation's headline ``pck``).
MULTI_PERSON_ROW_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, "PCK")
#: ``stale`` column values by :attr:`RunResult.freshness`.
STALE_VALUES: dict[str, str] = {"current": "no", "stale": "yes", "unknown": "unknown"}


def group_ap(ap: list[float], joint_names: tuple[str, ...]) -> dict[str, float]:
    """Table 5's joint groups from per-joint AP: each group of :data:`~piltools.metrics.PAIR_COLUMNS` (``Head`` =
    head top and neck, ``Sho.`` = both shoulders, ...) is the mean of its joints' AP, as the official MPII table
    averages the two joints of a pair. A joint without positives (NaN AP) is skipped, as the mAP skips it; a group
    with none is NaN.

    Args:
        ap: per-joint AP (percent) in the order of ``joint_names`` (eval.json ``AP``).
        joint_names: the dataset's joint names (PASCAL: the 14 MPII joints without pelvis and thorax).

    Raises:
        ValueError: ``ap`` and ``joint_names`` differ in length, or a group's joint is not in ``joint_names``.
    """
    if len(ap) != len(joint_names):
        raise ValueError(f"group_ap: {len(ap)} AP values for {len(joint_names)} joints")
    index = {name: i for i, name in enumerate(joint_names)}
    out = {}
    for column, pair in PAIR_COLUMNS.items():
        names = [JOINT_NAMES[j] for j in pair]
        missing = [n for n in names if n not in index]
        if missing:
            raise ValueError(f"group_ap: joints {missing} of {column!r} are not among {list(joint_names)}")
        values = [float(ap[index[n]]) for n in names if np.isfinite(ap[index[n]])]
        out[column] = float(np.mean(values)) if values else float("nan")
    return out


def _pose_columns(result: RunResult) -> dict[str, Any]:
    """The pose columns of :func:`summary_row` by the kind of evaluation in ``result.eval``."""
    ev = result.eval
    nan = float("nan")
    if "mpii_pckh" in ev:
        table = ev["mpii_pckh"]
        row = {key: table.get(key, nan) for key in MPII_ROW_COLUMNS[:-2]}
        return {**row, "PCK": ev.get("pck", nan), "AUC": ev.get("auc", nan)}
    if "AP" in ev:
        groups = group_ap(ev["AP"], get_spec(result.config.data.kind).joint_names)
        return {**groups, "PCK": ev.get("pck", nan)}
    table = ev.get("lip_pckh") or {}
    row = {key: table.get(key, nan) for key in PCK_COLUMNS[:-1]}
    return {**row, "PCK": ev.get("pck", nan)}


def summary_row(result: RunResult) -> dict[str, Any]:
    """One flat row per run for results tables (``results/README.md`` schema).

    Columns: ``experiment, model, scale, seed``, the pose columns, ``n_images, run_id, code_version``, ``stale``
    (``yes``: trained by code other than today's, see :mod:`piltools.runs`; ``no``; ``unknown``: made before code
    fingerprints were recorded), ``machine, seconds`` (training wall time), then ``parsing_mIoU`` where the model
    parses (Table 3) and ``mAP`` for multi-person runs. The pose columns follow the evaluation: LIP's
    :data:`PCK_COLUMNS`; for MPII :data:`MPII_ROW_COLUMNS` (``Total`` copied to ``PCK``, and ``AUC``); for
    multi-person data :data:`MULTI_PERSON_ROW_COLUMNS` (the AP of each joint group, :func:`group_ap`, and the mAP
    copied to ``PCK``). A parsing-only run (``calib/parsing-*``, no pose side) has NaN in the LIP columns and
    ``parsing_mIoU`` set.
    """
    ev = result.eval
    row: dict[str, Any] = {"experiment": result.config.name, "model": result.config.model.name,
                           "scale": result.config.scale, "seed": result.config.seed}
    row.update(_pose_columns(result))
    row["n_images"] = ev.get("n_images")
    row["run_id"] = result.run_id
    version = result.run_dir / "version.txt"
    row["code_version"] = version.read_text().strip() if version.is_file() else "unknown"
    row["stale"] = STALE_VALUES[result.freshness]
    machine_file = result.run_dir / "machine.json"
    row["machine"] = describe_machine(json.loads(machine_file.read_text()) if machine_file.is_file() else {})
    row["seconds"] = ev.get("seconds_train", float("nan"))
    if "parsing" in ev:
        row["parsing_mIoU"] = ev["parsing"]["mIoU"]
    if "mAP" in ev:
        row["mAP"] = ev["mAP"]
    return row


def results_path(name: str, scale: str, root: str | Path = "results") -> Path:
    """Where a notebook writes a result file.

    ``cpu``-scale results are the committed ones (``results/NAME``); other scales
    go to ``results/<scale>/NAME`` so a CI (``smoke``) run never overwrites them.
    A relative ``root`` is taken from the project root (not the notebook's folder).
    """
    root = resolve_path(root)
    path = root / name if scale == "cpu" else root / scale / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def runs_frame(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run (experiment, seed): :func:`summary_row`."""
    return pd.DataFrame([summary_row(r) for r in results])


def aggregate(runs: pd.DataFrame, metric: str = "PCK") -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; NaN for one seed), min, max and seed count per experiment.

    Args:
        runs: rows of :func:`runs_frame` (columns ``experiment`` and ``metric``).
        metric: the column to summarise.
    """
    g = runs.groupby("experiment", sort=False)[metric]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "min": g.min(), "max": g.max(),
                        "seeds": g.count()})
    return out.reset_index()


def side_by_side(runs: pd.DataFrame, table: str, metric: str = "PCK", paper_metric: str | None = None,
                 scale: str | None = None) -> pd.DataFrame:
    """Our mean +- std per experiment next to the paper's number for the same row.

    Args:
        runs: rows of :func:`runs_frame`.
        table: paper table, e.g. ``"Table 1"``.
        metric: our column to compare (``PCK`` for LIP).
        paper_metric: the paper's metric name (defaults to ``metric``).
        scale: the scale our runs were made at, written in a ``scale`` column.
    """
    paper = {p.experiment: p for p in paper_numbers(table=table, metric=paper_metric or metric)}
    agg = aggregate(runs, metric).set_index("experiment")
    rows = []
    for exp in agg.index:
        p = paper.get(exp)
        rows.append({
            "experiment": exp,
            "paper row": p.row if p else "",
            f"paper {metric} (paper's number)": p.value if p else np.nan,
            f"ours {metric} mean": agg.loc[exp, "mean"],
            f"ours {metric} std": agg.loc[exp, "std"],
            "seeds": int(agg.loc[exp, "seeds"]),
            "scale": scale or "",
        })
    return pd.DataFrame(rows)


def difference(runs: pd.DataFrame, a: str, b: str, metric: str = "PCK") -> dict:
    """Compare experiment ``a`` with ``b`` over seeds.

    Returns a dict with the mean difference ``a - b``, the per-seed differences
    (seeds present in both), and whether ``a`` beat ``b`` in every seed and by
    more than the seeds' spread (``clear``).
    """
    pa = runs[runs.experiment == a].set_index("seed")[metric]
    pb = runs[runs.experiment == b].set_index("seed")[metric]
    common = sorted(set(pa.index) & set(pb.index))
    per_seed = [float(pa[s] - pb[s]) for s in common]
    mean = float(np.mean(per_seed)) if per_seed else float("nan")
    spread = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else float("nan")
    clear = bool(per_seed) and all(d > 0 for d in per_seed) and (np.isnan(spread) or mean > spread)
    return {"a": a, "b": b, "mean": mean, "per_seed": per_seed, "std": spread, "seeds": common,
            "a_better_every_seed": bool(per_seed) and all(d > 0 for d in per_seed), "clear": clear}


def describe_difference(d: dict, paper_a: float | None = None, paper_b: float | None = None,
                        unit: str = "PCK") -> str:
    """A one-paragraph verdict computed from :func:`difference` (no hand-written claims); ``unit`` names the
    compared metric in the text (``"PCK"``, ``"mAP"``, ``"AUC"``)."""
    seeds = len(d["seeds"])
    text = (f"{d['a']} - {d['b']}: {d['mean']:+.1f} {unit} on our data "
            f"(mean over {seeds} seed(s); per seed: {', '.join(f'{x:+.1f}' for x in d['per_seed'])}).")
    if paper_a is not None and paper_b is not None:
        text += f" The paper reports {paper_a - paper_b:+.1f} ({paper_a} vs {paper_b})."
    if seeds == 0:
        return text + " No common seeds: nothing to compare."
    if seeds == 1:
        verdict = "better" if d["mean"] > 0 else "NOT better"
        return text + f" On our data the first model is {verdict} in the single seed run (no spread to judge by)."
    if d["clear"]:
        text += " On our data the first model is better in every seed, by more than the spread across seeds."
    elif d["a_better_every_seed"]:
        text += " On our data the first model is better in every seed, but by less than the spread across seeds."
    elif d["mean"] > 0:
        text += " On our data the first model is better on average but not in every seed: the claim does not clearly hold."
    else:
        text += " On our data the first model is NOT better: the paper's claim does not hold here."
    return text


#: The criterion for the parsing loss weight beta, written down before any PIL row's PCK was looked at: a model's
#: parsing branch counts as supervised when its mIoU (mean over seeds) is within this many points of the same
#: parsing network trained alone (cross-entropy only, same recipe: the ``calib/parsing-*`` experiments). Only a
#: branch that misses it would justify choosing another beta, and then from the mIoU alone.
PARSING_BRANCH_TOLERANCE = 5.0


def parsing_network_of(model: str) -> str | None:
    """The parsing network inside a registered model, as its parsing-only model is named: ``"Parsing(VGG16)"`` for
    the VGG16 rows, ``"Parsing(HG-1s-2u)"`` for ``"HG-8s-1u-PIL(HG-1s-2u)"``; None for a model without one."""
    if "PIL(" in model:
        return f"Parsing({model.split('PIL(', 1)[1].rstrip(')')})"
    if model.startswith("VGG16-") and model != "VGG16-Self":
        return "Parsing(VGG16)"
    return None


def describe_parsing_branches(runs: pd.DataFrame, alone: pd.DataFrame,
                              tolerance: float = PARSING_BRANCH_TOLERANCE) -> str:
    """A verdict on the parsing side computed from the numbers: each parsing branch's mIoU (mean over seeds)
    beside its parsing network trained alone, and whether every branch meets :data:`PARSING_BRANCH_TOLERANCE`.

    Args:
        runs: rows of :func:`runs_frame` of the table (``parsing_mIoU`` is NaN for rows without parsing).
        alone: rows of :func:`runs_frame` of the parsing-only runs (``calib/parsing-*``) at the same scale.
    """
    if "parsing_mIoU" not in runs.columns:
        return "No row of this table has a parsing branch."
    branches = runs.dropna(subset=["parsing_mIoU"])
    alone_by_net = alone.groupby("model", sort=False).parsing_mIoU
    ref_mean, ref_std = alone_by_net.mean(), alone_by_net.std(ddof=1)
    parts, missed, lines = [], [], []
    for net in ref_mean.index:
        spread = "" if np.isnan(ref_std[net]) else f" +- {ref_std[net]:.1f}"
        lines.append(f"{net} alone (cross-entropy only, same recipe): {ref_mean[net]:.1f}{spread} "
                     f"(mean over {int(alone_by_net.count()[net])} seed(s))")
    for exp, rows in branches.groupby("experiment", sort=False):
        net = parsing_network_of(str(rows.model.iloc[0]))
        mean = float(rows.parsing_mIoU.mean())
        if net in ref_mean.index:
            gap = mean - float(ref_mean[net])
            parts.append(f"{exp.split('/')[-1]} {mean:.1f} ({gap:+.1f})")
            if gap < -tolerance:
                missed.append(exp)
        else:
            parts.append(f"{exp.split('/')[-1]} {mean:.1f} (no parsing-only run of {net})")
    text = ("Parsing mIoU on our val split, mean over seeds. " + "; ".join(lines) + ". Parsing branches "
            "(difference to their network alone): " + ", ".join(parts) + ".")
    if not parts:
        return text
    if missed:
        return text + (f" Beyond {tolerance:.0f} points below their network alone: {', '.join(missed)}: the "
                       "parsing loss weight beta starves these branches (criterion fixed before any PCK was read).")
    return text + (f" Every branch is within {tolerance:.0f} points of its network alone, so the parsing loss "
                   "weight beta is not what limits the parsing side; the network and the training budget are.")


# ---------------------------------------------------------------------------- Table 2: PIL across hourglass depths
#: A stacked hourglass's name starts ``HG-<stacks>s-<units>u``; in ``HG-4s-2u-PIL(HG-1s-2u)`` that is the pose network.
_HOURGLASS = re.compile(r"^HG-(\d+)s-(\d+)u")


def hourglass_depth(model: str) -> tuple[int, int]:
    """(stacks, units) of a model's pose hourglass: ``(4, 2)`` for ``"HG-4s-2u"`` and for
    ``"HG-4s-2u-PIL(HG-1s-2u)"``.

    Raises:
        ValueError: the model's pose network is not a stacked hourglass (e.g. ``"VGG16-PIL(VGG16)"``).
    """
    match = _HOURGLASS.match(model)
    if match is None:
        raise ValueError(f"{model!r}: not a stacked hourglass (expected a name starting HG-<m>s-<n>u)")
    return int(match.group(1)), int(match.group(2))


def pil_pairs(experiments: Iterable[str]) -> list[tuple[str, str]]:
    """(backbone, PIL) experiment pairs, in the given order: every ``X`` listed together with ``X-pil``
    (``("table2/hg-2s-1u", "table2/hg-2s-1u-pil")``)."""
    names = list(experiments)
    return [(name, f"{name}-pil") for name in names if f"{name}-pil" in names]


def parameter_count(cfg: ExperimentConfig) -> int:
    """Parameters of a config's model (its width, heads and adapter as resolved at its scale), built on the
    ``meta`` device: shapes only, no memory and no initialisation, so a paper-width model costs nothing."""
    with torch.device("meta"):
        model = create_model(cfg.model.name, **cfg.model.overrides())
    return sum(p.numel() for p in model.parameters())


def train_images_per_epoch(cfg: ExperimentConfig, n_train: int | None = None) -> int:
    """Training images one epoch of ``cfg`` sees: whole batches only (the training loader drops the last partial
    batch), at most ``train.steps_per_epoch`` of them.

    Args:
        cfg: the run's config.
        n_train: the training split's size; default the config's synthetic ``n_train`` (a real dataset's size is
            not part of the config: pass ``piltools.planning.split_sizes(cfg)[0]``).

    Raises:
        ValueError: real data and no ``n_train``.
    """
    if n_train is None:
        if cfg.data.synthetic is None:
            raise ValueError(f"{cfg.name}: real data, whose size the config does not hold; pass n_train "
                             "(piltools.planning.split_sizes(cfg)[0])")
        n_train = cfg.data.synthetic.n_train
    steps = n_train // cfg.train.batch_size
    if cfg.train.steps_per_epoch is not None:
        steps = min(steps, cfg.train.steps_per_epoch)
    return steps * cfg.train.batch_size


def seconds_per_image(result: RunResult, n_train: int | None = None) -> float:
    """Training wall seconds per training image of a finished run, from its recorded per-epoch times: the median
    over epochs of ``metrics.csv``'s ``seconds`` over :func:`train_images_per_epoch` (the median keeps one epoch
    slowed by a neighbouring process from moving it). An epoch's seconds include the quick validation that
    follows it (a forward pass over the val split, no flip), so this slightly overstates pure training time.
    NaN for a run without per-epoch rows."""
    seconds = [row["seconds"] for row in result.metrics if not math.isnan(row.get("seconds", math.nan))]
    if not seconds:
        return float("nan")
    return float(np.median(seconds)) / train_images_per_epoch(result.config, n_train)


def run_costs(results: Iterable[RunResult], n_train: int | None = None) -> pd.DataFrame:
    """One row per run: ``experiment, model, seed``, ``width`` (the model's width at the run's scale),
    ``params`` (its parameter count at that scale), ``params_paper`` (the same experiment's model at the
    ``paper`` scale: full width), ``seconds_per_image`` (:func:`seconds_per_image`).

    Args:
        results: finished runs.
        n_train: training split size for real-data runs (see :func:`train_images_per_epoch`).
    """
    counts: dict[tuple[str, str], int] = {}

    def count(name: str, scale: str, cfg: ExperimentConfig | None = None) -> int:
        if (name, scale) not in counts:
            counts[name, scale] = parameter_count(cfg or get_experiment(name, scale))
        return counts[name, scale]

    rows = []
    for r in results:
        cfg = r.config
        rows.append({"experiment": cfg.name, "model": cfg.model.name, "seed": cfg.seed, "width": cfg.model.width,
                     "params": count(cfg.name, cfg.scale, cfg), "params_paper": count(cfg.name, "paper"),
                     "seconds_per_image": seconds_per_image(r, n_train)})
    return pd.DataFrame(rows)


def cost_summary(runs: pd.DataFrame, costs: pd.DataFrame, metric: str = "PCK") -> pd.DataFrame:
    """Per experiment (in ``runs``' order): :func:`aggregate` of ``metric`` (``mean, std, min, max, seeds``)
    beside ``model, width, params, params_paper`` and ``seconds_per_image`` (mean over seeds) of
    :func:`run_costs`."""
    per_exp = costs.groupby("experiment", sort=False).agg(
        model=("model", "first"), width=("width", "first"), params=("params", "first"),
        params_paper=("params_paper", "first"), seconds_per_image=("seconds_per_image", "mean"))
    return aggregate(runs, metric).merge(per_exp.reset_index(), on="experiment", how="left")


def pil_gains(runs: pd.DataFrame, pairs: list[tuple[str, str]], metric: str = "PCK") -> pd.DataFrame:
    """PIL minus its backbone per pair, with the backbone's depth and the paper's gain.

    Returns one row per pair (in ``pairs``' order): ``backbone, pil, stacks, units``, ``depth`` (stacks x units:
    residual units stacked along the pose network), ``mean, std`` (of the per-seed gains; std NaN for one seed),
    ``per_seed, seeds`` (lists, seeds present in both), ``every_seed`` (PIL better in every seed), ``clear``
    (and by more than the spread: :func:`difference`), ``paper`` (the paper's gain; NaN where it prints none).
    The model names come from ``runs``' ``model`` column.
    """
    rows = []
    for base, pil in pairs:
        d = difference(runs, pil, base, metric)
        stacks, units = hourglass_depth(str(runs.loc[runs.experiment == base, "model"].iloc[0]))
        try:
            paper = paper_value(pil, metric) - paper_value(base, metric)
        except KeyError:
            paper = float("nan")
        rows.append({"backbone": base, "pil": pil, "stacks": stacks, "units": units, "depth": stacks * units,
                     "mean": d["mean"], "std": d["std"], "per_seed": d["per_seed"], "seeds": d["seeds"],
                     "every_seed": d["a_better_every_seed"], "clear": d["clear"], "paper": paper})
    return pd.DataFrame(rows)


def _short(experiment: str) -> str:
    """``"table2/hg-2s-1u-pil"`` -> ``"hg-2s-1u-pil"``."""
    return experiment.split("/")[-1]


def _signed(values: Iterable[float]) -> str:
    return ", ".join(f"{v:+.1f}" for v in values)


def describe_pil_every_depth(gains: pd.DataFrame) -> str:
    """Verdict on "PIL beats its backbone at every depth", computed from :func:`pil_gains`: each depth's gain with
    its per-seed values beside the paper's, then whether PIL is better at every depth, in every seed, and by more
    than the seeds' spread."""
    seeds = min((len(s) for s in gains.seeds), default=0)
    parts = [f"{_short(r.backbone)} {r.mean:+.1f} (per seed {_signed(r.per_seed)}; paper {r.paper:+.1f})"
             for r in gains.itertuples()]
    text = f"PIL minus its backbone, PCK over {seeds} seed(s): " + "; ".join(parts) + "."
    if seeds == 0:
        return text + " No common seeds: nothing to judge."
    better = [r for r in gains.itertuples() if r.mean > 0]
    every = [r for r in gains.itertuples() if r.every_seed]
    clear = [r for r in gains.itertuples() if r.clear]
    n = len(gains)
    if seeds == 1:
        return text + (f" PIL is better at {len(better)} of {n} depths in the single seed run (no spread to judge "
                       f"by).")
    if len(clear) == n:
        return text + f" PIL is better at all {n} depths in every seed, by more than the spread across seeds."
    if len(every) == n:
        weak = ", ".join(_short(r.backbone) for r in gains.itertuples() if not r.clear)
        return text + (f" PIL is better at all {n} depths in every seed, but by less than the seeds' spread at "
                       f"{weak}.")
    missed = ", ".join(_short(r.backbone) for r in gains.itertuples() if not r.every_seed)
    return text + (f" PIL is better in every seed at {len(every)} of {n} depths and on average at {len(better)}; "
                   f"not in every seed at {missed}: the claim does not hold at every depth on our data.")


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x`` (NaN when ``x`` has fewer than two distinct values)."""
    if len(np.unique(x)) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def _rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's on the ranks, ties sharing their mean rank (NaN if one is
    constant)."""
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def gain_trend(gains: pd.DataFrame) -> dict[str, Any]:
    """How PIL's gain moves with the backbone's depth, from :func:`pil_gains`.

    Depth is ``log2(stacks x units)`` (0, 1, 3, 3 for HG-1s-1u, -2s-1u, -4s-2u, -8s-1u). Returns ``slopes`` (one
    least-squares slope of gain on that depth per seed common to all pairs, in PCK per doubling), ``seeds``,
    ``mean_slope``, ``std_slope`` (ddof=1; NaN for one seed), ``shrinks_in`` (seeds with a negative slope),
    ``rho`` (rank correlation of the mean gain with depth; -1 = strictly shrinking), and the same slope and
    rank correlation of the paper's gains (``paper_slope``, ``paper_rho``).
    """
    x = np.log2(gains.depth.to_numpy(dtype=float))
    common = sorted(set.intersection(*(set(s) for s in gains.seeds))) if len(gains) else []
    by_seed = [dict(zip(s, g)) for s, g in zip(gains.seeds, gains.per_seed)]
    slopes = [_slope(x, np.array([b[seed] for b in by_seed])) for seed in common]
    paper = gains.paper.to_numpy(dtype=float)
    known = ~np.isnan(paper)
    return {"seeds": common, "slopes": slopes,
            "mean_slope": float(np.mean(slopes)) if slopes else float("nan"),
            "std_slope": float(np.std(slopes, ddof=1)) if len(slopes) > 1 else float("nan"),
            "shrinks_in": sum(s < 0 for s in slopes),
            "rho": _rank_correlation(x, gains["mean"].to_numpy(dtype=float)),
            "paper_slope": _slope(x[known], paper[known]), "paper_rho": _rank_correlation(x[known], paper[known])}


def describe_gain_trend(gains: pd.DataFrame) -> str:
    """Verdict on "the gain shrinks with depth", computed from :func:`gain_trend`: the gain per depth with its
    spread, the per-seed slopes, the rank correlation, the paper's, and whether the trend stands out of the noise
    (negative in every seed, and the mean slope larger than the slopes' spread)."""
    t = gain_trend(gains)
    per_depth = "; ".join(
        f"{_short(r.backbone)} (depth {r.depth}) {r.mean:+.1f}" + ("" if np.isnan(r.std) else f" +- {r.std:.1f}")
        for r in gains.itertuples())
    text = (f"Gain per depth (stacks x units), mean +- std over seeds: {per_depth}. Slope of the gain on log2 depth "
            f"(PCK per doubling), per seed: {_signed(t['slopes'])}; rank correlation of the mean gain with depth "
            f"{t['rho']:+.2f}. The paper's gains {_signed(gains.paper)} give a slope of {t['paper_slope']:+.1f} "
            f"and a rank correlation of {t['paper_rho']:+.2f}.")
    n = len(t["slopes"])
    if n == 0 or np.isnan(t["mean_slope"]):
        return text + " Too few depths or seeds to judge a trend."
    if n == 1:
        word = "shrinks" if t["mean_slope"] < 0 else "does NOT shrink"
        return text + f" In the single seed run the gain {word} with depth (no spread to judge by)."
    summary = f" Mean slope {t['mean_slope']:+.1f} +- {t['std_slope']:.1f} over {n} seeds."
    if t["shrinks_in"] == n and -t["mean_slope"] > t["std_slope"]:
        return text + summary + " The gain shrinks with depth in every seed, by more than the seeds' spread."
    if t["shrinks_in"] == n:
        return text + summary + (" The gain shrinks with depth in every seed, but the slopes vary by more than "
                                 "their mean: a weak trend.")
    if t["mean_slope"] < 0:
        return text + summary + (f" The gain shrinks on average but only in {t['shrinks_in']} of {n} seeds: "
                                 "within the noise, the claim does not clearly hold.")
    return text + summary + " The gain does NOT shrink with depth on our data: the paper's trend does not hold here."


def _millions(n: float) -> str:
    return f"{n / 1e6:.3g}M"


def describe_size_comparison(runs: pd.DataFrame, summary: pd.DataFrame, a: str, b: str,
                             paper_a: float | None = None, paper_b: float | None = None,
                             tolerance: float = 0.1) -> str:
    """Verdict on "``a`` beats ``b`` at a similar size": :func:`describe_difference` of the two, beside their
    parameter counts at the runs' scale and at the paper's width and their training seconds per image
    (:func:`cost_summary` rows), and what the comparison is worth: size-matched when both ratios are within
    ``tolerance`` (10%) of 1, else a comparison at ``a``'s larger (or smaller) budget."""
    text = describe_difference(difference(runs, a, b), paper_a, paper_b)
    ra, rb = (summary.set_index("experiment").loc[e] for e in (a, b))
    params, paper, time = (ra.params / rb.params, ra.params_paper / rb.params_paper,
                           ra.seconds_per_image / rb.seconds_per_image)
    text += (f" Size: {_short(a)} has {_millions(ra.params)} parameters at the runs' width ({ra.width}) and "
             f"{_millions(ra.params_paper)} at the paper's, {_millions(rb.params)} and {_millions(rb.params_paper)} "
             f"for {_short(b)}: {params:.2f}x and {paper:.2f}x. Training time per image "
             f"{1e3 * ra.seconds_per_image:.1f} vs {1e3 * rb.seconds_per_image:.1f} ms ({time:.2f}x).")
    larger = [f"{r - 1:+.0%} {what}" for r, what in ((paper, "parameters at the paper's width"),
                                                    (params, "parameters at the runs' width"),
                                                    (time, "training time per image"))
              if not np.isnan(r) and abs(r - 1) > tolerance]
    if not larger:
        return text + f" The two are matched within {tolerance:.0%} on all three: a fair comparison of size."
    better = difference(runs, a, b)["mean"] > 0
    return text + (f" So the two are not size-matched ({_short(a)}: {', '.join(larger)}): " +
                   (f"{_short(a)}'s lead is bought with that budget, not at an equal one; the budget comparison "
                    "puts every model at its cost." if better else
                    f"{_short(a)} does not lead even with that budget."))


def describe_budget(runs: pd.DataFrame, summary: pd.DataFrame, pairs: list[tuple[str, str]], cost: str,
                    unit: str, scale: float = 1.0, metric: str = "PCK") -> str:
    """Which is the better use of a budget, PIL or a plain (deeper) hourglass? Computed from the numbers.

    Each PIL model P sets a budget, its cost (``cost`` column of :func:`cost_summary`). The plain hourglasses
    (the backbones of ``pairs``) that budget affords are those costing no more; the best of them (highest mean) is
    the alternative to P: P minus it per seed (:func:`difference`), and the cheapest plain hourglass whose mean
    reaches P's. A budget goes to PIL when P beats the best affordable plain hourglass in every seed, to the plain
    hourglass when that beats P in every seed, else it is undecided (within the seeds' noise).

    Args:
        runs: rows of :func:`runs_frame`.
        summary: :func:`cost_summary` of those runs.
        pairs: :func:`pil_pairs`.
        cost: ``"params"``, ``"params_paper"`` or ``"seconds_per_image"``.
        unit: how a cost is printed after scaling (``"M parameters"``, ``"ms per image"``).
        scale: multiplies a cost for printing (``1e-6`` for millions, ``1e3`` for milliseconds).
    """
    s = summary.set_index("experiment")
    plain = [base for base, _ in pairs]
    lines, verdicts = [], []
    for _, pil in pairs:
        budget = s.loc[pil, cost]
        within = [p for p in plain if s.loc[p, cost] <= budget]
        if np.isnan(budget) or not within:
            lines.append(f"{_short(pil)}: no cost recorded or no plain hourglass within its budget.")
            verdicts.append("undecided")
            continue
        best = max(within, key=lambda p: s.loc[p, "mean"])
        d = difference(runs, pil, best, metric)
        reach = [p for p in plain if s.loc[p, "mean"] >= s.loc[pil, "mean"]]
        cheapest = min(reach, key=lambda p: s.loc[p, cost]) if reach else None
        if d["per_seed"] and all(x > 0 for x in d["per_seed"]):
            verdicts.append("PIL")
        elif d["per_seed"] and all(x < 0 for x in d["per_seed"]):
            verdicts.append("plain")
        else:
            verdicts.append("undecided")
        matched = ("no plain hourglass we trained reaches its mean" if cheapest is None else
                   f"the cheapest plain hourglass reaching its mean is {_short(cheapest)} at "
                   f"{s.loc[cheapest, cost] * scale:.3g} ({s.loc[cheapest, cost] / budget:.2f}x)")
        lines.append(f"{_short(pil)} ({budget * scale:.3g} {unit}): the best plain hourglass it affords is "
                     f"{_short(best)} ({s.loc[best, cost] * scale:.3g}); difference {d['mean']:+.1f} PCK "
                     f"(per seed {_signed(d['per_seed'])}); {matched}.")
    n, won, lost = len(verdicts), verdicts.count("PIL"), verdicts.count("plain")
    seeds = int(runs[runs.experiment.isin(s.index)].groupby("experiment").seed.count().min())
    text = f"Budget in {unit}. " + " ".join(lines)
    text += (f" Over {seeds} seed(s), PIL is the better use of the budget at {won} of {n} budgets (better in every "
             f"seed than the best plain hourglass of no greater cost), the plain hourglass at {lost}, undecided at "
             f"{n - won - lost}.")
    if won == n:
        return text + " On our data, PIL is the better use of this budget at every size we trained."
    if lost == n:
        return text + (" On our data, the plain hourglass the budget affords is the better use of it at every size "
                       "we trained.")
    if won > lost:
        return text + " On our data, PIL is the better use of this budget more often than depth, not everywhere."
    if lost > won:
        return text + " On our data, the plain hourglass the budget affords is better more often than PIL."
    return text + " On our data, neither is clearly the better use of this budget."


def plot_side_by_side(runs: pd.DataFrame, table: str, metric: str = "PCK", order: list[str] | None = None,
                      title: str = "", ax=None):
    """Dot per seed, bar for our mean, and a hollow diamond for the paper's number, per experiment."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order = order or list(dict.fromkeys(runs["experiment"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * len(order) + 2.5, 4.2))
    sns.barplot(data=runs, x="experiment", y=metric, order=order, errorbar=None, color="#9ecae1",
                ax=ax, label="ours (mean over seeds)")
    sns.stripplot(data=runs, x="experiment", y=metric, order=order, color="#08519c", size=5, jitter=0.15,
                  ax=ax, label="ours (one seed)")
    paper = {p.experiment: p.value for p in paper_numbers(table=table, metric=metric)}
    xs = [i for i, e in enumerate(order) if e in paper]
    ax.scatter(xs, [paper[order[i]] for i in xs], marker="D", s=60, facecolors="none", edgecolors="#d62728",
               linewidths=1.8, zorder=5, label="paper's number (real LIP)")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([e.split("/")[-1] for e in order], rotation=30, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return ax


#: Colours of the two Table 2 series (plain hourglass, with PIL) and of the paper's numbers in the figures.
SERIES_COLOURS = {"plain": "#08519c", "PIL": "#d95f0e", "paper": "#d62728"}


def _seed_offsets(seeds: list[int], width: float = 0.12) -> dict[int, float]:
    """A fixed horizontal offset per seed (no random jitter: the figure is the same on every machine)."""
    order = sorted(seeds)
    return {seed: (i - (len(order) - 1) / 2) * width / max(len(order) - 1, 1) for i, seed in enumerate(order)}


def plot_depth(runs: pd.DataFrame, pairs: list[tuple[str, str]], metric: str = "PCK", title: str = "", axes=None):
    """Two panels over the backbones in ``pairs``' order (x labelled with stacks x units): left, ours (a dot per
    seed, a line through the means) without and with PIL; right, the paper's numbers for the same rows, kept on
    their own axes (real LIP, not comparable in value)."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    ours, theirs = axes
    labels = []
    for base, _ in pairs:
        stacks, units = hourglass_depth(str(runs.loc[runs.experiment == base, "model"].iloc[0]))
        labels.append(f"{stacks}s-{units}u\n({stacks}x{units}={stacks * units})")
    xs = np.arange(len(pairs))
    offsets = _seed_offsets(sorted(runs.seed.unique()))
    paper = {p.experiment: p.value for p in paper_numbers(metric=metric)}
    for series, names in (("plain", [b for b, _ in pairs]), ("PIL", [p for _, p in pairs])):
        colour = SERIES_COLOURS[series]
        name = "hourglass" if series == "plain" else "hourglass + PIL"
        rows = runs[runs.experiment.isin(names)]
        x_of = {e: x for e, x in zip(names, xs)}
        ours.scatter([x_of[e] + offsets[s] for e, s in zip(rows.experiment, rows.seed)], rows[metric], s=18,
                     color=colour, alpha=0.55, label=f"ours, {name} (one seed)")
        means = rows.groupby("experiment")[metric].mean().reindex(names)
        ours.plot(xs, means.to_numpy(), "-o", color=colour, label=f"ours, {name} (mean over seeds)")
        values = [paper.get(e, np.nan) for e in names]
        theirs.plot(xs, values, "--D", color=colour, markerfacecolor="none", markeredgecolor=colour,
                    label=f"paper's number, {name}")
    for ax, what in ((ours, "ours (synthetic LIP-format data)"), (theirs, "the paper's numbers (real LIP)")):
        ax.set_xticks(xs)
        ax.set_xticklabels(labels)
        ax.set_xlabel("pose hourglass: stacks-units (stacks x units)")
        ax.set_ylabel(f"{metric} (%)")
        ax.set_title(what, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    if title:
        ours.figure.suptitle(title)
    return axes


def plot_budget(runs: pd.DataFrame, costs: pd.DataFrame, summary: pd.DataFrame, pairs: list[tuple[str, str]],
                panels: tuple[tuple[str, str, float, bool], ...] = (
                    ("params", "parameters at the runs' width (millions)", 1e-6, True),
                    ("seconds_per_image", "training time per image (ms, from the runs' records)", 1e3, False)),
                metric: str = "PCK", title: str = "", axes=None):
    """PCK against cost, one panel per ``(cost column, axis label, scale, log axis)`` of ``panels``: a dot per run,
    a marker per model's mean joined in depth order for the plain and the PIL series, and a grey arrow from each
    backbone to its PIL model (what PIL buys at what cost).

    Args:
        runs: rows of :func:`runs_frame`; costs: :func:`run_costs` of the same runs; summary: :func:`cost_summary`.
        pairs: :func:`pil_pairs`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.4), squeeze=False)
        axes = axes[0]
    per_run = runs[["experiment", "seed", metric]].merge(costs, on=["experiment", "seed"])
    s = summary.set_index("experiment")
    for ax, (cost, label, scale, log) in zip(axes, panels):
        for series, names in (("plain", [b for b, _ in pairs]), ("PIL", [p for _, p in pairs])):
            colour = SERIES_COLOURS[series]
            name = "hourglass" if series == "plain" else "hourglass + PIL"
            rows = per_run[per_run.experiment.isin(names)]
            ax.scatter(rows[cost] * scale, rows[metric], s=14, color=colour, alpha=0.45,
                       label=f"{name} (one seed)")
            ax.plot(s.loc[names, cost] * scale, s.loc[names, "mean"], "-o", color=colour,
                    label=f"{name} (mean over seeds)")
            for e in names:
                ax.annotate(_short(e).replace("hg-", ""), (s.loc[e, cost] * scale, s.loc[e, "mean"]), fontsize=7,
                            xytext=(4, -10 if series == "plain" else 5), textcoords="offset points", color=colour)
        for base, pil in pairs:
            ax.annotate("", xy=(s.loc[pil, cost] * scale, s.loc[pil, "mean"]),
                        xytext=(s.loc[base, cost] * scale, s.loc[base, "mean"]),
                        arrowprops={"arrowstyle": "->", "color": "0.6", "lw": 1})
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.1, 0.2, 0.5, 1, ...
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel(f"{metric} (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    if title:
        axes[0].figure.suptitle(title)
    return axes


# ----------------------------------------------------------------------------
# Table 3: parsing quality against pose accuracy, and its controls
# ----------------------------------------------------------------------------
#: The role of each Table 3 run in :func:`table3_frame`: a learned-parsing row (``"parsing depth"``), the pose
#: network without PIL (``"baseline"``), or one of the controls beyond the paper.
CONTROL_ROLES: dict[str, str] = {"table3/oracle-parsing": "oracle parsing",
                                 "table3/no-parsing-loss": "beta = 0",
                                 "table3/shuffled-kernels": "shuffled kernels"}
#: Resamples and seed of the bootstrap interval of :func:`parsing_pose_correlation` (fixed: the same interval on
#: every machine).
BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 2000, 0


def table3_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of notebook 03 with their ``role`` and the ``parsing_units`` of their parsing network.

    Args:
        runs: rows of :func:`runs_frame` of Table 3 at one scale (its four parsing depths, its baseline row) and
            of its controls (:data:`CONTROL_ROLES`).

    Returns:
        A copy with ``role`` (``"parsing depth"``, ``"baseline"`` or a control) and ``parsing_units`` (1, 2, 4, 8;
        NaN for the baseline); the controls' parsing network is HG-1s-2u.
    """
    out = runs.copy()
    units = []
    roles = []
    for exp, model in zip(out.experiment, out.model):
        net = parsing_network_of(str(model))
        units.append(float(net.split("-")[-1].rstrip("u)")) if net else np.nan)
        roles.append(CONTROL_ROLES.get(exp, "parsing depth" if net else "baseline"))
    out["role"] = roles
    out["parsing_units"] = units
    return out


def table3_side_by_side(frame: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Table 3 as the paper prints it (a row per parsing depth: mIoU and PCK, and the baseline's PCK), ours
    (mean +- std over seeds) beside the paper's numbers, then the controls (no paper number: beyond the paper).

    Args:
        frame: :func:`table3_frame`.
        scale: the scale of our runs.
    """
    paper = {(p.row, p.metric): p.value for p in paper_numbers(table="Table 3")}
    rows = []
    for (role, units), g in frame.groupby(["role", "parsing_units"], sort=False, dropna=False):
        if role == "parsing depth":
            label = f"HG-1s-{int(units)}u"
        elif role == "baseline":
            label = "Baseline (HG-4s-2u)"
        else:
            label = None
        rows.append({
            "row": label or role, "experiment": g.experiment.iloc[0], "model": g.model.iloc[0],
            "paper mIoU (paper's number)": paper.get((label, "mIoU"), np.nan),
            "ours mIoU mean": g.parsing_mIoU.mean(), "ours mIoU std": g.parsing_mIoU.std(ddof=1),
            "paper PCK (paper's number)": paper.get((label, "PCK"), np.nan),
            "ours PCK mean": g.PCK.mean(), "ours PCK std": g.PCK.std(ddof=1),
            "seeds": int(g.seed.count()), "scale": scale,
        })
    return pd.DataFrame(rows)


def parsing_pose_correlation(frame: pd.DataFrame) -> dict[str, Any]:
    """Does PCK rise with parsing mIoU? Spearman's rank correlation over the learned-parsing runs (one point per
    run), with a percentile bootstrap interval (runs resampled with replacement, :data:`BOOTSTRAP_RESAMPLES`
    resamples, seed :data:`BOOTSTRAP_SEED`), and the same correlation of the paper's four points.

    Returns:
        ``{"rho", "low", "high" (the 95% interval), "n" (runs), "paper_rho", "per_seed" (rho within each seed's
        runs)}``.
    """
    learned = frame[frame.role == "parsing depth"].dropna(subset=["parsing_mIoU", "PCK"])
    x, y = learned.parsing_mIoU.to_numpy(dtype=float), learned.PCK.to_numpy(dtype=float)
    rho = _rank_correlation(x, y) if len(x) > 1 else float("nan")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    boot = []
    for _ in range(BOOTSTRAP_RESAMPLES if len(x) > 2 else 0):
        pick = rng.integers(0, len(x), len(x))
        boot.append(_rank_correlation(x[pick], y[pick]))
    boot = np.array([b for b in boot if not np.isnan(b)])
    low, high = (np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan))
    paper = [(p.row, p.metric, p.value) for p in paper_numbers(table="Table 3")]
    miou = {row: v for row, m, v in paper if m == "mIoU"}
    pck = {row: v for row, m, v in paper if m == "PCK"}
    rows = sorted(miou)
    paper_rho = _rank_correlation(np.array([miou[r] for r in rows]), np.array([pck[r] for r in rows]))
    per_seed = {int(s): _rank_correlation(g.parsing_mIoU.to_numpy(dtype=float), g.PCK.to_numpy(dtype=float))
                for s, g in learned.groupby("seed") if len(g) > 1}
    return {"rho": rho, "low": float(low), "high": float(high), "n": len(x), "paper_rho": paper_rho,
            "per_seed": per_seed}


def describe_parsing_pose_correlation(frame: pd.DataFrame) -> str:
    """A verdict computed from :func:`parsing_pose_correlation`: the per-depth means, the correlation with its
    interval and the paper's. "PCK rises with mIoU" needs the whole 95% interval above 0."""
    c = parsing_pose_correlation(frame)
    learned = frame[frame.role == "parsing depth"]
    means = learned.groupby("parsing_units")[["parsing_mIoU", "PCK"]].mean()
    text = ("Learned parsing, mean over seeds (parsing network: mIoU -> PCK): "
            + "; ".join(f"HG-1s-{int(u)}u: {r.parsing_mIoU:.1f} -> {r.PCK:.1f}" for u, r in means.iterrows()) + ". ")
    if c["n"] < 3 or np.isnan(c["rho"]):
        return text + f"Too few runs ({c['n']}) for a rank correlation."
    text += (f"Rank correlation of PCK with parsing mIoU over the {c['n']} runs: {c['rho']:+.2f} "
             f"(95% bootstrap interval {c['low']:+.2f} .. {c['high']:+.2f}; within each seed: "
             + ", ".join(f"{r:+.2f}" for r in c["per_seed"].values())
             + f"). The paper's four points have {c['paper_rho']:+.2f}. ")
    if c["low"] > 0:
        return text + "On our data PCK rises with parsing quality: the interval lies above 0."
    if c["high"] < 0:
        return text + "On our data PCK FALLS as parsing quality rises: the interval lies below 0."
    return text + ("On our data the rise of PCK with parsing quality is not established: the interval includes 0 "
                   "(the paper's claim is not confirmed here).")


def describe_controls(frame: pd.DataFrame, learned: str, baseline: str) -> tuple[str, dict[str, dict]]:
    """Where the controls sit, computed from the numbers, each with its per-seed differences
    (:func:`difference`).

    Args:
        frame: :func:`table3_frame`.
        learned: the learned-parsing row the controls share their parsing network with (HG-1s-2u).
        baseline: the pose network without PIL.

    Returns:
        ``(text, comparisons)``: a line per comparison, and its :func:`difference` (``a - b``) under the
        explanation it tests: ``"pil_helps"`` (learned row - baseline), ``"oracle_helps"`` (oracle - learned),
        ``"supervision_matters"`` (learned - beta = 0), ``"kernels_specific"`` (own kernels - shuffled
        kernels, the same trained models), ``"kernels_help_without_parsing"`` (beta = 0 - baseline). Read them
        with :func:`supports`.
    """
    by_role = {role: frame[frame.role == role].experiment.iloc[0] for role in CONTROL_ROLES.values()
               if (frame.role == role).any()}
    tests = [("pil_helps", learned, baseline, "learned parsing vs no PIL"),
             ("oracle_helps", by_role.get("oracle parsing"), learned, "oracle parsing vs learned parsing"),
             ("supervision_matters", learned, by_role.get("beta = 0"), "learned parsing vs beta = 0"),
             ("kernels_specific", learned, by_role.get("shuffled kernels"),
              "own kernels vs shuffled kernels (same trained models)"),
             ("kernels_help_without_parsing", by_role.get("beta = 0"), baseline, "beta = 0 vs no PIL")]
    lines, comparisons = [], {}
    for key, a, b, what in tests:
        if a is None or b is None:
            continue
        comparisons[key] = difference(frame, a, b)
        lines.append(f"- {what}: {describe_difference(comparisons[key])}")
    return "\n".join(lines), comparisons


def supports(d: dict) -> bool:
    """Whether a :func:`difference` supports its explanation: ``a`` better than ``b`` in every seed by more than
    the spread, over two seeds or more (one seed has no spread to judge by)."""
    return bool(d["clear"]) and len(d["seeds"]) > 1


def describe_explanations(comparisons: dict[str, dict], rises_with_parsing: bool) -> str:
    """Which of the paper's explanations the numbers support, one sentence each with its mean difference, from
    :func:`describe_controls`' comparisons and whether PCK rises with parsing mIoU
    (:func:`parsing_pose_correlation`'s interval above 0)."""
    def gap(key: str) -> str:
        return f"{comparisons[key]['mean']:+.1f} PCK"

    out = []
    if "pil_helps" in comparisons:
        out.append(f"PIL improves the pose network ({gap('pil_helps')}): "
                   + ("yes, in every seed by more than the spread." if supports(comparisons["pil_helps"])
                      else "not clearly."))
    out.append("Better parsing gives better pose (the paper's Table 3): "
               + ("supported: PCK rises with mIoU." if rises_with_parsing else
                  "not supported on our data: PCK does not clearly rise with mIoU across parsing depths."))
    if "oracle_helps" in comparisons:
        out.append(f"Perfect parsing would help more than our learned parsing ({gap('oracle_helps')}): "
                   + ("yes, the oracle is clearly better: parsing quality limits what PIL gets here."
                      if supports(comparisons["oracle_helps"]) else
                      "no, the oracle is not clearly better, so parsing quality is not what limits PIL here."))
    if "supervision_matters" in comparisons:
        out.append(f"The gain needs parsing supervision (learned - beta = 0: {gap('supervision_matters')}): "
                   + ("yes, beta = 0 is clearly worse." if supports(comparisons["supervision_matters"]) else
                      "no, beta = 0 is not clearly worse: at this parsing quality, dynamic kernels from an image "
                      "network without parsing labels do as well."))
    if "kernels_specific" in comparisons:
        d = comparisons["kernels_specific"]
        if supports(d):
            size = ""
            if "pil_helps" in comparisons and abs(d["mean"]) < abs(comparisons["pil_helps"]["mean"]) / 2:
                size = (f", but the drop is less than half of what PIL adds over no PIL "
                        f"({gap('pil_helps')}): most of the gain does not depend on whose kernels they are")
            out.append(f"The kernels are specific to the image ({gap('kernels_specific')} with its own): yes, PCK "
                       f"drops in every seed with another image's kernels{size}.")
        else:
            out.append(f"The kernels are specific to the image ({gap('kernels_specific')} with its own): no clear "
                       "drop with another image's kernels: the pose network does not rely on which image they "
                       "were predicted for.")
    return "\n".join(f"- {s}" for s in out)


def plot_parsing_vs_pose(frame: pd.DataFrame, title: str = "", ax=None):
    """PCK against parsing mIoU, one point per run: the learned-parsing runs coloured by parsing depth, the
    oracle, beta = 0 and shuffled-kernel runs with their own markers, the baseline (no parsing) as a band
    (mean +- std over seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.5))
    base = frame[frame.role == "baseline"].PCK
    if len(base):
        spread = base.std(ddof=1) if len(base) > 1 else 0.0
        ax.axhspan(base.mean() - spread, base.mean() + spread, color="#bdbdbd", alpha=0.5,
                   label=f"no PIL (mean +- std, {len(base)} seed(s))")
        ax.axhline(base.mean(), color="#737373", lw=1)
    learned = frame[frame.role == "parsing depth"].assign(
        parsing=lambda f: [f"HG-1s-{int(u)}u" for u in f.parsing_units])
    sns.scatterplot(data=learned, x="parsing_mIoU", y="PCK", hue="parsing", palette="viridis", s=60, ax=ax,
                    hue_order=sorted(learned.parsing.unique(), key=lambda s: int(s.split("-")[-1][:-1])))
    markers = {"oracle parsing": ("*", "#d62728"), "beta = 0": ("X", "#6a3d9a"), "shuffled kernels": ("v", "#ff7f00")}
    for role, (marker, colour) in markers.items():
        g = frame[frame.role == role]
        if len(g):
            ax.scatter(g.parsing_mIoU, g.PCK, marker=marker, s=110, color=colour, edgecolor="black", linewidth=0.6,
                       label=role, zorder=5)
    ax.set_xlabel("parsing mIoU of the model's own parsing branch (%)")
    ax.set_ylabel("PCK (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


# ----------------------------------------------------------------------------
# Tables 5 and 6: every column of the paper's table, ours beside the paper's headline number
# ----------------------------------------------------------------------------
def paper_table(runs: pd.DataFrame, table: str, columns: tuple[str, ...], headline: str, paper_metric: str,
                std_of: tuple[str, ...] = (), labels: dict[str, str] | None = None, scale: str = "") -> pd.DataFrame:
    """A table shaped as the paper prints it: one row per experiment (in ``runs``' order) with our mean over seeds
    of every column, the spread of some, and the paper's number for the headline column in its own column.

    Only the paper's headline numbers are transcribed (:mod:`piltools.paper`), so the paper's per-joint columns
    are absent rather than guessed.

    Args:
        runs: rows of :func:`runs_frame`.
        table: the paper's table (``"Table 6"``), for its numbers and row labels.
        columns: our columns, in display order.
        headline: the column the paper's number belongs to (``"PCK"`` for Table 6, ``"mAP"`` for Table 5).
        paper_metric: the paper's name of that metric (``"PCKh"``, ``"mAP"``).
        std_of: columns whose standard deviation over seeds (ddof=1; NaN for one seed) follows them as
            ``"<label> std"``.
        labels: display names of our columns (``{"PCK": "PCKh"}``); default the column names.
        scale: the scale of our runs, written in a ``scale`` column.

    Returns:
        Columns ``row`` (the paper's row label; ``"beyond the paper"`` for an experiment the paper lacks),
        ``experiment``, each column's mean under its label, the ``std`` columns, ``"paper <paper_metric> (paper's
        number)"`` right after the headline, ``seeds`` and ``scale``.
    """
    labels = labels or {}
    paper = {p.experiment: p for p in paper_numbers(table=table, metric=paper_metric)}
    rows = []
    for exp, g in runs.groupby("experiment", sort=False):
        p = paper.get(exp)
        row: dict[str, Any] = {"row": p.row if p else "beyond the paper", "experiment": exp}
        for column in columns:
            name = labels.get(column, column)
            row[name] = float(g[column].mean())
            if column in std_of:
                row[f"{name} std"] = float(g[column].std(ddof=1))
            if column == headline:
                row[f"paper {paper_metric} (paper's number)"] = p.value if p else np.nan
        row["seeds"] = int(g.seed.count())
        row["scale"] = scale
        rows.append(row)
    return pd.DataFrame(rows)


def describe_column_gains(runs: pd.DataFrame, a: str, b: str, columns: tuple[str, ...], unit: str,
                          labels: dict[str, str] | None = None) -> str:
    """``a`` minus ``b`` in every column (mean over the seeds both have, with the per-seed values,
    :func:`difference`), and in how many columns ``a`` is better on average and in every seed."""
    labels = labels or {}
    diffs = [(labels.get(c, c), difference(runs, a, b, c)) for c in columns]
    seeds = max((len(d["seeds"]) for _, d in diffs), default=0)
    parts = [f"{name} {d['mean']:+.1f}" + (f" ({_signed(d['per_seed'])})" if len(d["per_seed"]) > 1 else "")
             for name, d in diffs]
    better = sum(d["mean"] > 0 for _, d in diffs)
    every = sum(d["a_better_every_seed"] for _, d in diffs)
    text = (f"{_short(a)} minus {_short(b)}, {unit} per column over {seeds} seed(s) (mean; per seed): "
            + "; ".join(parts) + ".")
    return text + (f" {_short(a)} is better on average in {better} of {len(diffs)} columns"
                   + ("." if seeds < 2 else f", in every seed in {every}."))


def plot_columns(runs: pd.DataFrame, columns: tuple[str, ...], series: dict[str, str], table: str, headline: str,
                 paper_metric: str, labels: dict[str, str] | None = None, ylabel: str = "", title: str = "",
                 ax=None):
    """Our runs column by column (a bar for the mean over seeds, a dot per seed) for each experiment of ``series``
    (experiment -> legend name, in legend order), and the paper's headline numbers as hollow diamonds over their
    experiment's bar in the headline column, labelled as the paper's (real data: not comparable in value)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    labels = labels or {}
    shown = [e for e in series if e in set(runs.experiment)]
    names = [series[e] for e in shown]
    palette = dict(zip(names, SERIES_PALETTE))
    order = [labels.get(c, c) for c in columns]
    long = runs[runs.experiment.isin(shown)].melt(id_vars=["experiment", "seed"], value_vars=list(columns),
                                                  var_name="column", value_name="value")
    long["column"] = long.column.map(lambda c: labels.get(c, c))
    long["series"] = long.experiment.map(series)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(columns) + 3.5, 4.2))
    sns.barplot(data=long, x="column", y="value", hue="series", order=order, hue_order=names, palette=palette,
                errorbar=None, alpha=0.45, ax=ax)
    sns.stripplot(data=long, x="column", y="value", hue="series", order=order, hue_order=names, palette=palette,
                  dodge=True, jitter=False, size=4, ax=ax, legend=False)
    paper = {p.experiment: p.value for p in paper_numbers(table=table, metric=paper_metric)}
    width = 0.8 / len(names)
    x0 = order.index(labels.get(headline, headline))
    xs = [x0 - 0.4 + width * (i + 0.5) for i, e in enumerate(shown) if e in paper]
    ax.scatter(xs, [paper[e] for e in shown if e in paper], marker="D", s=55, facecolors="none",
               edgecolors=SERIES_COLOURS["paper"], linewidths=1.6, zorder=5, label="paper's number (real data)")
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


#: Colours of the series of :func:`plot_columns` and :func:`plot_training_curves`, in series order (without PIL,
#: with PIL, then a control).
SERIES_PALETTE: tuple[str, ...] = ("#08519c", "#d95f0e", "#6a3d9a", "#31a354")


# ----------------------------------------------------------------------------
# Fig. 4: does PIL speed up learning? Training curves per epoch from the runs' metrics.csv
# ----------------------------------------------------------------------------
#: The training accuracy every run is timed to in :func:`learning_speed`: this fraction of the lowest final-epoch
#: training accuracy among the compared runs, so that every run reaches it by its last epoch.
REACH_FRACTION = 0.9


def training_curves(results: Iterable[RunResult]) -> pd.DataFrame:
    """The per-epoch training curves of Fig. 4 from the runs' ``metrics.csv``: one row per run and epoch with
    ``experiment, seed, epoch``, ``train_acc`` (percent of the training batches' joints whose decoded heatmap lies
    within the training-accuracy radius) and ``loss`` (mean training loss of the epoch)."""
    rows = [{"experiment": r.config.name, "seed": r.config.seed, "epoch": int(m["epoch"]),
             "train_acc": float(m.get("train_acc", math.nan)), "loss": float(m.get("loss", math.nan))}
            for r in results for m in r.metrics]
    return pd.DataFrame(rows, columns=["experiment", "seed", "epoch", "train_acc", "loss"])


def reach_epoch(epochs: Iterable[float], values: Iterable[float], target: float) -> float:
    """The epoch at which a curve first reaches ``target``: linearly interpolated between the last epoch below it
    and the first at or above it; the first epoch when the curve starts there; NaN when it never does. NaN values
    are skipped."""
    e = np.asarray(list(epochs), dtype=float)
    v = np.asarray(list(values), dtype=float)
    keep = np.isfinite(v)
    e, v = e[keep], v[keep]
    above = np.flatnonzero(v >= target)
    if len(above) == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(e[0])
    return float(e[i - 1] + (target - v[i - 1]) / (v[i] - v[i - 1]) * (e[i] - e[i - 1]))


def _mean_over_epochs(epochs: pd.Series, values: pd.Series) -> float:
    """The area under a per-epoch curve divided by the epochs it spans (trapezoid rule,
    :func:`piltools.metrics.curve_area`): the curve's mean over training; NaN with fewer than two finite points."""
    keep = values.notna().to_numpy()
    if keep.sum() < 2:
        return float("nan")
    return curve_area(epochs.to_numpy(dtype=float)[keep], values.to_numpy(dtype=float)[keep])


def curve_summaries(curves: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per run of :func:`training_curves`: ``experiment, seed``, ``acc_area`` and ``loss_area`` (the training
    accuracy and the loss averaged over the epochs, :func:`_mean_over_epochs`) and ``reach`` (the epoch at which
    the training accuracy reaches ``target``, :func:`reach_epoch`)."""
    rows = []
    for (exp, seed), g in curves.groupby(["experiment", "seed"], sort=False):
        g = g.sort_values("epoch")
        rows.append({"experiment": exp, "seed": seed, "acc_area": _mean_over_epochs(g.epoch, g.train_acc),
                     "loss_area": _mean_over_epochs(g.epoch, g.loss),
                     "reach": reach_epoch(g.epoch, g.train_acc, target)})
    return pd.DataFrame(rows, columns=["experiment", "seed", "acc_area", "loss_area", "reach"])


def learning_speed(curves: pd.DataFrame, a: str, b: str, fraction: float = REACH_FRACTION) -> dict[str, Any]:
    """Does ``a`` learn faster than ``b``? Three per-seed comparisons (:func:`difference`) of
    :func:`curve_summaries`: ``accuracy`` (a's training accuracy averaged over the epochs minus b's: the area
    between the curves per epoch, percentage points), ``loss`` (b's mean training loss minus a's: positive when
    a's is lower) and ``reach`` (b's epoch of reaching the target minus a's: positive when a gets there sooner).
    The target is ``fraction`` x the lowest final-epoch training accuracy of the two experiments' runs.

    Returns:
        ``{"a", "b", "target", "fraction", "summary" (the curve summaries of both), "accuracy", "loss",
        "reach"}``.
    """
    pair = curves[curves.experiment.isin([a, b])].sort_values("epoch")
    finals = pair.dropna(subset=["train_acc"]).groupby(["experiment", "seed"]).train_acc.last()
    target = fraction * float(finals.min()) if len(finals) else float("nan")
    summary = curve_summaries(pair, target)
    flipped = summary.assign(loss_area=-summary.loss_area, reach=-summary.reach)  # larger = better, for difference
    return {"a": a, "b": b, "target": target, "fraction": fraction, "summary": summary,
            "accuracy": difference(summary, a, b, "acc_area"), "loss": difference(flipped, a, b, "loss_area"),
            "reach": difference(flipped, a, b, "reach")}


def describe_learning_speed(speed: dict[str, Any]) -> str:
    """Verdict on "PIL accelerates learning" (Fig. 4) computed from :func:`learning_speed`: how much higher ``a``'s
    training accuracy runs over the epochs, how much lower its loss, how many epochs sooner it reaches the target
    accuracy, each per seed; "faster" needs both the accuracy and the loss ahead in every seed by more than the
    seeds' spread."""
    a, b, acc, loss, reach = speed["a"], speed["b"], speed["accuracy"], speed["loss"], speed["reach"]
    s = speed["summary"].groupby("experiment").reach.mean()
    seeds = len(acc["seeds"])
    text = (f"{_short(a)} against {_short(b)}, {seeds} seed(s). Training accuracy averaged over the epochs (the area "
            f"between the curves per epoch): {acc['mean']:+.1f} points (per seed {_signed(acc['per_seed'])}). "
            f"Training loss averaged over the epochs, {_short(b)}'s minus {_short(a)}'s (positive: {_short(a)}'s is "
            f"lower): {loss['mean']:+.3g} (per seed {', '.join(f'{x:+.3g}' for x in loss['per_seed'])}). "
            f"Epochs to reach {speed['target']:.1f}% training "
            f"accuracy ({speed['fraction']:.0%} of the lowest final training accuracy of these runs): "
            f"{s.get(a, np.nan):.2f} against {s.get(b, np.nan):.2f}, {reach['mean']:+.2f} epochs sooner (per seed "
            f"{', '.join(f'{x:+.2f}' for x in reach['per_seed'])}).")
    if seeds == 0:
        return text + " No common seeds: nothing to judge."
    if seeds == 1:
        word = "learns faster" if acc["mean"] > 0 and loss["mean"] > 0 else "does NOT clearly learn faster"
        return text + f" In the single seed run {_short(a)} {word} (no spread to judge by)."
    if supports(acc) and supports(loss):
        return text + (f" {_short(a)} learns faster on our data: higher training accuracy and lower training loss "
                       "over the epochs in every seed, by more than the seeds' spread.")
    if supports(acc) or supports(loss):
        ahead = "training accuracy" if supports(acc) else "training loss"
        return text + (f" Only partly faster on our data: ahead in {ahead} in every seed by more than the spread, "
                       "not in the other.")
    return text + (f" Faster learning of {_short(a)} is not established on our data: neither curve is ahead in every "
                   "seed by more than the seeds' spread.")


def plot_training_curves(curves: pd.DataFrame, series: dict[str, str], target: float | None = None,
                         title: str = "", axes=None):
    """Fig. 4: training accuracy and training loss per epoch, one line per experiment of ``series``
    (experiment -> legend name) at the mean over seeds with a band of one standard deviation (no band for one
    seed), and the target accuracy of :func:`learning_speed` as a dotted line."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    shown = [e for e in series if e in set(curves.experiment)]
    data = curves[curves.experiment.isin(shown)].assign(series=lambda f: f.experiment.map(series))
    palette = dict(zip([series[e] for e in shown], SERIES_PALETTE))
    for ax, column, label in ((axes[0], "train_acc", "training accuracy (%)"), (axes[1], "loss", "training loss")):
        sns.lineplot(data=data, x="epoch", y=column, hue="series", hue_order=[series[e] for e in shown],
                     palette=palette, errorbar="sd", marker="o", ax=ax)
        ax.set_ylabel(label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title=None)
    if target is not None and np.isfinite(target):
        axes[0].axhline(target, color="0.4", ls=":", lw=1)
        axes[0].annotate(f"target {target:.1f}%", (data.epoch.min(), target), fontsize=7, color="0.3",
                         xytext=(2, 3), textcoords="offset points")
    if title:
        axes[0].figure.suptitle(title)
    return axes


# ----------------------------------------------------------------------------
# Table 6's control: a transferred PIL against a random frozen one
# ----------------------------------------------------------------------------
def describe_transfer_control(runs: pd.DataFrame, transfer: str, random: str, baseline: str, metric: str = "PCK",
                              unit: str = "PCKh") -> tuple[str, str]:
    """Is the transferred PIL's gain parsing knowledge or frozen extra capacity? Computed from three per-seed
    comparisons (:func:`difference`): transferred PIL vs no PIL, random frozen PIL vs no PIL, transferred vs
    random.

    Verdicts ("clearly": better in every one of two or more seeds by more than the spread): no clear gain of the
    transferred PIL -> nothing for the control to explain; the transferred PIL clearly beats the random one ->
    the gain needs what was learned on LIP; otherwise, the random PIL clearly beats no PIL -> the gain is frozen
    extra capacity; else undecided. The random PIL's share of the transferred PIL's mean gain is printed beside.

    Returns:
        ``(details, verdict)``: one line per comparison, and the verdict.
    """
    pairs = [("transferred PIL vs no PIL", transfer, baseline), ("random frozen PIL vs no PIL", random, baseline),
             ("transferred PIL vs random frozen PIL", transfer, random)]
    d = {what: difference(runs, a, b, metric) for what, a, b in pairs}
    details = "\n".join(f"- {what}: {describe_difference(d[what], unit=unit)}" for what, _, _ in pairs)
    gain, random_gain, over_random = (d[what] for what, _, _ in pairs)
    seeds = len(gain["seeds"])
    share = (f" The random frozen PIL gives {random_gain['mean'] / gain['mean']:.0%} of the transferred PIL's mean "
             "gain." if gain["mean"] > 0 else "")
    if seeds < 2:
        return details, f"{seeds} seed(s): no spread to judge the control by." + share
    if not supports(gain):
        extra = (" (the random frozen PIL does clearly beat no PIL)" if supports(random_gain) else "")
        return details, ("The transferred PIL does not clearly beat the pose network without PIL on our data, so "
                         f"there is no gain for the control to explain{extra}." + share)
    if supports(over_random):
        return details, ("The transferred PIL clearly beats the random frozen one: its gain needs what the parsing "
                         "encoder and adapter learned on LIP, not frozen extra capacity alone." + share)
    if supports(random_gain):
        return details, ("The random frozen PIL helps as much as the transferred one (not clearly worse, and "
                         "clearly better than no PIL): the gain is frozen extra capacity, not transferred parsing "
                         "knowledge." + share)
    return details, ("The transferred PIL is not clearly better than the random frozen one, and the random one is "
                     "not clearly better than no PIL: the control cannot separate the two explanations on our "
                     "data." + share)


# ----------------------------------------------------------------------------
# What differs between two runs, and how a multi-person run groups and scores
# ----------------------------------------------------------------------------
def config_differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The settings two configs (``ExperimentConfig.to_dict()``) differ in: dotted key (``"train.freeze_pil"``) ->
    (a's value, b's value), in ``a``'s key order then ``b``'s; a key one of them lacks gives None there."""
    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in d.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    fa, fb = flat(a), flat(b)
    keys = list(dict.fromkeys([*fa, *fb]))
    return {k: (fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)}


def multi_person_settings(cfg: ExperimentConfig) -> dict[str, Any]:
    """How a multi-person run groups, decodes and scores, each setting named with where it lives: the offset head's
    design (:class:`piltools.models.pil.OffsetHead`), the NMS threshold and grouping radius (config values,
    :func:`piltools.decoding.decode_people`), the flip test and scales, and
    the true-positive distance of the mAP (:func:`piltools.metrics.multi_person_ap`) in units of the reference
    distance, itself a fraction of the person-box diagonal (:data:`piltools.metrics.PASCAL_BOX_FRACTION`)."""
    t = cfg.train
    thr = inspect.signature(multi_person_ap).parameters["thr"].default  # the evaluator scores with the default
    return {
        "centroid-offset head (model.offset_design)": cfg.model.offset_design,
        "NMS: peak threshold on the heatmaps (train.eval_peak_threshold)": t.eval_peak_threshold,
        "grouping radius, fraction of the input side (train.eval_group_radius)": t.eval_group_radius,
        "input side (data.input_size, pixels)": cfg.data.input_size,
        "grouping radius (input pixels)": t.eval_group_radius * cfg.data.input_size,
        "flip test (train.eval_flip)": t.eval_flip,
        "evaluation scales (train.eval_scales)": list(t.eval_scales),
        "true positive within this x the reference distance (metrics.multi_person_ap thr)": thr,
        "reference distance, fraction of the person-box diagonal (metrics.PASCAL_BOX_FRACTION)": PASCAL_BOX_FRACTION,
    }
