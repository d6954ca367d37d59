"""The command line through ``piltools.__main__.main``: bad input to ``evaluate-lip``, and ``params``.

Bad input ends a command with exit code 2 and ONE stderr line
``piltools CMD: message`` that names the input (no traceback).
"""
from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piltools.__main__ import main
from piltools.cli.params import PAPER_WIDTH
from piltools.joints import J, NUM_JOINTS
from piltools.models import create_model, list_models


def _gt_line(name: str = "a.jpg") -> str:
    # joint j at (10 + j, 20 + j), visible: 1 + 16 * 3 = 49 fields
    return ",".join([name] + [f for j in range(NUM_JOINTS) for f in (str(10 + j), str(20 + j), "0")])


def _one_error_line(capsys: pytest.CaptureFixture, command: str) -> str:
    """The single stderr line of a failed command, checked to be one line with the command's prefix."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"piltools {command}: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture
def gt_csv(tmp_path: Path) -> Path:
    path = tmp_path / "gt.csv"
    path.write_text(_gt_line() + "\n")
    return path


# ----------------------------------------------------------------------------
# evaluate-lip: bad input
# ----------------------------------------------------------------------------
def test_evaluate_lip_jpeg_names_file_and_expected_format(tmp_path: Path, gt_csv: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8), (200, 10, 10)).save(jpeg)
    assert jpeg.read_bytes()[:2] == b"\xff\xd8"  # a JPEG starts with the SOI marker, not UTF-8
    assert main(["evaluate-lip", str(jpeg), str(gt_csv)]) == 2
    line = _one_error_line(capsys, "evaluate-lip")
    assert f"prediction file {jpeg}: not a text file (byte 0xff at offset 0" in line
    assert "expected a LIP pose CSV" in line


@pytest.mark.parametrize("side", ["prediction", "ground-truth"])
def test_evaluate_lip_missing_file_says_which_side(tmp_path: Path, gt_csv: Path, side: str,
                                                   capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.csv"
    argv = [str(missing), str(gt_csv)] if side == "prediction" else [str(gt_csv), str(missing)]
    assert main(["evaluate-lip", *argv]) == 2
    line = _one_error_line(capsys, "evaluate-lip")
    assert f"{side} file {missing} does not exist" in line


def test_evaluate_lip_header_is_rejected(tmp_path: Path, gt_csv: Path, capsys: pytest.CaptureFixture) -> None:
    with_header = tmp_path / "header.csv"
    header = ",".join(["name"] + [f"{a}{j}" for j in range(NUM_JOINTS) for a in "xyv"])
    with_header.write_text(header + "\n" + _gt_line() + "\n")
    assert main(["evaluate-lip", str(gt_csv), str(with_header)]) == 2
    line = _one_error_line(capsys, "evaluate-lip")
    assert f"ground-truth file {with_header}:1: looks like a header" in line
    assert "no header line" in line


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "abc", "1.5"])
def test_evaluate_lip_bad_threshold(gt_csv: Path, value: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["evaluate-lip", str(gt_csv), str(gt_csv), "--threshold", value]) == 2
    line = _one_error_line(capsys, "evaluate-lip")
    assert f"--threshold {value!r}: expected a number in (0, 1]" in line


def test_evaluate_lip_threshold_changes_the_score(tmp_path: Path, gt_csv: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    # head size = |head_top - neck| = |(19, 29) - (18, 28)| = sqrt(2) = 1.414 px.
    # Every predicted joint is 0.5 px to the right: 0.5 / 1.414 = 0.354 of the head size,
    # correct at threshold 0.5 (PCK 100) and wrong at 0.3 (PCK 0).
    pred = tmp_path / "pred.csv"
    fields = _gt_line().split(",")
    for j in range(NUM_JOINTS):
        fields[1 + 3 * j] = f"{10 + j + 0.5}"
    pred.write_text(",".join(fields) + "\n")
    assert main(["evaluate-lip", str(pred), str(gt_csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["PCK"] == 100.0
    assert main(["evaluate-lip", str(pred), str(gt_csv), "--json", "--threshold", "0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["PCK"] == 0.0


def _reject_constant(name: str) -> float:
    raise AssertionError(f"non-standard JSON constant {name} in the output")


def test_evaluate_lip_json_is_strict(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # ground truth without wrists and ankles: those columns count nothing -> NaN in the table,
    # which strict JSON writes as null (bare NaN would make the parse_constant hook raise).
    fields = _gt_line().split(",")
    for joint in ("r_wrist", "l_wrist", "r_ankle", "l_ankle"):
        start = 1 + 3 * J[joint]
        fields[start:start + 3] = ["nan", "nan", "nan"]
    gt = tmp_path / "gt.csv"
    gt.write_text(",".join(fields) + "\n")
    assert main(["evaluate-lip", str(gt), str(gt), "--json"]) == 0
    table = json.loads(capsys.readouterr().out, parse_constant=_reject_constant)
    assert table["Wri."] is None and table["Ank."] is None
    assert table["Head"] == 100.0 and table["PCK"] == 100.0
    assert table["per_joint"][J["r_wrist"]] is None and table["per_joint"][J["neck"]] == 100.0


def test_evaluate_lip_names_differ(tmp_path: Path, gt_csv: Path, capsys: pytest.CaptureFixture) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text(_gt_line("b.jpg") + "\n")
    assert main(["evaluate-lip", str(pred), str(gt_csv)]) == 2
    line = _one_error_line(capsys, "evaluate-lip")
    assert "images with ground truth but no prediction: 1 ('a.jpg')" in line
    assert "predicted images without ground truth: 1 ('b.jpg')" in line


# ----------------------------------------------------------------------------
# params
# ----------------------------------------------------------------------------
def _table_rows(out: str) -> dict[str, list[str]]:
    """Markdown table body -> {model name: cells after the name}."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("model",) and not cells[0].startswith("---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_params_lists_every_matching_model_with_exact_counts(capsys: pytest.CaptureFixture) -> None:
    pattern, width = "HG-1s-*", 8
    assert main(["params", "--pattern", pattern, "--width", str(width)]) == 0
    rows = _table_rows(capsys.readouterr().out)
    expected = list_models(pattern)
    assert len(expected) >= 2 and list(rows) == expected  # every registered match, sorted
    assert all(fnmatch.fnmatch(name, pattern) for name in rows)
    for name in expected:
        model = create_model(name, width=width)
        total = sum(p.numel() for p in model.parameters())
        assert rows[name][0] == str(width)
        assert rows[name][1] == f"{total / 1e6:.3f}"  # params (M), 3 decimals
        # the parts (pose net, parsing enc., adapter, adaptive conv, other) add up to the total
        parts = [float(v) for v in rows[name][2:7]]
        assert math.isclose(sum(parts), total / 1e6, abs_tol=5 * 0.0005 + 1e-9)


def test_params_counts_equal_numel_of_the_built_model() -> None:
    from piltools.cli.params import parameter_rows

    # at the paper width: every VGG model at 64, every hourglass model at 256
    rows = parameter_rows("VGG16*", width=None)
    assert rows and {r["width"] for r in rows} == {PAPER_WIDTH["VGG"]}
    for r in parameter_rows("*-PIL(*)", width=8):
        model = create_model(r["name"], width=8)
        assert r["total"] == sum(p.numel() for p in model.parameters())
        assert r["adapter"] == sum(p.numel() for p in model.adapter.parameters()) > 0
        assert r["other"] == r["total"] - sum(r[k] for k in ("pose_net", "parsing_encoder", "adapter",
                                                             "adaptive_conv"))
        assert r["kernel"] == model.kernel_size(256)


def test_params_unmatched_pattern_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["params", "--pattern", "NoSuchNet*"]) == 2
    line = _one_error_line(capsys, "params")
    assert "--pattern 'NoSuchNet*'" in line and "matches no registered model" in line


# ----------------------------------------------------------------------------
# the help texts
# ----------------------------------------------------------------------------
def test_help_names_every_command_without_process_words(capsys: pytest.CaptureFixture) -> None:
    from piltools.__main__ import COMMANDS

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    for word in ("issue", "worker"):
        assert word not in out.lower()


# ----------------------------------------------------------------------------
# bench model: its training step is the experiments' recipe
# ----------------------------------------------------------------------------
def test_bench_step_is_one_training_step_of_the_experiment_recipe() -> None:
    import copy
    import os

    import torch

    from piltools.benchmarks.model import (
        BenchSizes,
        bench_config,
        machine_description,
        make_batch,
        make_train_step,
    )
    from piltools.experiments import get_experiment
    from piltools.losses import total_loss
    from piltools.training.builders import build_model

    # the benchmark uses table2/hg-8s-1u-pil; the one-stack PIL row runs the same code, faster
    experiment = "table2/hg-1s-1u-pil"
    sizes = BenchSizes(width=16, input_size=64, train_batch=2, adapter_pools=1, step_reps=1)
    cfg = bench_config(experiment, sizes)
    paper = get_experiment(experiment, "paper")
    # lr, beta and parsing classes come from the resolved paper-scale experiment, sizes from the benchmark
    assert (cfg.train.lr, cfg.train.beta, cfg.model.num_parsing) == (paper.train.lr, paper.train.beta,
                                                                     paper.model.num_parsing)
    assert (cfg.model.width, cfg.data.input_size, cfg.train.batch_size) == (16, 64, 2)

    cpu = torch.device("cpu")
    torch.manual_seed(0)
    model = build_model(cfg)
    reference = copy.deepcopy(model)
    initial = copy.deepcopy(model)
    batch = make_batch(cfg, model, cpu)
    assert batch["heatmaps"].shape == (2, model.num_heatmaps, 16, 16)  # 64 px input / stride 4
    assert batch["parsing"].shape == (2, 64, 64) and int(batch["parsing"].max()) < cfg.model.num_parsing

    make_train_step(cfg, model, cpu)()
    # the same step by hand: total_loss with the config's beta, RMSProp at the config's rate
    reference.train()
    loss, _ = total_loss(reference(batch["image"]), batch, beta=cfg.train.beta)
    loss.backward()
    torch.optim.RMSprop(reference.parameters(), lr=cfg.train.lr).step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert torch.equal(p, q), name
    # and the step did move the weights (so the equality above is not trivially true)
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), initial.parameters()))

    line = machine_description(cpu)
    assert f"torch {torch.__version__}" in line and f"{os.cpu_count()} cores" in line
    assert line.endswith(f"{torch.get_num_threads()} torch threads")
