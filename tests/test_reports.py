"""Result tables: aggregation over seeds, comparisons and the paper's numbers kept apart."""
import math

import numpy as np
import pandas as pd
import pytest

from piltools import reports


@pytest.fixture()
def runs() -> pd.DataFrame:
    # Two experiments x three seeds, hand-placed PCK values.
    return pd.DataFrame({
        "experiment": ["table1/vgg16"] * 3 + ["table1/vgg16-pil"] * 3,
        "seed": [0, 1, 2, 0, 1, 2],
        "PCK": [40.0, 42.0, 44.0, 45.0, 44.0, 49.0],
    })


def test_aggregate_mean_std(runs):
    agg = reports.aggregate(runs).set_index("experiment")
    # vgg16: mean (40+42+44)/3 = 42, sample std sqrt(((-2)^2+0+2^2)/2) = 2
    assert agg.loc["table1/vgg16", "mean"] == pytest.approx(42.0)
    assert agg.loc["table1/vgg16", "std"] == pytest.approx(2.0)
    assert agg.loc["table1/vgg16-pil", "seeds"] == 3


def test_difference_per_seed(runs):
    d = reports.difference(runs, "table1/vgg16-pil", "table1/vgg16")
    # per seed: 45-40=5, 44-42=2, 49-44=5 -> mean 4, std sqrt((1+4+1)/2) = sqrt(3) ~ 1.73 < 4 -> clear
    assert d["per_seed"] == [5.0, 2.0, 5.0]
    assert d["mean"] == pytest.approx(4.0)
    assert d["std"] == pytest.approx(math.sqrt(3.0))
    assert d["clear"]
    text = reports.describe_difference(d, 75.0, 69.1)
    assert "+4.0" in text and "+5.9" in text and "better in every seed" in text


def test_difference_reversed_says_not_better(runs):
    d = reports.difference(runs, "table1/vgg16", "table1/vgg16-pil")
    assert not d["clear"] and d["mean"] == pytest.approx(-4.0)
    assert "NOT better" in reports.describe_difference(d)


def test_side_by_side_keeps_paper_numbers_in_their_own_column(runs):
    table = reports.side_by_side(runs, "Table 1", scale="cpu").set_index("experiment")
    # the paper's Table 1: VGG16 69.1, VGG16-PIL(VGG16) 75.0
    assert table.loc["table1/vgg16", "paper PCK (paper's number)"] == 69.1
    assert table.loc["table1/vgg16-pil", "paper PCK (paper's number)"] == 75.0
    assert table.loc["table1/vgg16-pil", "ours PCK mean"] == pytest.approx(46.0)
    assert set(table["scale"]) == {"cpu"}


def test_results_path_keeps_other_scales_apart(tmp_path):
    assert reports.results_path("table1.csv", "cpu", tmp_path) == tmp_path / "table1.csv"
    assert reports.results_path("table1.csv", "smoke", tmp_path) == tmp_path / "smoke" / "table1.csv"


def test_summary_row_columns_stale_flag_and_machine(tmp_path):
    from piltools.experiments import get_experiment
    from piltools.metrics import LIP_COLUMNS
    from piltools.runs import RunResult, write_json

    write_json(tmp_path / "machine.json", {"host": "h", "device": "cpu", "cpu_count": 2})
    (tmp_path / "version.txt").write_text("abc123\n")
    table = {c: float(i) for i, c in enumerate(LIP_COLUMNS)}  # Head 0.0 ... PCK 8.0
    ev = {"lip_pckh": table, "pck": 8.0, "n_images": 3, "seconds_train": 1.5, "parsing": {"mIoU": 20.0}}
    result = RunResult(run_dir=tmp_path, config=get_experiment("table1/vgg16-pil", "smoke"), eval=ev,
                       freshness="stale")
    row = reports.summary_row(result)
    assert list(row) == ["experiment", "model", "scale", "seed", *LIP_COLUMNS, "n_images", "run_id",
                         "code_version", "stale", "machine", "seconds", "parsing_mIoU"]
    assert [row[c] for c in LIP_COLUMNS] == [float(i) for i in range(9)]
    assert (row["stale"], row["machine"], row["code_version"]) == ("yes", "h cpu (2 cores)", "abc123")
    # MPII: the official pair columns, UBody (not LIP's U.Body), Total copied to PCK by the evaluation, and AUC
    mpii = RunResult(run_dir=tmp_path / "none", config=get_experiment("mpii/hg-8s-1u", "smoke"),
                     eval={"mpii_pckh": {"Head": 1.0, "UBody": 3.0, "Total": 2.0}, "pck": 2.0, "auc": 4.0})
    row = reports.summary_row(mpii)
    assert list(row)[4:14] == list(reports.MPII_ROW_COLUMNS) and "U.Body" not in row
    assert (row["Head"], row["UBody"], row["PCK"], row["AUC"]) == (1.0, 3.0, 2.0, 4.0) and math.isnan(row["Sho."])
    assert (row["stale"], row["machine"], row["code_version"]) == ("unknown", "unknown ? (? cores)", "unknown")


def test_summary_row_of_a_multi_person_run_has_the_table5_groups(tmp_path):
    from piltools.experiments import get_experiment
    from piltools.joints import PASCAL_JOINT_NAMES
    from piltools.runs import RunResult

    # per-joint AP 0, 1, ..., 13 in PASCAL order (the MPII order without pelvis and thorax)
    ap = [float(i) for i in range(len(PASCAL_JOINT_NAMES))]
    ev = {"mAP": 6.5, "AP": ap, "pck": 6.5, "n_images": 8}
    row = reports.summary_row(RunResult(run_dir=tmp_path, config=get_experiment("table5/pil", "smoke"), eval=ev))
    assert list(row)[4:12] == list(reports.MULTI_PERSON_ROW_COLUMNS) and row["mAP"] == row["PCK"] == 6.5
    # PASCAL order: r_ankle 0, r_knee 1, r_hip 2, l_hip 3, l_knee 4, l_ankle 5, neck 6, head_top 7, r_wrist 8,
    # r_elbow 9, r_shoulder 10, l_shoulder 11, l_elbow 12, l_wrist 13
    assert (row["Head"], row["Sho."], row["Elb."], row["Wri."]) == (6.5, 10.5, 10.5, 10.5)
    assert (row["Hip"], row["Knee"], row["Ank."]) == (2.5, 2.5, 2.5)


def test_group_ap_averages_each_pair_and_skips_joints_without_positives():
    from piltools.joints import PASCAL_JOINT_NAMES

    ap = [50.0] * len(PASCAL_JOINT_NAMES)
    index = {n: i for i, n in enumerate(PASCAL_JOINT_NAMES)}
    ap[index["neck"]], ap[index["head_top"]] = 20.0, 40.0  # Head = (20 + 40) / 2 = 30
    ap[index["l_wrist"]] = float("nan")  # no positives: Wri. = r_wrist alone = 50
    ap[index["r_ankle"]] = ap[index["l_ankle"]] = float("nan")  # nothing left: NaN
    groups = reports.group_ap(ap, PASCAL_JOINT_NAMES)
    assert groups["Head"] == 30.0 and groups["Wri."] == 50.0 and math.isnan(groups["Ank."])
    assert list(groups) == ["Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank."]
    with pytest.raises(ValueError, match="13 AP values for 14 joints"):
        reports.group_ap(ap[:13], PASCAL_JOINT_NAMES)
    with pytest.raises(ValueError, match="not among"):
        reports.group_ap([1.0, 2.0], ("r_ankle", "l_ankle"))


def test_summary_row_of_a_parsing_only_run(tmp_path):
    from piltools.experiments import get_experiment
    from piltools.metrics import LIP_COLUMNS
    from piltools.runs import RunResult

    # a parsing-only eval.json: no pck, no PCKh table; mIoU, pixel accuracy and per-class IoU only
    ev = {"n_images": 8, "parsing": {"mIoU": 42.5, "pixel_acc": 80.0, "IoU": [42.5], "IoU_by_class": {"bg": 42.5}}}
    result = RunResult(run_dir=tmp_path, config=get_experiment("calib/parsing-hg-1s-2u", "smoke"), eval=ev,
                       freshness="current")
    row = reports.summary_row(result)
    assert row["experiment"] == "calib/parsing-hg-1s-2u" and row["model"] == "Parsing(HG-1s-2u)"
    assert all(math.isnan(row[c]) for c in LIP_COLUMNS)  # PCK included: no pose side
    assert row["parsing_mIoU"] == 42.5 and "mAP" not in row


def test_parsing_network_of_a_model():
    assert reports.parsing_network_of("VGG16-PIL(VGG16)") == "Parsing(VGG16)"
    assert reports.parsing_network_of("VGG16-Concat") == reports.parsing_network_of("VGG16-MTL") == "Parsing(VGG16)"
    assert reports.parsing_network_of("HG-8s-1u-PIL(HG-1s-2u)") == "Parsing(HG-1s-2u)"
    assert reports.parsing_network_of("VGG16") is reports.parsing_network_of("VGG16-Self") is None
    assert reports.parsing_network_of("HG-4s-2u") is None


def _parsing_rows(values: dict[str, tuple[str, list[float]]]) -> pd.DataFrame:
    return pd.DataFrame([{"experiment": e, "model": m, "seed": s, "parsing_mIoU": v}
                         for e, (m, vs) in values.items() for s, v in enumerate(vs)])


def test_parsing_branches_against_their_network_alone():
    alone = _parsing_rows({"calib/parsing-vgg16": ("Parsing(VGG16)", [20.0, 22.0, 21.0])})
    runs = _parsing_rows({"table1/vgg16-pil": ("VGG16-PIL(VGG16)", [19.0, 20.0, 21.0]),
                          "table1/vgg16-add": ("VGG16-Add", [14.0, 15.0, 16.0]),
                          "table1/vgg16": ("VGG16", [math.nan] * 3)})
    text = reports.describe_parsing_branches(runs, alone)
    assert "Parsing(VGG16) alone (cross-entropy only, same recipe): 21.0 +- 1.0 (mean over 3 seed(s))" in text
    assert "vgg16-pil 20.0 (-1.0), vgg16-add 15.0 (-6.0)." in text
    assert "Beyond 5 points below their network alone: table1/vgg16-add" in text  # -6 misses, -1 meets
    ok = reports.describe_parsing_branches(runs[runs.experiment != "table1/vgg16-add"], alone)
    assert "Every branch is within 5 points of its network alone" in ok
    # the tolerance is the documented criterion, and a looser one lets the -6 branch pass
    assert "Every branch" in reports.describe_parsing_branches(runs, alone, tolerance=6.5)


# ---------------------------------------------------------------------------- Table 2: PIL across hourglass depths
TABLE2_PAIRS = [("table2/hg-1s-1u", "table2/hg-1s-1u-pil"), ("table2/hg-2s-1u", "table2/hg-2s-1u-pil"),
                ("table2/hg-4s-2u", "table2/hg-4s-2u-pil"), ("table2/hg-8s-1u", "table2/hg-8s-1u-pil")]
TABLE2_MODELS = {"table2/hg-1s-1u": "HG-1s-1u", "table2/hg-1s-1u-pil": "HG-1s-1u-PIL(HG-1s-1u)",
                 "table2/hg-2s-1u": "HG-2s-1u", "table2/hg-2s-1u-pil": "HG-2s-1u-PIL(HG-1s-2u)",
                 "table2/hg-4s-2u": "HG-4s-2u", "table2/hg-4s-2u-pil": "HG-4s-2u-PIL(HG-1s-2u)",
                 "table2/hg-8s-1u": "HG-8s-1u", "table2/hg-8s-1u-pil": "HG-8s-1u-PIL(HG-1s-2u)"}
#: Hand-placed gains (PIL - backbone) per depth, seeds 0, 1, 2; the backbones score 50, 55, 60, 62 in every seed.
TABLE2_GAINS = {"table2/hg-1s-1u": [4.0, 3.0, 5.0], "table2/hg-2s-1u": [2.0, 3.0, 1.0],
                "table2/hg-4s-2u": [1.0, 0.5, 1.5], "table2/hg-8s-1u": [1.0, -0.5, 0.5]}
TABLE2_BASE = {"table2/hg-1s-1u": 50.0, "table2/hg-2s-1u": 55.0, "table2/hg-4s-2u": 60.0, "table2/hg-8s-1u": 62.0}


def _table2_runs(gains: dict[str, list[float]] = TABLE2_GAINS) -> pd.DataFrame:
    rows = []
    for base, pil in TABLE2_PAIRS:
        for seed, g in enumerate(gains[base]):
            rows.append({"experiment": base, "model": TABLE2_MODELS[base], "seed": seed, "PCK": TABLE2_BASE[base]})
            rows.append({"experiment": pil, "model": TABLE2_MODELS[pil], "seed": seed, "PCK": TABLE2_BASE[base] + g})
    return pd.DataFrame(rows)


def test_hourglass_depth_and_pil_pairs():
    assert reports.hourglass_depth("HG-4s-2u") == reports.hourglass_depth("HG-4s-2u-PIL(HG-1s-2u)") == (4, 2)
    assert reports.hourglass_depth("HG-8s-1u-PIL(HG-1s-2u)") == (8, 1)  # the pose net's, not the parsing net's
    with pytest.raises(ValueError, match="not a stacked hourglass"):
        reports.hourglass_depth("VGG16-PIL(VGG16)")
    from piltools.experiments import list_experiments

    assert reports.pil_pairs([n for n in list_experiments() if n.startswith("table2/")]) == TABLE2_PAIRS
    assert reports.pil_pairs(["table1/vgg16", "table1/vgg16-self", "table1/vgg16-pil"]) == [
        ("table1/vgg16", "table1/vgg16-pil")]


def test_parameter_count_on_the_meta_device_is_the_built_models():
    import torch

    from piltools.experiments import get_experiment
    from piltools.models import create_model

    # the sizes the paper calls similar, at its width (256 features): as `python -m piltools params` prints them
    assert reports.parameter_count(get_experiment("table2/hg-1s-1u-pil", "paper")) == 8_326_052
    assert reports.parameter_count(get_experiment("table2/hg-2s-1u", "paper")) == 6_140_768
    cfg = get_experiment("table2/hg-2s-1u-pil", "smoke")
    torch.manual_seed(0)
    built = create_model(cfg.model.name, **cfg.model.overrides())
    assert reports.parameter_count(cfg) == sum(p.numel() for p in built.parameters())


def test_training_seconds_per_image_from_the_recorded_epochs(tmp_path):
    from piltools.experiments import get_experiment
    from piltools.runs import RunResult

    cpu = get_experiment("table2/hg-1s-1u", "cpu")
    # cpu: 1000 synthetic training images // batch 4 = 250 whole batches = 1000 images per epoch
    assert reports.train_images_per_epoch(cpu) == 1000
    # smoke: 16 images // 4 = 4 batches, capped at steps_per_epoch 2 -> 8 images; 18 images would drop the last 2
    smoke = get_experiment("table2/hg-1s-1u", "smoke")
    assert reports.train_images_per_epoch(smoke) == 8 and reports.train_images_per_epoch(cpu, n_train=18) == 16
    with pytest.raises(ValueError, match="real data"):
        reports.train_images_per_epoch(get_experiment("table2/hg-1s-1u", "paper"))
    rows = [{"epoch": e, "seconds": s} for e, s in enumerate([10.0, 30.0, 12.0, math.nan], start=1)]
    result = RunResult(run_dir=tmp_path, config=cpu, metrics=rows)
    # median of 10, 30, 12 (the NaN epoch is left out) = 12 s over 1000 images
    assert reports.seconds_per_image(result) == pytest.approx(0.012)
    assert math.isnan(reports.seconds_per_image(RunResult(run_dir=tmp_path, config=cpu)))
    costs = reports.run_costs([result, RunResult(run_dir=tmp_path, config=get_experiment("table2/hg-1s-1u", "cpu", 1),
                                                 metrics=[{"epoch": 1, "seconds": 14.0}])])
    assert list(costs.columns) == ["experiment", "model", "seed", "width", "params", "params_paper",
                                   "seconds_per_image"]
    assert costs.seed.tolist() == [0, 1] and costs.width.tolist() == [64, 64]
    assert costs.params.nunique() == 1 and costs.params[0] == reports.parameter_count(cpu)
    assert costs.params_paper[0] == reports.parameter_count(get_experiment("table2/hg-1s-1u", "paper"))
    runs = pd.DataFrame({"experiment": ["table2/hg-1s-1u"] * 2, "seed": [0, 1], "PCK": [50.0, 52.0]})
    summary = reports.cost_summary(runs, costs)
    # seconds per image: the mean of the seeds' 0.012 and 0.014
    assert summary.loc[0, "seconds_per_image"] == pytest.approx(0.013) and summary.loc[0, "mean"] == 51.0


def test_pil_gains_and_the_every_depth_verdict():
    gains = reports.pil_gains(_table2_runs(), TABLE2_PAIRS)
    assert gains.depth.tolist() == [1, 2, 8, 8] and gains.stacks.tolist() == [1, 2, 4, 8]
    # hg-1s-1u: gains 4, 3, 5 -> mean 4, std 1, clear; hg-8s-1u: 1, -0.5, 0.5 -> not in every seed
    assert gains.loc[0, "per_seed"] == [4.0, 3.0, 5.0] and gains.loc[0, "std"] == pytest.approx(1.0)
    assert gains.every_seed.tolist() == [True, True, True, False] and gains.clear.tolist() == [True, True, True, False]
    # the paper's gains: 82.2 - 78.8, 83.0 - 80.8, 85.3 - 84.5, 85.6 - 84.9
    assert gains.paper.tolist() == pytest.approx([3.4, 2.2, 0.8, 0.7])
    text = reports.describe_pil_every_depth(gains)
    assert "hg-1s-1u +4.0 (per seed +4.0, +3.0, +5.0; paper +3.4)" in text
    assert "better in every seed at 3 of 4 depths and on average at 4; not in every seed at hg-8s-1u" in text
    fine = {**TABLE2_GAINS, "table2/hg-8s-1u": [1.0, 1.5, 0.5]}
    assert "better at all 4 depths in every seed, by more than the spread" in reports.describe_pil_every_depth(
        reports.pil_gains(_table2_runs(fine), TABLE2_PAIRS))


def test_the_gain_trend_over_depth():
    t = reports.gain_trend(reports.pil_gains(_table2_runs(), TABLE2_PAIRS))
    # x = log2(1, 2, 8, 8) = 0, 1, 3, 3: mean 1.75, Sxx = 1.75^2 + 0.75^2 + 2 x 1.25^2 = 6.75.
    # seed 0, gains 4, 2, 1, 1 (mean 2): Sxy = -1.75x2 - 0.75x0 + 1.25x(-1) + 1.25x(-1) = -6 -> slope -6/6.75 = -8/9
    # seed 1, gains 3, 3, 0.5, -0.5 (mean 1.5): Sxy = -2.625 - 1.125 - 1.25 - 2.5 = -7.5 -> -10/9
    # seed 2, gains 5, 1, 1.5, 0.5 (mean 2): Sxy = -5.25 + 0.75 - 0.625 - 1.875 = -7 -> -28/27
    assert t["slopes"] == pytest.approx([-8 / 9, -10 / 9, -28 / 27]) and t["shrinks_in"] == 3
    # rank correlation: depth ranks 1, 2, 3.5, 3.5 against mean-gain ranks 4, 3, 2, 1 (4, 2, 1, 1/3):
    # sum of products of the centred ranks -4.5 over sqrt(4.5 x 5) = -0.9487; the paper's gains rank the same
    assert t["rho"] == pytest.approx(-4.5 / math.sqrt(22.5)) and t["paper_rho"] == pytest.approx(t["rho"])
    # the paper's gains 3.4, 2.2, 0.8, 0.7 (mean 1.775): Sxy = -1.75x1.625 - 0.75x0.425 + 1.25x(-0.975 - 1.075)
    assert t["paper_slope"] == pytest.approx(-5.725 / 6.75)
    text = reports.describe_gain_trend(reports.pil_gains(_table2_runs(), TABLE2_PAIRS))
    assert "hg-1s-1u (depth 1) +4.0 +- 1.0" in text and "per seed: -0.9, -1.1, -1.0" in text
    assert "shrinks with depth in every seed, by more than the seeds' spread" in text
    grows = {b: [-g for g in gs] for b, gs in TABLE2_GAINS.items()}
    assert "does NOT shrink" in reports.describe_gain_trend(reports.pil_gains(_table2_runs(grows), TABLE2_PAIRS))
    mixed = {**TABLE2_GAINS, "table2/hg-8s-1u": [1.0, 6.0, 0.5], "table2/hg-4s-2u": [1.0, 6.0, 1.5]}
    assert "only in 2 of 3 seeds" in reports.describe_gain_trend(reports.pil_gains(_table2_runs(mixed), TABLE2_PAIRS))
    one = _table2_runs()
    assert "In the single seed run the gain shrinks" in reports.describe_gain_trend(
        reports.pil_gains(one[one.seed == 0], TABLE2_PAIRS))


def _table2_summary(runs: pd.DataFrame, params: dict[str, float], seconds: dict[str, float]) -> pd.DataFrame:
    costs = pd.DataFrame([{"experiment": e, "model": TABLE2_MODELS[e], "seed": s, "width": 64, "params": params[e],
                           "params_paper": 16 * params[e], "seconds_per_image": seconds[e]}
                          for e, s in zip(runs.experiment, runs.seed)])
    return reports.cost_summary(runs, costs)


def test_size_comparison_says_what_it_is_worth():
    runs = _table2_runs()
    params = {e: 1e5 * (i + 1) for i, e in enumerate(TABLE2_MODELS)}  # 1s-1u 0.1M, 1s-1u-pil 0.2M, 2s-1u 0.3M, ...
    seconds = {e: 0.01 for e in TABLE2_MODELS}
    # hg-1s-1u-pil (54, 53, 55) - hg-2s-1u (55): -1, -2, 0
    text = reports.describe_size_comparison(runs, _table2_summary(runs, params, seconds), "table2/hg-1s-1u-pil",
                                            "table2/hg-2s-1u", 82.2, 80.8)
    assert "per seed: -1.0, -2.0, +0.0" in text and "The paper reports +1.4 (82.2 vs 80.8)" in text
    # 0.2M / 0.3M = 0.67x at the runs' width and (x16) at the paper's; the same time per image
    assert "0.2M parameters at the runs' width (64) and 3.2M at the paper's, 0.3M and 4.8M" in text
    assert "0.67x and 0.67x" in text and "10.0 vs 10.0 ms (1.00x)" in text
    assert "not size-matched (hg-1s-1u-pil: -33% parameters at the paper's width" in text
    assert "does not lead even with that budget" in text
    even = {**params, "table2/hg-1s-1u-pil": 3.1e5}
    assert "matched within 10% on all three" in reports.describe_size_comparison(
        runs, _table2_summary(runs, even, seconds), "table2/hg-1s-1u-pil", "table2/hg-2s-1u")


def test_budget_verdict_compares_pil_with_the_plain_hourglasses_it_can_afford():
    runs = _table2_runs()
    # costs: plain 1, 2, 8, 9; PIL 1.5, 3, 8.5, 10. Means: plain 50, 55, 60, 62; PIL 54, 57, 61, 62.33
    params = {"table2/hg-1s-1u": 1e6, "table2/hg-1s-1u-pil": 1.5e6, "table2/hg-2s-1u": 2e6,
              "table2/hg-2s-1u-pil": 3e6, "table2/hg-4s-2u": 8e6, "table2/hg-4s-2u-pil": 8.5e6,
              "table2/hg-8s-1u": 9e6, "table2/hg-8s-1u-pil": 10e6}
    seconds = {e: 0.01 for e in TABLE2_MODELS}
    summary = _table2_summary(runs, params, seconds)
    text = reports.describe_budget(runs, summary, TABLE2_PAIRS, "params", "M parameters", 1e-6)
    # 1s-1u-pil (1.5M) can afford only hg-1s-1u: +4, +3, +5 -> PIL; 2s-1u-pil (3M) affords hg-2s-1u: +2, +3, +1;
    # 4s-2u-pil (8.5M) affords hg-4s-2u (60): PIL; 8s-1u-pil (10M) affords hg-8s-1u: +1, -0.5, +0.5 -> undecided
    assert "hg-1s-1u-pil (1.5 M parameters): the best plain hourglass it affords is hg-1s-1u (1)" in text
    assert "the cheapest plain hourglass reaching its mean is hg-2s-1u at 2 (1.33x)" in text
    assert "PIL is the better use of the budget at 3 of 4 budgets" in text and "the plain hourglass at 0" in text
    assert "hg-8s-1u-pil (10 M parameters)" in text and "no plain hourglass we trained reaches its mean" in text
    # make PIL dearer than the next depth: 1s-1u-pil at 2.5M now affords hg-2s-1u (55 > 54, 53, 55: not every seed)
    dear = {**params, "table2/hg-1s-1u-pil": 2.5e6, "table2/hg-2s-1u-pil": 9e6}
    text = reports.describe_budget(runs, _table2_summary(runs, dear, seconds), TABLE2_PAIRS, "params", "M", 1e-6)
    # 2s-1u-pil at 9M affords hg-8s-1u (62 > 57, 58, 56 in every seed): depth
    assert "at 1 of 4 budgets" in text and "the plain hourglass at 1, undecided at 2" in text


def test_table2_figures_draw_ours_and_the_papers_apart():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _table2_runs()
    ours, theirs = reports.plot_depth(runs, TABLE2_PAIRS)
    # ours: a line of means per series (4 points each); the paper's panel: its 4 + 4 numbers of Table 2
    assert [len(line.get_xdata()) for line in ours.get_lines()] == [4, 4]
    assert [list(line.get_ydata()) for line in theirs.get_lines()] == [[78.8, 80.8, 84.5, 84.9],
                                                                      [82.2, 83.0, 85.3, 85.6]]
    assert ours.get_xticklabels()[2].get_text() == "4s-2u\n(4x2=8)"
    seconds = {e: 0.01 * (i + 1) for i, e in enumerate(TABLE2_MODELS)}
    params = {e: 1e5 * (i + 1) for i, e in enumerate(TABLE2_MODELS)}
    summary = _table2_summary(runs, params, seconds)
    costs = pd.DataFrame([{"experiment": e, "seed": s, "params": params[e], "seconds_per_image": seconds[e]}
                          for e, s in zip(runs.experiment, runs.seed)])
    axes = reports.plot_budget(runs, costs, summary, TABLE2_PAIRS)
    assert len(axes) == 2 and axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"
    # the PIL series' means at 0.2, 0.4, 0.6, 0.8 M parameters
    assert list(axes[0].get_lines()[1].get_xdata()) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    plt.close("all")


def _table3_runs() -> pd.DataFrame:
    """Three seeds of the cpu Table 3 runs and controls, with made-up numbers whose verdicts are known."""
    rows = []
    models = {"table3/pil-hg-1s-1u": "HG-2s-1u-PIL(HG-1s-1u)", "table2/hg-2s-1u-pil": "HG-2s-1u-PIL(HG-1s-2u)",
              "table3/pil-hg-1s-4u": "HG-2s-1u-PIL(HG-1s-4u)", "table3/pil-hg-1s-8u": "HG-2s-1u-PIL(HG-1s-8u)",
              "table2/hg-2s-1u": "HG-2s-1u", "table3/oracle-parsing": "HG-2s-1u-PIL(HG-1s-2u)",
              "table3/no-parsing-loss": "HG-2s-1u-PIL(HG-1s-2u)", "table3/shuffled-kernels": "HG-2s-1u-PIL(HG-1s-2u)"}
    # PCK rises with mIoU across depths; oracle clearly above learned 2u; beta = 0 equal on average; shuffled lower
    pck = {"table3/pil-hg-1s-1u": 60, "table2/hg-2s-1u-pil": 61, "table3/pil-hg-1s-4u": 62, "table3/pil-hg-1s-8u": 63,
           "table2/hg-2s-1u": 58, "table3/oracle-parsing": 66, "table3/no-parsing-loss": 61, "table3/shuffled-kernels": 55}
    miou = {"table3/pil-hg-1s-1u": 27, "table2/hg-2s-1u-pil": 29, "table3/pil-hg-1s-4u": 31, "table3/pil-hg-1s-8u": 32,
            "table2/hg-2s-1u": np.nan, "table3/oracle-parsing": 95, "table3/no-parsing-loss": 3,
            "table3/shuffled-kernels": 29}
    wobble = {0: -0.3, 1: 0.0, 2: 0.3}
    for exp, model in models.items():
        for seed in (0, 1, 2):
            w = wobble[seed] * (-1 if exp == "table3/no-parsing-loss" else 1)
            rows.append({"experiment": exp, "model": model, "seed": seed, "PCK": pck[exp] + w,
                         "parsing_mIoU": miou[exp] + 0.1 * seed})
    return pd.DataFrame(rows)


def test_table3_frame_gives_roles_and_parsing_depths() -> None:
    frame = reports.table3_frame(_table3_runs())
    first = frame.drop_duplicates("experiment").set_index("experiment")
    assert first.role.to_dict() == {
        "table3/pil-hg-1s-1u": "parsing depth", "table2/hg-2s-1u-pil": "parsing depth",
        "table3/pil-hg-1s-4u": "parsing depth", "table3/pil-hg-1s-8u": "parsing depth",
        "table2/hg-2s-1u": "baseline", "table3/oracle-parsing": "oracle parsing",
        "table3/no-parsing-loss": "beta = 0", "table3/shuffled-kernels": "shuffled kernels"}
    assert first.parsing_units.fillna(0).tolist() == [1, 2, 4, 8, 0, 2, 2, 2]
    table = reports.table3_side_by_side(frame, "cpu").set_index("row")
    assert table.loc["HG-1s-4u", "paper mIoU (paper's number)"] == 43.3
    assert table.loc["HG-1s-4u", "ours PCK mean"] == pytest.approx(62.0)
    assert table.loc["Baseline (HG-4s-2u)", "paper PCK (paper's number)"] == 84.5
    assert np.isnan(table.loc["oracle parsing", "paper PCK (paper's number)"])


def test_parsing_pose_correlation_and_its_interval() -> None:
    frame = reports.table3_frame(_table3_runs())
    c = reports.parsing_pose_correlation(frame)
    # 12 learned runs; PCK and mIoU both rise with depth, and within a depth both rise with the seed: rank-identical
    assert c["n"] == 12 and c["rho"] == pytest.approx(1.0) and c["low"] == pytest.approx(1.0)
    assert c["paper_rho"] == pytest.approx(1.0)  # the paper's four points rise together
    assert list(c["per_seed"].values()) == pytest.approx([1.0, 1.0, 1.0])
    assert "PCK rises with parsing quality" in reports.describe_parsing_pose_correlation(frame)
    flat = frame.assign(PCK=np.where(frame.role == "parsing depth", 60.0 + (frame.seed == 1), frame.PCK))
    text = reports.describe_parsing_pose_correlation(flat)
    assert "not established" in text or "FALLS" in text


def test_controls_findings_follow_the_per_seed_differences() -> None:
    frame = reports.table3_frame(_table3_runs())
    text, comparisons = reports.describe_controls(frame, "table2/hg-2s-1u-pil", "table2/hg-2s-1u")
    assert {k: reports.supports(d) for k, d in comparisons.items()} == {
        "pil_helps": True, "oracle_helps": True, "supervision_matters": False, "kernels_specific": True,
        "kernels_help_without_parsing": True}
    assert text.count("\n") == 4 and "per seed: +5.0, +5.0, +5.0" in text  # oracle - learned
    explained = reports.describe_explanations(comparisons, rises_with_parsing=True)
    assert "beta = 0 is not clearly worse" in explained and "the oracle is clearly better" in explained
    assert "(+6.0 PCK with its own)" in explained and "less than half" not in explained  # 6 vs PIL's +3
    small = {**comparisons, "kernels_specific": {**comparisons["kernels_specific"], "mean": 0.3}}
    assert "less than half of what PIL adds" in reports.describe_explanations(small, rises_with_parsing=False)
    one_seed = frame[frame.seed == 0]
    _, single = reports.describe_controls(one_seed, "table2/hg-2s-1u-pil", "table2/hg-2s-1u")
    assert not any(reports.supports(d) for d in single.values())  # a single seed never counts as clear


# ---------------------------------------------------------------------------- Tables 5 and 6, Fig. 4
def _mpii_runs() -> pd.DataFrame:
    """Three MPII rows x two seeds; PCK of the baseline 50, 52, the transfer 55, 58, the control 51, 53."""
    rows = []
    for exp, pcks, aucs in [("mpii/hg-8s-1u", (50.0, 52.0), (30.0, 31.0)),
                            ("mpii/hg-8s-1u-pil-transfer", (55.0, 58.0), (33.0, 35.0)),
                            ("mpii/hg-8s-1u-pil-random", (51.0, 53.0), (30.0, 32.0))]:
        for seed, (pck, auc) in enumerate(zip(pcks, aucs)):
            rows.append({"experiment": exp, "seed": seed, "Head": pck + 10, "PCK": pck, "AUC": auc})
    return pd.DataFrame(rows)


def test_paper_table_means_spreads_and_the_paper_headline_in_its_own_column():
    table = reports.paper_table(_mpii_runs(), "Table 6", ("Head", "PCK", "AUC"), headline="PCK",
                                paper_metric="PCKh", std_of=("PCK",), labels={"PCK": "PCKh"}, scale="cpu")
    assert list(table.columns) == ["row", "experiment", "Head", "PCKh", "PCKh std", "paper PCKh (paper's number)",
                                   "AUC", "seeds", "scale"]
    t = table.set_index("experiment")
    # transfer: PCK (55 + 58) / 2 = 56.5, std |58 - 55| / sqrt(2) = 2.1213; Head 10 more; the paper's 91.0
    assert t.loc["mpii/hg-8s-1u-pil-transfer", "PCKh"] == pytest.approx(56.5)
    assert t.loc["mpii/hg-8s-1u-pil-transfer", "PCKh std"] == pytest.approx(3 / math.sqrt(2))
    assert t.loc["mpii/hg-8s-1u-pil-transfer", "Head"] == pytest.approx(66.5)
    assert t.loc["mpii/hg-8s-1u-pil-transfer", "paper PCKh (paper's number)"] == 91.0
    assert t.loc["mpii/hg-8s-1u", "paper PCKh (paper's number)"] == 90.2
    assert t.loc["mpii/hg-8s-1u-pil-random", "row"] == "beyond the paper"
    assert np.isnan(t.loc["mpii/hg-8s-1u-pil-random", "paper PCKh (paper's number)"])
    assert list(t.seeds) == [2, 2, 2] and set(t.scale) == {"cpu"}


def test_column_gains_count_columns_better_on_average_and_in_every_seed():
    runs = _mpii_runs()
    text = reports.describe_column_gains(runs, "mpii/hg-8s-1u-pil-random", "mpii/hg-8s-1u", ("PCK", "AUC"), "PCKh")
    # random - baseline: PCK +1, +1 -> +1.0; AUC 0, +1 -> +0.5 (not better in seed 0)
    assert "PCK +1.0 (+1.0, +1.0); AUC +0.5 (+0.0, +1.0)" in text
    assert "better on average in 2 of 2 columns, in every seed in 1." in text


def test_reach_epoch_interpolates_between_the_epochs_around_the_first_crossing():
    # 30 -> 50 between epochs 2 and 3: 40 is half way, 2.5
    assert reports.reach_epoch([1, 2, 3], [10.0, 30.0, 50.0], 40.0) == pytest.approx(2.5)
    assert reports.reach_epoch([1, 2, 3], [45.0, 30.0, 50.0], 40.0) == 1.0  # already there at the first epoch
    assert math.isnan(reports.reach_epoch([1, 2, 3], [10.0, 30.0, 35.0], 40.0))  # never
    # NaN epochs are skipped: 10 (epoch 1) -> 50 (epoch 3) crosses 30 at epoch 2
    assert reports.reach_epoch([1, 2, 3], [10.0, float("nan"), 50.0], 30.0) == pytest.approx(2.0)


def _curves(spec: dict[str, list[tuple[list[float], list[float]]]]) -> pd.DataFrame:
    """Training curves: experiment -> per seed (train_acc per epoch, loss per epoch)."""
    rows = [{"experiment": e, "seed": s, "epoch": i + 1, "train_acc": a, "loss": l}
            for e, seeds in spec.items() for s, (accs, losses) in enumerate(seeds)
            for i, (a, l) in enumerate(zip(accs, losses))]
    return pd.DataFrame(rows)


def test_learning_speed_compares_areas_and_epochs_to_the_target_per_seed():
    curves = _curves({"pil": [([20.0, 40.0, 60.0], [3.0, 2.0, 1.0]), ([30.0, 50.0, 60.0], [3.0, 2.0, 1.0])],
                      "base": [([10.0, 30.0, 50.0], [4.0, 3.0, 2.0]), ([10.0, 30.0, 50.0], [4.0, 2.0, 1.0])]})
    speed = reports.learning_speed(curves, "pil", "base")
    # target 0.9 x the lowest final accuracy (50) = 45
    assert speed["target"] == pytest.approx(45.0)
    s = speed["summary"].set_index(["experiment", "seed"])
    # mean over epochs by the trapezoid rule: pil seed 0 ((20 + 40) / 2 + (40 + 60) / 2) / 2 = 40; base 30
    assert s.loc[("pil", 0), "acc_area"] == pytest.approx(40.0) and s.loc[("base", 0), "acc_area"] == pytest.approx(30.0)
    # pil seed 1: (40 + 55) / 2 = 47.5; losses: pil 2.0, base seed 0 3.0, seed 1 (3 + 1.5) / 2 = 2.25
    assert speed["accuracy"]["per_seed"] == pytest.approx([10.0, 17.5])
    assert speed["loss"]["per_seed"] == pytest.approx([1.0, 0.25])
    # 45 reached: pil seed 0 at 2.25 (40 -> 60), seed 1 at 1.75 (30 -> 50); base at 2.75 (30 -> 50)
    assert s.loc[("pil", 0), "reach"] == pytest.approx(2.25) and s.loc[("base", 1), "reach"] == pytest.approx(2.75)
    assert speed["reach"]["per_seed"] == pytest.approx([0.5, 1.0])
    text = reports.describe_learning_speed(speed)
    # accuracy: mean 13.75 > std 5.3; loss: mean 0.625 > std 0.53: faster in both, by more than the spread
    assert "+13.8 points (per seed +10.0, +17.5)" in text and "pil learns faster on our data" in text
    assert "Epochs to reach 45.0% training accuracy (90% of the lowest" in text and "+0.75 epochs sooner" in text


def test_learning_speed_is_not_established_when_a_seed_goes_the_other_way():
    curves = _curves({"pil": [([20.0, 40.0], [3.0, 2.0]), ([10.0, 20.0], [5.0, 4.0])],
                      "base": [([10.0, 30.0], [4.0, 3.0]), ([20.0, 30.0], [4.0, 3.0])]})
    text = reports.describe_learning_speed(reports.learning_speed(curves, "pil", "base"))
    assert "not established" in text
    one = reports.describe_learning_speed(reports.learning_speed(curves[curves.seed == 0], "pil", "base"))
    assert "In the single seed run pil learns faster (no spread to judge by)" in one


def test_training_curves_from_the_runs_metrics(tmp_path):
    from piltools.experiments import get_experiment
    from piltools.runs import RunResult

    metrics = [{"epoch": 1, "loss": 0.5, "train_acc": 10.0, "val_pck": 1.0}, {"epoch": 2, "loss": 0.25, "train_acc": 20.0}]
    result = RunResult(run_dir=tmp_path, config=get_experiment("mpii/hg-8s-1u", "smoke", seed=2), metrics=metrics)
    curves = reports.training_curves([result])
    assert curves.to_dict("list") == {"experiment": ["mpii/hg-8s-1u"] * 2, "seed": [2, 2], "epoch": [1, 2],
                                      "train_acc": [10.0, 20.0], "loss": [0.5, 0.25]}


def _control(transfer: tuple[float, ...], random: tuple[float, ...], base: tuple[float, ...]) -> tuple[str, str]:
    runs = pd.DataFrame([{"experiment": e, "seed": s, "PCK": v}
                         for e, values in (("t", transfer), ("r", random), ("b", base)) for s, v in enumerate(values)])
    return reports.describe_transfer_control(runs, "t", "r", "b")


def test_transfer_control_verdicts_follow_the_three_comparisons():
    # transfer +5, +5, +6 over no PIL; random +1, +0, +1: transfer clearly beats random -> parsing knowledge
    details, verdict = _control((55.0, 55.0, 56.0), (51.0, 50.0, 51.0), (50.0, 50.0, 50.0))
    assert details.count("\n") == 2 and "per seed: +5.0, +5.0, +6.0" in details
    assert "needs what the parsing encoder and adapter learned on LIP" in verdict
    assert "gives 12% of the transferred PIL's mean gain" in verdict  # (2/3) / (16/3) = 0.125
    # random as good: +5, +6, +5 (transfer - random +0, -1, +1) -> frozen extra capacity
    _, verdict = _control((55.0, 55.0, 56.0), (55.0, 56.0, 55.0), (50.0, 50.0, 50.0))
    assert "the gain is frozen extra capacity, not transferred parsing knowledge" in verdict
    # no clear gain of the transfer: nothing to explain
    _, verdict = _control((51.0, 49.0, 50.0), (50.0, 50.0, 50.0), (50.0, 50.0, 50.0))
    assert "no gain for the control to explain" in verdict
    # neither clearly: transfer clear over no PIL, random neither clearly worse nor clearly better than no PIL
    _, verdict = _control((55.0, 55.0, 56.0), (56.0, 49.0, 55.0), (50.0, 50.0, 50.0))
    assert "cannot separate the two explanations" in verdict
    _, verdict = _control((55.0,), (51.0,), (50.0,))
    assert verdict.startswith("1 seed(s): no spread")


def test_config_differences_name_every_differing_setting():
    a = {"name": "x", "train": {"freeze_pil": False, "lr": 1.0}, "transfer_from": "src"}
    b = {"name": "y", "train": {"freeze_pil": True, "lr": 1.0}, "transfer_from": None, "extra": 1}
    assert reports.config_differences(a, b) == {"name": ("x", "y"), "train.freeze_pil": (False, True),
                                                "transfer_from": ("src", None), "extra": (None, 1)}
    assert reports.config_differences(a, a) == {}


def test_multi_person_settings_are_the_config_values():
    from piltools.experiments import get_experiment, with_changes

    cfg = with_changes(get_experiment("table5/pil", "smoke"), train={"eval_group_radius": 0.25})
    settings = reports.multi_person_settings(cfg)
    values = list(settings.values())
    # the separate offset head; smoke input 64 px: radius 0.25 x 64 = 16 px; NMS threshold 0.1; flip on; one
    # scale; 0.5 x (0.1 x diagonal)
    assert values == ["separate", 0.1, 0.25, 64, 16.0, True, [1.0], 0.5, 0.1]
    assert "train.eval_group_radius" in list(settings)[2] and "model.offset_design" in list(settings)[0]
