"""The PIL inspector library (piltools.inspection), its widget callbacks, the synthetic attribute sidecar and the
``inspect`` command's bad-input errors."""
from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from piltools.datasets.transforms import normalize
from piltools.errors import InputError
from piltools.experiments import with_changes
from piltools.inspection import analysis as A
from piltools.inspection.app import InspectorApp
from piltools.inspection.data import (
    Inspection,
    RunRef,
    cache_path,
    check_pair,
    forward_with_kernels,
    inspect_pair,
    load_inspection,
    load_or_compute,
    resolve_run,
    save_inspection,
)
from piltools.joints import J, NUM_JOINTS
from piltools.synthetic import ensure_attributes, ensure_synthetic, generate, read_attributes, render_sample
from piltools.synthetic.attributes import attributes_path, sample_attributes

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------------
# A hand-made inspection with known corrections
# --------------------------------------------------------------------------------------------------
def fake_inspection() -> Inspection:
    """Three images; head size 10 px (head top (100, 90), neck (100, 100)), so PCKh@0.5 allows 5 px.

    - img0: baseline r_ankle 20 px off (2 head sizes), PIL exact            -> fixed 1, net +1, mean change -2/14
    - img1: baseline exact, PIL l_wrist 8 px off (0.8); pelvis off for both -> broke 1, net -1 (pelvis not scored)
    - img2: both exact                                                      -> net 0
    """
    n, k = 3, NUM_JOINTS
    gt = np.zeros((n, k, 3))
    gt[:, :, 0] = 100.0 + 3.0 * np.arange(k)
    gt[:, :, 1] = 120.0
    gt[:, :, 2] = 1.0
    gt[:, J["neck"], :2] = (100.0, 100.0)
    gt[:, J["head_top"], :2] = (100.0, 90.0)
    base, pil = gt.copy(), gt.copy()
    base[0, J["r_ankle"], 0] += 20.0
    pil[1, J["l_wrist"], 1] += 8.0
    base[1, J["pelvis"], 0] += 30.0
    pil[1, J["pelvis"], 0] += 30.0
    s, h, c, kk = 64, 16, 4, 3
    rng = np.random.default_rng(0)
    return Inspection(
        kind="lip", baseline_label="base (b)", pil_label="pil (p)",
        names=np.array(["img0.jpg", "img1.jpg", "img2.jpg"]),
        images=np.zeros((n, s, s, 3), np.uint8), affine=np.tile(np.eye(2, 3), (n, 1, 1)) * 0.25,
        gt=gt, gt_input=gt * 0.25, reference=np.full(n, 10.0), pred_base=base, pred_pil=pil,
        heatmaps_base=np.zeros((n, k, h, h), np.float16), heatmaps_pil=np.zeros((n, k, h, h), np.float16),
        parsing_pred=np.zeros((n, s, s), np.uint8), parsing_gt=np.zeros((n, s, s), np.uint8),
        miou=np.array([50.0, 60.0, np.nan]), kernels=rng.normal(size=(n, c, kk, kk)).astype(np.float32),
        adapted_norm=np.zeros((n, h, h), np.float32),
        attributes=pd.DataFrame({"view": ["front", "side", "front"], "occluded_joints": [0, 3, 1],
                                 "truncated_joints": [0, 0, 2]}),
    )


def test_fixed_and_broke_joints_follow_pckh():
    insp = fake_inspection()
    assert insp.fixed[0, J["r_ankle"]] and insp.fixed.sum() == 1
    assert insp.broke[1, J["l_wrist"]] and insp.broke.sum() == 1
    assert not insp.counted[:, J["pelvis"]].any() and not insp.counted[:, J["thorax"]].any()
    table = A.corrections(insp)
    assert table.net.tolist() == [1, -1, 0]
    assert table.scored.tolist() == [14, 14, 14]
    assert table.loc["img0.jpg", "mean_change"] == pytest.approx(-2.0 / 14)  # 20 px -> 0 px = -2 head sizes
    assert table.loc["img1.jpg", "mean_change"] == pytest.approx(0.8 / 14)
    assert table.loc["img0.jpg", "pckh_base"] == pytest.approx(100 * 13 / 14)
    assert table.loc["img1.jpg", "pckh_pil"] == pytest.approx(100 * 13 / 14)
    # overall PCK pools every counted joint: baseline misses 1 of 42, PIL misses 1 of 42
    assert insp.pck() == pytest.approx((100 * 41 / 42, 100 * 41 / 42))
    assert A.correction_summary(insp, "img0.jpg") == (
        "img0.jpg: PIL fixed 1, broke 0 (net +1) of 14 scored joints; correct baseline 13 -> PIL 14")


def test_joint_table_verdicts_and_distance_change():
    t = A.joint_table(fake_inspection(), "img1.jpg").set_index("joint")
    assert t.loc["l_wrist", "verdict"] == "BROKE" and t.loc["l_wrist", "change_px"] == pytest.approx(8.0)
    assert t.loc["l_wrist", "side"] == "left" and t.loc["neck", "side"] == "centre"
    assert t.loc["pelvis", "verdict"] == "not scored" and np.isnan(t.loc["pelvis", "change_px"])
    assert t.loc["r_ankle", "verdict"] == "both right"


def test_sort_orders():
    insp = fake_inspection()
    table = A.corrections(insp)
    assert list(A.sort_table(insp, table, A.MOST_IMPROVED).index) == ["img0.jpg", "img2.jpg", "img1.jpg"]
    assert list(A.sort_table(insp, table, A.MOST_HARMED).index) == ["img1.jpg", "img2.jpg", "img0.jpg"]
    # by joint: r_ankle changes by -2 head sizes on img0, 0 elsewhere (ties by name)
    assert list(A.sort_table(insp, table, "by joint: r_ankle").index) == ["img0.jpg", "img1.jpg", "img2.jpg"]
    assert list(A.sort_table(insp, table, "by joint: l_wrist").index) == ["img0.jpg", "img2.jpg", "img1.jpg"]
    assert A.top_images(insp, A.MOST_HARMED, 1).index[0] == "img1.jpg"
    with pytest.raises(InputError, match="unknown sort order 'best'"):
        A.sort_table(insp, table, "best")


def test_attribute_filters():
    insp = fake_inspection()
    table = A.corrections(insp)
    assert list(A.filter_table(insp, table, "view: front").index) == ["img0.jpg", "img2.jpg"]
    assert list(A.filter_table(insp, table, "occluded joints").index) == ["img1.jpg", "img2.jpg"]
    assert list(A.filter_table(insp, table, "truncated").index) == ["img2.jpg"]
    assert len(A.filter_table(insp, table, "all")) == 3
    with pytest.raises(InputError, match="unknown filter 'view: top'"):
        A.filter_table(insp, table, "view: top")
    insp.attributes = None  # real data: only "all"
    assert list(A.attribute_filters(insp)) == ["all"]


def test_kernel_space_finds_the_one_varying_direction():
    insp = fake_inspection()
    direction = np.random.default_rng(1).normal(size=insp.kernels.shape[1:]).astype(np.float32)
    insp.kernels = np.stack([t * direction for t in (-1.0, 0.0, 2.0)])  # kernels on one line through the mean
    space = A.kernel_space(insp)
    assert space.explained[0] == pytest.approx(1.0, abs=1e-6)
    # scores along PC1 are the positions on the line (mean 1/3), up to the sign fixed by the largest loading
    sign = np.sign(direction.reshape(-1)[np.abs(direction).argmax()])
    norm = np.linalg.norm(direction)
    assert space.coords[:, 0] == pytest.approx(sign * norm * (np.array([-1.0, 0.0, 2.0]) - 1 / 3), abs=1e-4)


def test_index_of_unknown_image():
    with pytest.raises(InputError, match="image 'nope.jpg' is not in this inspection"):
        fake_inspection().index_of("nope.jpg")


def test_save_and_load_round_trip(tmp_path):
    insp = fake_inspection()
    path = save_inspection(tmp_path / "inspect_x.npz", insp)
    back = load_inspection(path)
    assert back is not None and back.pil_label == "pil (p)"
    assert np.array_equal(back.pred_pil, insp.pred_pil) and list(back.names) == list(insp.names)
    pd.testing.assert_frame_equal(back.attributes, insp.attributes)
    assert load_inspection(tmp_path / "missing.npz") is None


# --------------------------------------------------------------------------------------------------
# The real smoke pair
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair():
    return inspect_pair(scale="smoke", quiet=True)


def test_inspection_reproduces_the_runs_evaluated_pck(pair):
    evaluated = [json.loads((r.run_dir / "eval.json").read_text())["pck"] for r in (pair.baseline, pair.pil)]
    assert pair.inspection.pck() == pytest.approx(evaluated)
    n = len(pair.inspection)
    assert n == pair.pil.config.data.max_val and pair.inspection.attributes is not None
    assert pair.inspection.kernels.shape[0] == n and pair.inspection.kernels.shape[2] == 3  # smoke: 3x3 kernels


def test_cache_is_reused(pair):
    path = cache_path(pair.baseline, pair.pil)
    stamp = path.stat().st_mtime_ns
    again = load_or_compute(pair.baseline, pair.pil)
    assert path.stat().st_mtime_ns == stamp
    assert np.array_equal(again.kernels, pair.inspection.kernels)


def test_given_kernels_path_matches_the_model(pair):
    insp, model = pair.inspection, pair.model
    images = normalize(insp.images[:2])
    with torch.no_grad():
        out = model(images)
        mine = forward_with_kernels(model, images, out.kernels)
    assert torch.allclose(mine, out.heatmaps[-1], atol=1e-6)
    assert np.allclose(out.kernels.numpy(), insp.kernels[:2], atol=1e-6)  # the cached kernels are the model's


def test_counterfactual_moves_joints_only_with_other_kernels(pair):
    insp, model = pair.inspection, pair.model
    a, b = insp.names[0], insp.names[1]
    same = A.counterfactual(insp, model, a, a)
    assert np.allclose(same.shift_px, 0.0)
    other = A.counterfactual(insp, model, a, b)
    assert other.donor == b and other.shift_px.shape == (NUM_JOINTS,)
    assert np.allclose(other.own, same.own)  # own kernels give the same joints whatever the donor
    assert f"{a} with the kernels of {b}" in other.summary()


def test_widget_callbacks(pair):
    insp = pair.inspection
    app = InspectorApp(inspection=insp, model=pair.model)
    assert app.shown == A.top_images(insp, A.MOST_IMPROVED, 1).index[0]
    app.sort.value = A.MOST_HARMED
    assert app.shown == A.top_images(insp, A.MOST_HARMED, 1).index[0]
    assert app.summary == A.correction_summary(insp, app.shown)
    assert html.escape(app.summary) in app.summary_html.value
    last = app.rows.index[-1]
    app.image.value = last
    assert app.shown == last and app.joints_image.value[:4] == b"\x89PNG"
    app.filter.value = "view: side"
    assert (app.rows.view == "side").all() and (app.shown is None or app.shown in app.rows.index)
    app.filter.value = "all"
    app.sort.value = "by joint: neck"
    app.joint.value = "l_knee"
    assert app.sort.value == "by joint: l_knee"
    app.donor.value = insp.names[-1]
    assert app.counterfactual.image == app.shown and app.counterfactual.donor == insp.names[-1]
    app.close()
    assert app.sort.comm is None and app.widget.comm is None


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------
def test_resolve_run_rejects_a_folder_without_config(tmp_path):
    with pytest.raises(InputError, match="not a run directory"):
        resolve_run(str(tmp_path), "smoke")


def test_resolve_run_rejects_an_unknown_experiment():
    with pytest.raises(InputError, match="unknown experiment 'table2/hg-1s-1u-pl'"):
        resolve_run("table2/hg-1s-1u-pl", "smoke")


def test_check_pair_rejects_a_non_pil_model_and_other_data(pair):
    with pytest.raises(InputError, match="is not a PIL model"):
        check_pair(pair.baseline, pair.baseline)
    other = RunRef(with_changes(pair.baseline.config, data={"max_val": 4}), pair.baseline.run_dir)
    with pytest.raises(InputError, match="evaluated on different data"):
        check_pair(other, pair.pil)


def test_cli_inspect_names_a_bad_pil_run_in_one_line(pair):
    proc = subprocess.run([sys.executable, "-m", "piltools", "inspect", "--scale", "smoke", "--pil",
                           "table2/hg-1s-1u"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PILTOOLS_QUIET": "1"})
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("piltools inspect: warning:")]
    assert len(errors) == 1 and errors[0].startswith("piltools inspect: ") and "is not a PIL model" in errors[0]


def test_cli_inspect_rejects_a_bad_port():
    proc = subprocess.run([sys.executable, "-m", "piltools", "inspect", "--port", "70000"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "expected a TCP port 1-65535, got '70000'" in proc.stderr


# --------------------------------------------------------------------------------------------------
# The synthetic attribute sidecar
# --------------------------------------------------------------------------------------------------
def test_generate_writes_the_attribute_sidecar(tmp_path):
    root = generate("lip", tmp_path / "lip", n=4, seed=3, size=64, split="val")
    rows = read_attributes(root, "val")
    expected = [r for i in range(4) for r in sample_attributes(render_sample("lip", 3, "val", i, 64))]
    assert rows == expected
    assert {r["view"] for r in rows} <= {"front", "back", "side"}
    # the sidecar is the only file the real LIP layout lacks
    assert sorted(p.name for p in root.iterdir()) == ["lip_val_set.csv", "val_attributes.csv", "val_images",
                                                       "val_segmentations"]


def test_sample_attributes_count_occluded_and_truncated_joints():
    sample = render_sample("lip", 0, "val", 1, 64)
    person = sample.people[0]
    row = sample_attributes(sample)[0]
    inside = person.joints[:, 2] > 0
    assert row["truncated_joints"] == int((~inside).sum())
    assert row["occluded_joints"] == int((person.occluded & inside).sum())
    assert row["view"] == person.view and row["name"] == "val_000001"


def test_ensure_attributes_rebuilds_a_missing_sidecar_from_the_manifest(tmp_path):
    root = ensure_synthetic("lip", tmp_path / "lip", n_train=2, n_val=3, size=64, seed=1)
    written = attributes_path(root, "val").read_bytes()
    attributes_path(root, "val").unlink()  # a dataset generated before the sidecar existed
    assert ensure_attributes(root, "val") == attributes_path(root, "val")
    assert attributes_path(root, "val").read_bytes() == written
    assert ensure_attributes(tmp_path, "val") is None  # no manifest: real data, nothing written
    assert read_attributes(tmp_path, "val") is None
