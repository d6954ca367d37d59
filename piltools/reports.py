"""Result tables and figures for the notebooks: our runs beside the paper's numbers.

Everything here works on the flat per-run rows of :func:`summary_row` (one
row per experiment and seed),
so a table can always be rebuilt from the committed ``results/*.csv`` files.
The paper's numbers come from :mod:`piltools.paper` and are kept in their own,
clearly labelled columns.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from piltools.metrics import LIP_COLUMNS
from piltools.paper import paper_numbers
from piltools.runs import RunResult, describe_machine, resolve_path

#: The PCK columns of a results row: LIP's PCKh table (MPII fills the pairs and copies ``Total`` to ``PCK``).
PCK_COLUMNS: tuple[str, ...] = LIP_COLUMNS
#: ``stale`` column values by :attr:`RunResult.freshness`.
STALE_VALUES: dict[str, str] = {"current": "no", "stale": "yes", "unknown": "unknown"}


def summary_row(result: RunResult) -> dict[str, Any]:
    """One flat row per run for results tables (``results/README.md`` schema).

    Columns: ``experiment, model, scale, seed``, the :data:`PCK_COLUMNS` (for MPII the official pair
    columns, ``Total`` copied to ``PCK``; for multi-person ``mAP`` copied to ``PCK``), ``n_images, run_id,
    code_version``, ``stale`` (``yes``: trained by code other than today's, see :mod:`piltools.runs`;
    ``no``; ``unknown``: made before code fingerprints were recorded), ``machine, seconds`` (training wall
    time), then ``parsing_mIoU`` where the model parses (Table 3) and ``mAP`` for multi-person runs. A
    parsing-only run (``calib/parsing-*``, no pose side) has NaN in the PCK columns and ``parsing_mIoU`` set.
    """
    ev = result.eval
    row: dict[str, Any] = {"experiment": result.config.name, "model": result.config.model.name,
                           "scale": result.config.scale, "seed": result.config.seed}
    table = ev.get("lip_pckh") or ev.get("mpii_pckh") or {}
    for key in PCK_COLUMNS[:-1]:
        row[key] = table.get(key, float("nan"))
    row["PCK"] = ev.get("pck", float("nan"))
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


def describe_difference(d: dict, paper_a: float | None = None, paper_b: float | None = None) -> str:
    """A one-paragraph verdict computed from :func:`difference` (no hand-written claims)."""
    seeds = len(d["seeds"])
    text = (f"{d['a']} - {d['b']}: {d['mean']:+.1f} PCK on our data "
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
