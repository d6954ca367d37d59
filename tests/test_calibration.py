"""Difficulty calibration on the pose-only baseline, and the parsing side (parsing networks alone)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from piltools.__main__ import main as cli_main
from piltools.errors import InputError
from piltools.experiments import get_experiment
from piltools.inspection.people import predict_val_people
from piltools.training.calibration import (
    BASELINE,
    PARSING_NETWORKS,
    calibration_config,
    calibration_frame,
    paper_parsing_miou,
    parsing_calibration_frame,
    parsing_experiment,
    parsing_verdicts,
    plot_calibration,
    plot_parsing_calibration,
    run_calibration,
    run_parsing_calibration,
)


def test_calibration_config_levels() -> None:
    base = get_experiment(BASELINE, "smoke", 1)
    assert calibration_config("default", "smoke", 1) == base  # shared with the Table 2 run
    hard = calibration_config("hard", "smoke", 1)
    assert hard.data.synthetic.difficulty == "hard"
    assert hard.data.root == f"{base.data.root}-hard" and hard.data.root != base.data.root
    assert hard.train == base.train and hard.model == base.model
    with pytest.raises(ValueError, match="data.synthetic.difficulty"):
        calibration_config("brutal", "smoke")
    with pytest.raises(ValueError, match="real data"):
        calibration_config("hard", "paper")


def test_calibration_runs_table_and_figure(tmp_path: Path) -> None:
    results = run_calibration(["hard", "default"], "smoke", seeds=[0], out=tmp_path / "runs", quiet=True)
    frame = calibration_frame(results)
    assert list(frame["level"]) == ["hard", "default"]
    assert (frame["experiment"] == BASELINE).all() and (frame["scale"] == "smoke").all()
    epochs = get_experiment(BASELINE, "smoke").train.epochs
    assert all(len(c.split(";")) == epochs for c in frame["val_pck_by_epoch"])
    assert frame["PCK"].between(0, 100).all()
    # the two levels trained on different data folders
    assert frame["run_id"].nunique() == 2
    fig = plot_calibration(frame)
    assert len(fig.axes[0].lines) == 4  # a curve and a final dot per run


def test_calibrate_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "brutal"]) == 2
    assert "unknown difficulty level" in capsys.readouterr().err
    csv, png = tmp_path / "cal.csv", tmp_path / "cal.png"
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "--runs", str(tmp_path / "runs"),
                     "--csv", str(csv), "--figure", str(png), "--quiet"]) == 0
    table = pd.read_csv(csv)
    assert list(table["level"]) == ["mild"] and table.loc[0, "lr"] > 0
    assert png.stat().st_size > 10_000
    # --append keeps other rows, replaces a re-run (level, seed) and sorts hardest level first
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "hard", "--runs", str(tmp_path / "runs"),
                     "--csv", str(csv), "--figure", str(png), "--quiet", "--append"]) == 0
    table = pd.read_csv(csv)
    assert list(table["level"]) == ["hard", "mild"]
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "other.csv", index=False)
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "--runs", str(tmp_path / "runs"),
                     "--csv", str(tmp_path / "other.csv"), "--figure", str(png), "--quiet", "--append"]) == 2


def _parsing_frame(values: dict[str, list[float]]) -> pd.DataFrame:
    """A hand-made parsing calibration table: one row per (network, seed) with the given final mIoU."""
    rows = [{"network": net, "seed": seed, "parsing_mIoU": v, "scale": "cpu", "val_mIoU_by_epoch": f"10.00;{v:.2f}"}
            for net, vs in values.items() for seed, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_parsing_verdicts_target_and_depth() -> None:
    frame = _parsing_frame({"vgg16": [38.0, 44.0], "hg-1s-1u": [41.0, 39.0], "hg-1s-2u": [42.0, 41.0],
                            "hg-1s-4u": [40.0, 45.0], "hg-1s-8u": [46.0, 44.0]})
    v = parsing_verdicts(frame, target=40.0)
    nets = v["networks"]
    # vgg16: mean (38 + 44) / 2 = 41 >= 40; std of two values = |44 - 38| / sqrt(2)
    assert nets["vgg16"]["mean"] == pytest.approx(41.0) and nets["vgg16"]["target_met"]
    assert nets["vgg16"]["std"] == pytest.approx(6.0 / 2 ** 0.5) and nets["vgg16"]["per_seed"] == {0: 38.0, 1: 44.0}
    # hg-1s-1u: mean 40.0 -> met (>=); a mean of 39.9 would not be
    assert nets["hg-1s-1u"]["target_met"]
    assert not parsing_verdicts(frame, target=40.5)["networks"]["hg-1s-1u"]["target_met"]
    # means by depth 40, 41.5, 42.5, 45: rising; seed 0 (41, 42, 40, 46) is not, seed 1 (39, 41, 45, 44) is not
    d = v["depth"]
    assert d["units"] == [1, 2, 4, 8] and d["means"] == pytest.approx([40.0, 41.5, 42.5, 45.0])
    assert d["rises"] is True and d["rises_per_seed"] == {0: False, 1: False}
    assert d["per_seed"][1] == [39.0, 41.0, 45.0, 44.0]
    assert any("rises with depth 1u->2u->4u->8u: yes" in line for line in v["lines"])
    # swap two depths' means: no longer monotone
    flat = _parsing_frame({"hg-1s-1u": [43.0], "hg-1s-2u": [42.0]})
    assert parsing_verdicts(flat)["depth"]["rises"] is False
    assert parsing_verdicts(_parsing_frame({"vgg16": [50.0]}))["depth"]["rises"] is None


def test_parsing_experiment_names() -> None:
    assert parsing_experiment("hg-1s-4u") == "calib/parsing-hg-1s-4u"
    assert list(PARSING_NETWORKS) == ["vgg16", "hg-1s-1u", "hg-1s-2u", "hg-1s-4u", "hg-1s-8u"]
    with pytest.raises(InputError, match=r"unknown parsing network 'hg-1s-3u'; known: vgg16, hg-1s-1u"):
        parsing_experiment("hg-1s-3u")


def test_parsing_calibration_table_and_figure(tmp_path: Path) -> None:
    results = run_parsing_calibration(["vgg16", "hg-1s-1u"], "smoke", seeds=[0], out=tmp_path / "runs", quiet=True)
    frame = parsing_calibration_frame(results)
    assert list(frame["network"]) == ["vgg16", "hg-1s-1u"]
    assert list(frame["experiment"]) == ["calib/parsing-vgg16", "calib/parsing-hg-1s-1u"]
    assert frame["units"].isna().tolist() == [True, False] and frame.loc[1, "units"] == 1
    assert "PCK" not in frame.columns and frame["parsing_mIoU"].between(0, 100).all()
    iou = [c for c in frame.columns if c.startswith("IoU_")]
    assert len(iou) == 20 and iou[:3] == ["IoU_background", "IoU_hat", "IoU_hair"]
    # the per-class columns are the run's eval.json IoU, in class order
    for (_, result), (_, row) in zip(results, frame.iterrows()):
        np.testing.assert_allclose(row[iou].to_numpy(float), result.eval["parsing"]["IoU"])
    epochs = get_experiment("calib/parsing-vgg16", "smoke").train.epochs
    assert all(len(c.split(";")) == epochs for c in frame["val_mIoU_by_epoch"])
    fig = plot_parsing_calibration(frame)
    depth_axis, curves = fig.axes
    assert len(curves.lines) == 2 + 1  # a curve per run and the target line
    assert [t.get_text() for t in depth_axis.get_xticklabels()] == ["vgg16", "hg-1s-1u"]
    # the paper's numbers are drawn where the paper has one (hg-1s-1u: 41.1), labelled as the paper's
    labels = depth_axis.get_legend_handles_labels()[1]
    assert any(label.startswith("paper's") for label in labels) and paper_parsing_miou()["hg-1s-1u"] == 41.1


def test_calibrate_parsing_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, png = tmp_path / "p.csv", tmp_path / "p.png"
    common = ["calibrate", "--parsing", "--scale", "smoke", "--runs", str(tmp_path / "runs"), "--csv", str(csv),
              "--figure", str(png), "--quiet"]
    assert cli_main(common + ["--networks", "hg-1s-9u"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown parsing network 'hg-1s-9u'; known: vgg16" in err
    assert not csv.exists()
    # the two calibrations' options do not mix
    assert cli_main(common + ["--levels", "hard"]) == 2
    pose_only = "--levels, --experiment, --epochs and --offset-designs belong to the pose-only calibration"
    assert pose_only in capsys.readouterr().err
    assert cli_main(common + ["--epochs", "4"]) == 2
    assert pose_only in capsys.readouterr().err
    assert cli_main(common + ["--offset-designs", "shared"]) == 2
    assert "--offset-designs belong to the pose-only calibration" in capsys.readouterr().err
    assert cli_main(["calibrate", "--scale", "smoke", "--networks", "vgg16"]) == 2
    assert "--networks chooses parsing networks: add --parsing" in capsys.readouterr().err
    assert cli_main(common + ["--networks", "hg-1s-2u", "hg-1s-1u"]) == 0
    out = capsys.readouterr().out
    assert "hg-1s-2u: mIoU" in out and "target 40" in out and "mIoU rises with depth 1u->2u" in out
    table = pd.read_csv(csv)
    assert list(table["network"]) == ["hg-1s-2u", "hg-1s-1u"] and (table["seed"] == 0).all()
    assert png.stat().st_size > 10_000
    # --append keeps other rows, replaces a re-run (network, seed) and sorts shallow to deep
    assert cli_main(common + ["--networks", "vgg16", "hg-1s-2u", "--append"]) == 0
    table = pd.read_csv(csv)
    assert list(table["network"]) == ["vgg16", "hg-1s-1u", "hg-1s-2u"]
    # --append onto a table that is not a parsing calibration: one line naming the file
    pd.DataFrame({"level": ["mild"], "seed": [0]}).to_csv(csv, index=False)
    capsys.readouterr()
    assert cli_main(common + ["--networks", "vgg16", "--append"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{csv} has no column(s) ['network']" in err


def test_calibration_budgets_keep_the_schedule_shape() -> None:
    base = get_experiment("table5/baseline", "cpu", 0)  # cpu: 32 epochs on data level default-near
    level = base.data.synthetic.difficulty
    assert calibration_config(level, "cpu", 0, "table5/baseline", epochs=base.train.epochs) == base
    shorter = calibration_config(level, "cpu", 0, "table5/baseline", epochs=8)
    # the rate halves after 24 of 32 epochs, so after 6 of 8; nothing else moves
    assert (base.train.epochs, base.train.milestones) == (32, (24,))
    assert (shorter.train.epochs, shorter.train.milestones) == (8, (6,))
    assert shorter.model == base.model and shorter.data == base.data
    assert shorter.train.lr == base.train.lr and shorter.train.batch_size == base.train.batch_size
    assert calibration_config(level, "cpu", 0, "table5/baseline", epochs=1).train.milestones == (1,)
    # another level: its own data folder, the same budget
    other = calibration_config("default", "cpu", 0, "table5/baseline", epochs=8)
    assert other.data.root == f"{base.data.root}-default" and other.train == shorter.train
    with pytest.raises(ValueError, match="at least 1 epoch"):
        calibration_config(level, "cpu", 0, "table5/baseline", epochs=0)
    # another offset design changes that and nothing else; a single-person baseline has no offset head
    shared = calibration_config(level, "cpu", 0, "table5/baseline", epochs=8, offset_design="shared")
    assert (base.model.offset_design, shared.model.offset_design) == ("separate", "shared")
    assert dataclasses.replace(shared.model, offset_design="separate") == shorter.model and shared.train == shorter.train
    with pytest.raises(ValueError, match="table2/hg-1s-1u is single-person: it has no offset head"):
        calibration_config("default", "cpu", 0, "table2/hg-1s-1u", offset_design="shared")


def test_multi_person_calibration_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the multi-person baseline at two budgets: its own table and figure, mAP as the headline
    out = tmp_path / "results"
    args = ["calibrate", "--scale", "smoke", "--experiment", "table5/baseline", "--levels", "default",
            "--epochs", "1", "2", "--runs", str(tmp_path / "runs"), "--quiet"]
    assert cli_main([*args, "--csv", str(out / "mp.csv"), "--figure", str(out / "mp.png")]) == 0
    table = pd.read_csv(out / "mp.csv")
    assert list(table["epochs"]) == [1, 2] and table["mAP"].between(0, 100).all()
    assert [len(c.split(";")) for c in table["val_pck_by_epoch"]] == [1, 2]
    # the wider-tolerance diagnostic: columns per factor; at factor 1 it is the run's own final evaluation
    assert table[["mAP_tol2x", "mAP_tol4x", "mAP_gt_grouping"]].apply(lambda c: c.between(0, 100)).all().all()
    [(_, cached)] = run_calibration(["default"], "smoke", [0], "table5/baseline", out=tmp_path / "runs", quiet=True,
                                    budgets=[2])
    assert cached.cached
    wider = predict_val_people(cached.config, cached.run_dir).wider_tolerance_maps((1.0,))
    assert wider == {"mAP_tol1x": pytest.approx(cached.eval["mAP"], abs=1e-9)}
    assert "mAP" in capsys.readouterr().out
    fig = plot_calibration(table)
    assert fig.axes[0].get_ylabel() == "val multi-person mAP (%)"
    assert [t.get_text().split(" (")[0] for t in fig.axes[0].get_legend().get_texts()][1:] == [
        "default, 1 epochs", "default, 2 epochs"]
    # --append replaces a re-run (level, epochs, seed) and keeps the other budget
    assert cli_main([*args[:-4], "--epochs", "2", "--runs", str(tmp_path / "runs"), "--quiet", "--append",
                     "--csv", str(out / "mp.csv"), "--figure", str(out / "mp.png")]) == 0
    assert list(pd.read_csv(out / "mp.csv")["epochs"]) == [1, 2]
    assert cli_main([*args[:-4], "--epochs", "0", "--csv", str(out / "x.csv")]) == 2
    assert "--epochs" in capsys.readouterr().err
    # offset designs as a third axis: a column of the table and of the curves' labels
    assert cli_main([*args[:-4], "--epochs", "1", "--offset-designs", "shared", "separate", "--runs",
                     str(tmp_path / "runs"), "--quiet", "--csv", str(out / "d.csv"), "--figure", str(out / "d.png")]) == 0
    designs = pd.read_csv(out / "d.csv")
    assert list(designs["offset_design"]) == ["shared", "separate"] and designs["mAP"].between(0, 100).all()
    assert [t.get_text().split(" (")[0] for t in plot_calibration(designs).axes[0].get_legend().get_texts()][1:] == [
        "default, shared offsets", "default, separate offsets"]
    assert cli_main(["calibrate", "--scale", "smoke", "--offset-designs", "shared", "--csv", str(out / "x.csv")]) == 2
    assert "--offset-designs: table2/hg-1s-1u is single-person and has no offset head" in capsys.readouterr().err
    assert not (out / "x.csv").exists()
