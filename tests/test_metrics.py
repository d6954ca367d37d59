"""Metrics on hand-placed arrays (expected values derived beside each assert)
and LIP PCKh on the real LIP val ground truth."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from piltools.errors import InputError
from piltools.joints import J, NUM_JOINTS
from piltools.lipcsv import read_lip_csv
from piltools.metrics import (
    ARM_JOINTS,
    AUC_THRESHOLDS,
    LIP_COLUMNS,
    MPII_COLUMNS,
    box_reference_distance,
    confusion_matrix,
    curve_area,
    lip_head_size,
    lip_pckh,
    lip_pckh_arrays,
    mpii_auc,
    mpii_head_size,
    mpii_pckh,
    multi_person_ap,
    parsing_scores,
    pck_accuracy,
    voc_ap,
)


def _lip_gt() -> np.ndarray:
    """One image: every joint at (100, 100 + 10 j); neck (100, 180), head top
    (100, 190) -> head size 10, so the PCKh@0.5 radius is 5 px."""
    gt = np.zeros((1, NUM_JOINTS, 3))
    gt[0, :, 0] = 100.0
    gt[0, :, 1] = 100.0 + 10.0 * np.arange(NUM_JOINTS)
    gt[0, :, 2] = 1.0
    return gt


# ----------------------------------------------------------------------------
# LIP PCKh
# ----------------------------------------------------------------------------
def test_lip_head_size() -> None:
    gt = _lip_gt()
    # neck y = 100 + 80, head top y = 100 + 90 -> 10
    assert lip_head_size(gt).tolist() == [10.0]
    gt[0, J["neck"], 2] = 0.0
    assert np.isnan(lip_head_size(gt)[0])


def test_lip_pckh_hand_placed() -> None:
    gt = _lip_gt()
    pred = gt[..., :2].copy()
    pred[0, J["r_wrist"], 0] += 5.0  # exactly 0.5 head sizes -> correct (<=)
    pred[0, J["l_wrist"], 0] += 6.0  # 0.6 -> wrong
    pred[0, J["r_shoulder"], 1] += 3.0  # 0.3 -> correct
    pred[0, J["l_shoulder"]] = (103.0, pred[0, J["l_shoulder"], 1] + 4.0)  # (3, 4) -> 5 px -> 0.5 -> correct
    pred[0, J["r_ankle"]] = np.nan  # missing prediction -> wrong
    pred[0, J["pelvis"], 0] += 100.0  # pelvis is not scored anywhere
    gt[0, J["l_ankle"], 2] = 0.0  # missing in GT -> excluded
    gt[0, J["l_ankle"], :2] = np.nan
    t = lip_pckh_arrays(pred, gt)
    assert t["Wri."] == 50.0  # r_wrist right, l_wrist wrong: 1 / 2
    assert t["Sho."] == 100.0  # both within 0.5
    assert t["Ank."] == 0.0  # r_ankle missing prediction (wrong); l_ankle excluded -> 0 / 1
    assert t["counts"]["Ank."] == 1
    assert t["Head"] == t["Elb."] == t["Hip"] == t["Knee"] == 100.0
    # U.Body: joints 8-15 = 8 joints, only l_wrist wrong -> 7 / 8
    assert t["U.Body"] == pytest.approx(100.0 * 7 / 8)
    # PCK: 14 scored joints minus excluded l_ankle = 13; wrong: l_wrist, r_ankle -> 11 / 13
    assert t["counts"]["PCK"] == 13
    assert t["PCK"] == pytest.approx(100.0 * 11 / 13)
    assert t["images"] == 1 and t["excluded_images"] == 0


def test_lip_pckh_excludes_images_without_head_and_pools_pairs() -> None:
    gt = np.concatenate([_lip_gt(), _lip_gt()])  # (2, 16, 3)
    gt[1, J["head_top"], 2] = 0.0  # image 1 has no head top -> excluded entirely
    pred = gt[..., :2].copy()
    pred[1] += 1000.0  # would be all wrong, but the image is excluded
    gt3 = np.concatenate([gt, _lip_gt()])  # image 2: a third image with l_elbow missing in GT
    gt3[2, J["l_elbow"], 2] = 0.0
    pred3 = np.concatenate([pred, _lip_gt()[..., :2]])
    pred3[2, J["r_elbow"], 0] += 50.0  # r_elbow wrong in image 2
    t = lip_pckh_arrays(pred3, gt3)
    assert t["images"] == 2 and t["excluded_images"] == 1
    # Elb. pools counts: image 0 r+l right (2/2), image 2 r wrong, l excluded (0/1) -> 2 / 3
    # (the mean of per-joint PCKs would be (50 + 100) / 2 = 75 instead)
    assert t["counts"]["Elb."] == 3
    assert t["Elb."] == pytest.approx(100.0 * 2 / 3)


def test_lip_pckh_by_name_and_missing_names() -> None:
    gt_arr = _lip_gt()[0]
    far = gt_arr[:, :2] + 100.0
    gt = {"a.jpg": gt_arr, "b.jpg": gt_arr}
    # predictions in the other order: matched by name, not by position
    pred = {"b.jpg": gt_arr[:, :2], "a.jpg": far}
    t = lip_pckh(pred, gt)
    assert t["PCK"] == 50.0  # a all wrong (14), b all right (14) -> 14 / 28
    with pytest.raises(InputError) as err:  # bad input (an InputError is a ValueError)
        lip_pckh({"a.jpg": far, "c.jpg": far}, gt)
    msg = str(err.value)
    assert "no prediction: 1 ('b.jpg')" in msg and "without ground truth: 1 ('c.jpg')" in msg
    many = {f"{i}.jpg": gt_arr for i in range(12)}
    with pytest.raises(ValueError, match=r"no prediction: 12 \('0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg' and 7 more\)"):
        lip_pckh({}, many)


# ----------------------------------------------------------------------------
# LIP PCKh on the real LIP val ground truth
# ----------------------------------------------------------------------------
def _real_gt(realdata: Path) -> dict[str, np.ndarray]:
    rows = read_lip_csv(realdata / "lip" / "lip_val_groundtruth.csv")
    return {name: row.joints for name, row in rows.items()}


def _shift(gt: dict[str, np.ndarray], fraction: float, joints: list[int] | None = None) -> dict[str, np.ndarray]:
    """Shift joints along x by ``fraction`` x that image's head size (images without a head: by 0)."""
    out = {}
    for name, g in gt.items():
        head = math.hypot(g[J["head_top"], 0] - g[J["neck"], 0], g[J["head_top"], 1] - g[J["neck"], 1])
        p = g[:, :2].copy()
        sel = list(range(NUM_JOINTS)) if joints is None else joints
        p[sel, 0] += fraction * (head if math.isfinite(head) else 0.0)
        out[name] = p
    return out


@pytest.mark.realdata
def test_real_lip_gt_against_itself_and_shifts(realdata: Path) -> None:
    gt = _real_gt(realdata)
    same = lip_pckh({n: g[:, :2] for n, g in gt.items()}, gt)
    for column in LIP_COLUMNS:
        assert same[column] == 100.0, column
    # 294 of the 10,000 val rows lack head top or neck (counted with the csv module below)
    raw = list(csv.reader((realdata / "lip" / "lip_val_groundtruth.csv").open()))
    col = lambda j: 1 + 3 * j  # x field of joint j
    no_head = sum(1 for r in raw if r[col(J["head_top"])] == "nan" or r[col(J["neck"])] == "nan")
    assert len(raw) == 10_000 and no_head == 294
    assert same["images"] == 10_000 - no_head and same["excluded_images"] == no_head

    # 0.3 head sizes < 0.5 -> everything correct; 0.6 > 0.5 -> everything wrong
    near = lip_pckh(_shift(gt, 0.3), gt)
    far = lip_pckh(_shift(gt, 0.6), gt)
    for column in LIP_COLUMNS:
        assert near[column] == 100.0, column
        assert far[column] == 0.0, column

    # only the wrists moved 0.6 head sizes: Wri. = 0, other pair columns 100,
    # U.Body = (U.Body joints - wrists) / U.Body joints, PCK likewise.
    # Counts derived straight from the raw csv rows of images with a head:
    with_head = [r for r in raw if r[col(J["head_top"])] != "nan" and r[col(J["neck"])] != "nan"]
    n_present = lambda names: sum(1 for r in with_head for n in names if r[col(J[n])] != "nan")
    wrists = n_present(["r_wrist", "l_wrist"])
    upper = n_present(["neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist"])
    scored = n_present(["r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle",
                        "neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist"])
    t = lip_pckh(_shift(gt, 0.6, [J["r_wrist"], J["l_wrist"]]), gt)
    assert t["Wri."] == 0.0 and t["counts"]["Wri."] == wrists
    for column in ("Head", "Sho.", "Elb.", "Hip", "Knee", "Ank."):
        assert t[column] == 100.0, column
    assert t["U.Body"] == pytest.approx(100.0 * (upper - wrists) / upper)
    assert t["PCK"] == pytest.approx(100.0 * (scored - wrists) / scored)
    assert 0 < t["PCK"] < 100


# ----------------------------------------------------------------------------
# MPII PCKh and AUC
# ----------------------------------------------------------------------------
def _mpii_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One person, all 16 joints at (50, 50); head box 30 x 40 -> diagonal 50,
    head size 0.6 * 50 = 30, PCKh@0.5 radius 15 px."""
    gt = np.zeros((1, NUM_JOINTS, 3))
    gt[..., :2] = 50.0
    gt[..., 2] = 1.0
    boxes = np.array([[0.0, 0.0, 30.0, 40.0]])
    return gt[..., :2].copy(), gt, boxes


def test_mpii_head_size() -> None:
    # 0.6 * hypot(30, 40) = 0.6 * 50 = 30
    assert mpii_head_size(np.array([[0.0, 0.0, 30.0, 40.0]])) == pytest.approx([30.0])


def test_mpii_pckh_hand_placed() -> None:
    pred, gt, boxes = _mpii_case()
    pred[0, J["head_top"], 0] += 15.0  # 15 / 30 = 0.5 -> correct
    pred[0, J["neck"], 0] += 16.0  # 16 / 30 > 0.5 -> wrong
    pred[0, J["pelvis"], 0] += 99.0  # not scored
    pred[0, J["thorax"], 0] += 99.0  # not scored
    pred[0, J["l_knee"], 1] += 20.0  # wrong
    t = mpii_pckh(pred, gt, boxes)
    assert t["Head"] == 50.0  # mean(neck 0, head top 100)
    assert t["Knee"] == 50.0  # mean(r_knee 100, l_knee 0)
    assert t["Sho."] == 100.0
    # UBody pools the 6 arm joints only: the wrong neck is not in it -> 6 / 6
    assert t["UBody"] == 100.0
    # Total pools the 14 scored joints: wrong = neck, l_knee -> 12 / 14
    assert t["Total"] == pytest.approx(100.0 * 12 / 14)
    assert t["per_joint"][J["pelvis"]] == 0.0  # computed per joint, but kept out of the table
    assert set(MPII_COLUMNS) <= set(t)


def test_mpii_ubody_pools_counts() -> None:
    pred, gt, boxes = _mpii_case()  # person 0
    pred[0, J["r_wrist"], 0] += 16.0  # 16 / 30 > 0.5 -> wrong
    pred[0, J["l_elbow"], 0] += 16.0  # wrong
    gt[0, J["l_wrist"], 2] = 0.0  # missing in GT -> excluded
    pred1, gt1, boxes1 = _mpii_case()  # person 1: all correct
    t = mpii_pckh(np.concatenate([pred, pred1]), np.concatenate([gt, gt1]), np.concatenate([boxes, boxes1]))
    # arm joints counted: 5 (person 0) + 6 (person 1) = 11; wrong: 2 -> 9 / 11 = 81.8.
    # The mean of the per-joint PCKh would differ: r_wrist 50, l_elbow 50, the other four 100 -> 83.3.
    assert t["UBody"] == pytest.approx(100.0 * 9 / 11)
    assert np.mean([t["per_joint"][j] for j in ARM_JOINTS]) == pytest.approx(500.0 / 6)


def test_curve_area_ramp_to_plateau() -> None:
    # y = min(100, 400 t) on t = 0, 0.01, ..., 0.5: a ramp 0 -> 100 over [0, 0.25], then 100.
    # Its area: triangle 0.25 * 100 / 2 = 12.5 plus rectangle 0.25 * 100 = 25 -> 37.5; the
    # kink lies on a threshold, so the trapezoid rule is exact; / span 0.5 -> 75.0.
    # The mean of the 51 values differs: (4 * (0 + 1 + ... + 24) + 26 * 100) / 51 = 3800 / 51 = 74.51.
    # (A straight ramp would not tell them apart: on an even grid both give (y_first + y_last) / 2.)
    curve = np.minimum(100.0, 400.0 * AUC_THRESHOLDS)
    assert curve_area(AUC_THRESHOLDS, curve) == pytest.approx(75.0)
    assert np.mean(curve) == pytest.approx(3800 / 51)
    # uneven thresholds: 0 -> 0, 0.1 -> 50, 0.4 -> 50: (0.1 * 25 + 0.3 * 50) / 0.4 = 17.5 / 0.4 = 43.75
    assert curve_area(np.array([0.0, 0.1, 0.4]), np.array([0.0, 50.0, 50.0])) == pytest.approx(43.75)


def test_curve_area_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="thresholds must be 1-D, finite and strictly increasing"):
        curve_area(np.array([0.0, 0.2, 0.1]), np.zeros(3))
    with pytest.raises(InputError, match="strictly increasing"):
        curve_area(np.array([0.5]), np.zeros(1))
    with pytest.raises(InputError, match=r"curve must have one value per threshold \(\(51,\)\); got \(50,\)"):
        curve_area(AUC_THRESHOLDS, np.zeros(50))


def test_mpii_auc() -> None:
    pred, gt, boxes = _mpii_case()
    pred[..., 0] += 7.65  # every joint at 7.65 / 30 = 0.255 head sizes
    # Total = 0 at thresholds 0 .. 0.25 and 100 at 0.26 .. 0.50. Trapezoids: the step
    # 0.25 -> 0.26 gives 0.01 * (0 + 100) / 2 = 0.5, then 0.24 * 100 = 24 -> 24.5 / 0.5 = 49.0
    # (the mean of the 51 values, 100 * 25 / 51 = 49.02, is not the official AUC).
    assert mpii_auc(pred, gt, boxes) == pytest.approx(49.0)
    assert mpii_auc(pred, gt, boxes) != pytest.approx(100.0 * 25 / 51)
    pred0, _, _ = _mpii_case()
    # perfect predictions are correct at every threshold including 0 -> 100
    assert mpii_auc(pred0, gt, boxes) == pytest.approx(100.0)
    with pytest.raises(InputError, match="strictly increasing"):
        mpii_auc(pred0, gt, boxes, thresholds=AUC_THRESHOLDS[::-1])


def test_pck_accuracy() -> None:
    gt = np.zeros((2, 2, 3))
    gt[..., 2] = 1.0
    gt[1, 1, 2] = 0.0  # excluded
    pred = np.zeros((2, 2, 2))
    pred[0, 1, 0] = 3.5  # norm 6.4, thr 0.5 -> radius 3.2: wrong
    pred[1, 0, 1] = 3.0  # within 3.2: right
    acc, per_joint = pck_accuracy(pred, gt, norm=6.4, thr=0.5)
    # counted: (0,0) right, (0,1) wrong, (1,0) right -> 2 / 3
    assert acc == pytest.approx(2 / 3)
    assert per_joint.tolist() == [1.0, 0.0]  # joint 0: 2/2, joint 1: 0/1


# ----------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------
def test_confusion_and_parsing_scores() -> None:
    gt = np.array([[0, 0, 1, 255], [1, 1, 2, 2]])
    pred = np.array([[0, 1, 1, 2], [1, 0, 2, 2]])
    conf = confusion_matrix(pred, gt, num_classes=4)
    # rows = gt, cols = pred; the 255 pixel is dropped
    # gt 0: pred 0, 1 ; gt 1: pred 1, 1, 0 ; gt 2: pred 2, 2 ; class 3 never appears
    expected = np.array([[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]])
    assert np.array_equal(conf, expected)
    s = parsing_scores(conf + conf)  # accumulating doubles every count; ratios unchanged
    # IoU0 = 1 / (2 + 2 - 1) = 1/3; IoU1 = 2 / (3 + 3 - 2) = 1/2; IoU2 = 2 / 2 = 1; IoU3 = NaN (absent)
    assert s["IoU"][:3] == pytest.approx([100 / 3, 50.0, 100.0])
    assert math.isnan(s["IoU"][3])
    assert s["mIoU"] == pytest.approx((100 / 3 + 50 + 100) / 3)  # nanmean over the 3 present classes
    assert s["pixel_acc"] == pytest.approx(100.0 * 5 / 7)  # trace 5 of 7 labelled pixels
    with pytest.raises(ValueError, match="gt labels span"):
        confusion_matrix(np.zeros((1, 1)), np.full((1, 1), 7), num_classes=4)


# ----------------------------------------------------------------------------
# Multi-person AP
# ----------------------------------------------------------------------------
def test_voc_ap() -> None:
    # sorted: TP, FP, TP with 2 positives: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # envelope: 1 at recall 1/2, 2/3 at recall 1 -> AP = 0.5 * 1 + 0.5 * 2/3
    assert voc_ap(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2) == pytest.approx(0.5 + 1 / 3)
    assert math.isnan(voc_ap(np.array([0.5]), np.array([False]), 0))


def test_box_reference_distance() -> None:
    # 0.1 * hypot(30, 40) = 5
    assert box_reference_distance(np.array([[10.0, 10.0, 40.0, 50.0]])).tolist() == pytest.approx([5.0])


def test_multi_person_ap_hand_placed() -> None:
    nan = np.nan
    # two GT people, 2 joint types, reference 10 -> a hit is within 5 px
    gt = np.array([
        [[0.0, 0.0, 1.0], [0.0, 10.0, 1.0]],      # person A
        [[100.0, 0.0, 1.0], [100.0, 10.0, 1.0]],  # person B
    ])
    ref = np.array([10.0, 10.0])
    pred = np.array([
        [[1.0, 0.0, 0.9], [0.0, 11.0, 0.8]],      # P0: hits both joints of A (PCK 1)
        [[100.0, 0.0, 0.7], [130.0, 10.0, 0.6]],  # P1: hits B's joint 0 only (PCK 0.5)
        [[0.0, 2.0, 0.95], [nan, nan, nan]],      # P2: PCK 0.5 with A, but A already went to P0
    ])
    r = multi_person_ap([pred], [gt], [ref])
    # joint 0 detections by score: P2 0.95 FP (unmatched), P0 0.9 TP, P1 0.7 TP; 2 positives
    #   precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> envelope 2/3 -> AP = 2/3
    # joint 1: P0 0.8 TP, P1 0.6 FP (30 px off) -> precision 1 at recall 1/2 -> AP = 1/2
    assert r["AP"] == pytest.approx([200 / 3, 50.0])
    assert r["mAP"] == pytest.approx((200 / 3 + 50.0) / 2)
    # an image without predictions adds positives only: joint 1 now has 1 TP of 4 -> AP = 1/4
    r2 = multi_person_ap([pred, np.zeros((0, 2, 3))], [gt, gt], [ref, ref])
    assert r2["AP"][1] == pytest.approx(25.0)
