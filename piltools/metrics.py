"""Evaluation metrics (pure numpy): LIP PCKh, MPII PCKh and AUC, training
accuracy, parsing mIoU, multi-person AP.

Definitions follow the paper's evaluation protocol (Sec. 4.1: LIP and MPII PCKh,
PASCAL-Person-Part mAP) and docs/conventions.md, Missing joints. Conventions
shared by every function:

- ``pred`` coordinates are ``(..., K, 2)`` x, y; a NaN coordinate means "no
  prediction" and always counts as wrong (never silently skipped).
- ``gt`` is ``(..., K, 3)`` x, y, valid; joints with ``valid == 0`` (or NaN
  coordinates) are excluded from every count.
- Percentages are in [0, 100]; a column with nothing to count is NaN.
- A joint is correct when ``distance / reference <= thr`` (``<=`` as the
  official MPII code).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from piltools.errors import InputError
from piltools.joints import J, JOINT_NAMES, NUM_JOINTS

# ----------------------------------------------------------------------------
# Table columns (joint indices by name, never bare numbers)
# ----------------------------------------------------------------------------
PAIR_COLUMNS: dict[str, tuple[int, int]] = {
    "Head": (J["head_top"], J["neck"]),
    "Sho.": (J["r_shoulder"], J["l_shoulder"]),
    "Elb.": (J["r_elbow"], J["l_elbow"]),
    "Wri.": (J["r_wrist"], J["l_wrist"]),
    "Hip": (J["r_hip"], J["l_hip"]),
    "Knee": (J["r_knee"], J["l_knee"]),
    "Ank.": (J["r_ankle"], J["l_ankle"]),
}
#: Both arms (wrists, elbows, shoulders; joints 10-15 of the MPII order): the
#: joints the official MPII evaluation pools into its "UBody" column.
ARM_JOINTS: tuple[int, ...] = tuple(
    J[n] for n in ("r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist")
)
#: Joints 8-15 of the MPII order: neck, head top and both arms, the joints the
#: LIP reference evaluation pools into its "U.Body" column.
UPPER_BODY_JOINTS: tuple[int, ...] = (J["neck"], J["head_top"], *ARM_JOINTS)
#: The 14 scored joints: everything except pelvis and thorax.
SCORED_JOINTS: tuple[int, ...] = tuple(i for i, n in enumerate(JOINT_NAMES) if n not in ("pelvis", "thorax"))
LIP_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, "U.Body", "PCK")
MPII_COLUMNS: tuple[str, ...] = (*PAIR_COLUMNS, "UBody", "Total")

#: MPII head size = this factor x the head-box diagonal (official SC_BIAS).
MPII_HEAD_FACTOR = 0.6
#: Thresholds of the MPII PCKh curve integrated for the AUC: 0, 0.01, ..., 0.5.
AUC_THRESHOLDS = np.linspace(0.0, 0.5, 51)


def _percent(correct: float, total: float) -> float:
    return float(100.0 * correct / total) if total > 0 else float("nan")


def _check_pose_arrays(pred: np.ndarray, gt: np.ndarray, who: str) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[2] != 3:
        raise ValueError(f"{who}: gt must be (N, K, 3) x, y, valid; got {gt.shape}")
    if pred.ndim != 3 or pred.shape[:2] != gt.shape[:2] or pred.shape[2] < 2:
        raise ValueError(f"{who}: pred must be (N, K, 2) matching gt {gt.shape[:2]}; got {pred.shape}")
    return pred[..., :2], gt


def normalized_distances(pred: np.ndarray, gt: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint distances divided by a per-image reference length.

    Args:
        pred: ``(N, K, 2)`` predicted x, y (NaN = no prediction).
        gt: ``(N, K, 3)`` ground-truth x, y, valid.
        reference: ``(N,)`` reference length per image (head size, ...); images
            with a non-finite or non-positive reference count nothing.

    Returns:
        ``dist`` ``(N, K)`` normalised distances, ``+inf`` where the prediction
        is missing; ``counted`` ``(N, K)`` bool, where the ground truth exists
        and the reference is usable.
    """
    pred, gt = _check_pose_arrays(pred, gt, "normalized_distances")
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != gt.shape[:1]:
        raise ValueError(f"normalized_distances: reference must be ({gt.shape[0]},), got {reference.shape}")
    ref_ok = np.isfinite(reference) & (reference > 0)  # (N,)
    gt_ok = (gt[..., 2] > 0) & np.isfinite(gt[..., :2]).all(axis=-1)  # (N, K)
    counted = gt_ok & ref_ok[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.linalg.norm(pred - gt[..., :2], axis=-1) / reference[:, None]  # (N, K)
    dist = np.where(np.isnan(dist), np.inf, dist)  # missing prediction -> never within a threshold
    return dist, counted


# ----------------------------------------------------------------------------
# LIP PCKh@0.5
# ----------------------------------------------------------------------------
def lip_head_size(gt: np.ndarray) -> np.ndarray:
    """LIP head size: distance from head top to neck.

    Args:
        gt: ``(N, 16, 3)`` x, y, valid.

    Returns:
        ``(N,)``; NaN where head top or neck is missing.
    """
    gt = np.asarray(gt, dtype=np.float64)
    top, neck = gt[:, J["head_top"]], gt[:, J["neck"]]  # (N, 3) each
    size = np.linalg.norm(top[:, :2] - neck[:, :2], axis=-1)
    return np.where((top[:, 2] > 0) & (neck[:, 2] > 0), size, np.nan)


def lip_pckh_arrays(pred: np.ndarray, gt: np.ndarray, thr: float = 0.5) -> dict:
    """LIP PCKh table for aligned arrays (row i of ``pred`` is image i of ``gt``).

    Per image, head size = ||head_top - neck||; images missing either (or with
    head size 0) are excluded; joints missing in the ground truth are
    excluded; a joint is correct if ``dist / head_size <= thr``; a
    missing (NaN) prediction is wrong. Every column pools the counts of its
    joints (``correct / counted`` over both joints of a pair), U.Body pools
    joints 8-15, PCK pools the 14 joints without pelvis and thorax.

    Args:
        pred: ``(N, 16, 2)`` predicted x, y.
        gt: ``(N, 16, 3)`` ground truth x, y, valid.
        thr: PCKh threshold (0.5).

    Returns:
        ``{"Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank.", "U.Body",
        "PCK"}`` -> percent, plus ``"counts"`` / ``"correct"`` (column ->
        number of joints counted / correct), ``"per_joint"`` (16 percents,
        MPII order), ``"images"`` (images evaluated), ``"excluded_images"``
        (no head top or neck).
    """
    pred, gt = _check_pose_arrays(pred, gt, "lip_pckh_arrays")
    if gt.shape[1] != NUM_JOINTS:
        raise ValueError(f"lip_pckh_arrays: expected {NUM_JOINTS} joints, got {gt.shape[1]}")
    head = lip_head_size(gt)  # (N,)
    dist, counted = normalized_distances(pred, gt, head)  # (N, 16) each
    hit = (dist <= thr) & counted
    n_counted = counted.sum(axis=0)  # (16,)
    n_hit = hit.sum(axis=0)  # (16,)
    groups = {**{k: list(v) for k, v in PAIR_COLUMNS.items()}, "U.Body": list(UPPER_BODY_JOINTS),
              "PCK": list(SCORED_JOINTS)}
    table: dict = {}
    counts, correct = {}, {}
    for column, joints in groups.items():
        counts[column] = int(n_counted[joints].sum())
        correct[column] = int(n_hit[joints].sum())
        table[column] = _percent(correct[column], counts[column])
    usable = np.isfinite(head) & (head > 0)
    table["counts"] = counts
    table["correct"] = correct
    table["per_joint"] = [_percent(h, c) for h, c in zip(n_hit, n_counted)]
    table["images"] = int(usable.sum())
    table["excluded_images"] = int((~usable).sum())
    return table


def _format_missing(names: Sequence[str], first: int = 5) -> str:
    shown = ", ".join(repr(n) for n in list(names)[:first])
    more = f" and {len(names) - first} more" if len(names) > first else ""
    return f"{len(names)} ({shown}{more})"


def lip_pckh(pred: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray], thr: float = 0.5) -> dict:
    """LIP PCKh table with predictions matched to ground truth BY IMAGE NAME.

    Args:
        pred: ``{name: (16, 2)}`` predicted x, y (NaN = no prediction).
        gt: ``{name: (16, 3)}`` ground truth x, y, valid.
        thr: PCKh threshold (0.5).

    Returns:
        The table of :func:`lip_pckh_arrays`, evaluated in ``gt`` order.

    Raises:
        InputError: (a ``ValueError``) the two sides do not hold the same image
            names (the message gives how many and the first few missing on
            each side).
    """
    missing_pred = [n for n in gt if n not in pred]
    missing_gt = [n for n in pred if n not in gt]
    if missing_pred or missing_gt:
        parts = []
        if missing_pred:
            parts.append(f"images with ground truth but no prediction: {_format_missing(missing_pred)}")
        if missing_gt:
            parts.append(f"predicted images without ground truth: {_format_missing(missing_gt)}")
        raise InputError("lip_pckh: prediction and ground-truth names differ; " + "; ".join(parts))
    names = list(gt)
    pred_arr = np.stack([np.asarray(pred[n], dtype=np.float64)[:, :2] for n in names])  # (N, 16, 2)
    gt_arr = np.stack([np.asarray(gt[n], dtype=np.float64) for n in names])  # (N, 16, 3)
    return lip_pckh_arrays(pred_arr, gt_arr, thr=thr)


# ----------------------------------------------------------------------------
# MPII PCKh@0.5 and AUC
# ----------------------------------------------------------------------------
def mpii_head_size(head_boxes: np.ndarray) -> np.ndarray:
    """MPII head size = 0.6 x diagonal of the head box.

    Args:
        head_boxes: ``(N, 4)`` x1, y1, x2, y2 (NaN rows give NaN).

    Returns:
        ``(N,)``.
    """
    boxes = np.asarray(head_boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"mpii_head_size: head_boxes must be (N, 4) x1, y1, x2, y2; got {boxes.shape}")
    return MPII_HEAD_FACTOR * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def _mpii_table(hit: np.ndarray, counted: np.ndarray) -> dict:
    n_counted = counted.sum(axis=0)  # (16,)
    n_hit = hit.sum(axis=0)
    per_joint = np.array([_percent(h, c) for h, c in zip(n_hit, n_counted)])
    table: dict = {}
    for column, (a, b) in PAIR_COLUMNS.items():
        # the official table reports the mean of the two joints' PCKh
        table[column] = float(np.mean([per_joint[a], per_joint[b]]))
    for column, joints in (("UBody", list(ARM_JOINTS)), ("Total", list(SCORED_JOINTS))):
        table[column] = _percent(n_hit[joints].sum(), n_counted[joints].sum())  # pooled over the joints
    table["per_joint"] = per_joint.tolist()
    table["counts"] = [int(c) for c in n_counted]
    return table


def mpii_pckh(pred: np.ndarray, gt: np.ndarray, head_boxes: np.ndarray, thr: float = 0.5) -> dict:
    """MPII PCKh (official protocol).

    Head size = 0.6 x head-box diagonal; a joint is correct if
    ``dist / head_size <= thr``; ground-truth-missing joints excluded;
    pelvis and thorax are not scored. Columns, as the official table: each
    pair column (and "Head" = neck + head top) is the MEAN of its two joints'
    PCKh; "UBody" pools the counts (correct / counted) of the 6 arm joints
    (wrists, elbows, shoulders; neck and head top are not in it, unlike LIP's
    "U.Body"); "Total" pools the counts of the 14 scored joints. (HRNet's
    evaluation reports head top alone as "Head"; here "Head" keeps the neck.)

    Args:
        pred: ``(N, 16, 2)`` predicted x, y (0-based pixels, same frame as gt).
        gt: ``(N, 16, 3)`` x, y, valid.
        head_boxes: ``(N, 4)`` x1, y1, x2, y2.
        thr: threshold, 0.5 for PCKh@0.5.

    Returns:
        ``{"Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank.", "UBody",
        "Total"}`` -> percent, plus ``"per_joint"`` (16 percents) and
        ``"counts"`` (16).
    """
    dist, counted = normalized_distances(pred, gt, mpii_head_size(head_boxes))  # (N, 16) each
    return _mpii_table((dist <= thr) & counted, counted)


def curve_area(thresholds: np.ndarray, curve: np.ndarray) -> float:
    """Area under a PCK curve, normalised by the threshold span.

    ``sum_i (t_i - t_{i-1}) * (y_i + y_{i-1}) / 2 / (t_last - t_first)``: the
    trapezoid rule over the thresholds, divided by their span, so a curve in
    percent gives a percent (a curve at 100 everywhere gives 100).

    Args:
        thresholds: ``(T,)`` strictly increasing, finite, ``T >= 2``.
        curve: ``(T,)`` the curve's value at each threshold (a NaN gives NaN).

    Raises:
        InputError: thresholds not 1-D, shorter than 2, non-finite or not
            strictly increasing, or ``curve`` not the same length.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    y = np.asarray(curve, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or not np.isfinite(t).all() or not (np.diff(t) > 0).all():
        raise InputError(f"curve_area: thresholds must be 1-D, finite and strictly increasing with at least 2 "
                         f"values; got {t.tolist() if t.size <= 6 else t.shape}")
    if y.shape != t.shape:
        raise InputError(f"curve_area: curve must have one value per threshold ({t.shape}); got {y.shape}")
    return float(np.sum(np.diff(t) * (y[1:] + y[:-1]) / 2.0) / (t[-1] - t[0]))


def mpii_auc(pred: np.ndarray, gt: np.ndarray, head_boxes: np.ndarray,
             thresholds: np.ndarray = AUC_THRESHOLDS) -> float:
    """AUC of the MPII PCKh curve, as the official evaluation.

    The curve is "Total" PCKh (percent, pooled over the 14 scored joints, see
    :func:`mpii_pckh`) at each threshold; it is integrated over the thresholds
    by the trapezoid rule and divided by the threshold span
    (:func:`curve_area`), i.e. the area on a threshold axis rescaled to
    [0, 1], in percent. Default thresholds 0, 0.01, ..., 0.5 (51 values).

    Args:
        pred: ``(N, 16, 2)``; gt: ``(N, 16, 3)``; head_boxes: ``(N, 4)``.
        thresholds: ``(T,)`` strictly increasing PCKh thresholds, ``T >= 2``.

    Raises:
        InputError: bad ``thresholds`` (see :func:`curve_area`).
    """
    dist, counted = normalized_distances(pred, gt, mpii_head_size(head_boxes))  # (N, 16) each
    thresholds = np.asarray(thresholds, dtype=np.float64)
    totals = [_mpii_table((dist <= t) & counted, counted)["Total"] for t in thresholds.reshape(-1)]
    return curve_area(thresholds, np.array(totals))


def pck_accuracy(pred: np.ndarray, gt: np.ndarray, norm: np.ndarray | float,
                 thr: float = 0.5) -> tuple[float, np.ndarray]:
    """PCK with a caller-chosen normaliser, for training-accuracy curves.

    For the training accuracy of Figure 4 we follow Newell et al.'s training
    code: decode predicted and target heatmaps, measure in heatmap cells and
    normalise by ``heatmap_side / 10`` (e.g. 6.4 cells for 64x64 maps), with
    threshold 0.5. Any other normaliser (head size, torso) works the same way.

    Args:
        pred: ``(N, K, 2)`` predicted x, y.
        gt: ``(N, K, 3)`` x, y, valid.
        norm: scalar or ``(N,)`` normalising length.
        thr: threshold as a fraction of ``norm``.

    Returns:
        ``(accuracy, per_joint)``: pooled fraction of counted joints within
        ``thr * norm`` (NaN if nothing is counted) and ``(K,)`` per-joint
        fractions (NaN where nothing is counted).
    """
    pred, gt = _check_pose_arrays(pred, gt, "pck_accuracy")
    norm_arr = np.broadcast_to(np.asarray(norm, dtype=np.float64), gt.shape[:1])
    dist, counted = normalized_distances(pred, gt, norm_arr)  # (N, K) each
    hit = (dist <= thr) & counted
    n_counted = counted.sum(axis=0)  # (K,)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(n_counted > 0, hit.sum(axis=0) / np.maximum(n_counted, 1), np.nan)
    total = counted.sum()
    return (float(hit.sum() / total) if total > 0 else float("nan")), per_joint


# ----------------------------------------------------------------------------
# Parsing: confusion matrix, mIoU, pixel accuracy
# ----------------------------------------------------------------------------
def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore: int = 255) -> np.ndarray:
    """Confusion matrix of label maps; add the results over a dataset.

    Args:
        pred: integer labels, any shape (e.g. ``(H, W)`` or ``(N, H, W)``).
        gt: integer labels, same shape; pixels equal to ``ignore`` are skipped.
        num_classes: C.
        ignore: the ignore label (255).

    Returns:
        ``(C, C)`` int64, rows = ground truth class, columns = predicted class.

    Raises:
        ValueError: shape mismatch, or labels outside ``[0, C)`` (other than
            ``ignore`` in gt).
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"confusion_matrix: pred {pred.shape} and gt {gt.shape} differ")
    keep = gt != ignore
    p = pred[keep].astype(np.int64)
    g = gt[keep].astype(np.int64)
    for label, what in ((g, "gt"), (p, "pred")):
        if label.size and (label.min() < 0 or label.max() >= num_classes):
            raise ValueError(
                f"confusion_matrix: {what} labels span [{label.min()}, {label.max()}]; "
                f"expected 0..{num_classes - 1} (or {ignore} in gt)"
            )
    flat = np.bincount(g * num_classes + p, minlength=num_classes * num_classes)  # (C*C,)
    return flat.reshape(num_classes, num_classes)  # (C*C,) -> (C, C)


def parsing_scores(conf: np.ndarray) -> dict:
    """Segmentation scores from an accumulated confusion matrix.

    IoU per class = diag / (row + col - diag) (NaN for a class absent from
    both prediction and ground truth); mIoU = nanmean over ALL classes,
    background included; pixel accuracy = trace / total.

    Args:
        conf: ``(C, C)`` rows = ground truth, columns = prediction.

    Returns:
        ``{"mIoU": percent, "pixel_acc": percent, "IoU": list of C percents}``.
    """
    conf = np.asarray(conf, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"parsing_scores: conf must be square (C, C), got {conf.shape}")
    diag = np.diag(conf)
    union = conf.sum(axis=0) + conf.sum(axis=1) - diag
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, diag / union, np.nan)
    total = conf.sum()
    miou = float(100.0 * np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")
    return {
        "mIoU": miou,
        "pixel_acc": float(100.0 * diag.sum() / total) if total > 0 else float("nan"),
        "IoU": (100.0 * iou).tolist(),
    }


# ----------------------------------------------------------------------------
# Multi-person AP (DeepCut / MPII multi-person protocol)
# ----------------------------------------------------------------------------
#: PASCAL-Person-Part has no head boxes. Our reference distance there is
#: PASCAL_BOX_FRACTION x the person-box diagonal: for an upright adult the box
#: diagonal is about 1.05 x body height and MPII's 0.6 x head-box diagonal is
#: about 0.11 x body height, so 0.1 x diagonal gives a comparable tolerance.
#: (A project choice, documented; the paper does not state its definition.)
PASCAL_BOX_FRACTION = 0.1


def box_reference_distance(boxes: np.ndarray, fraction: float = PASCAL_BOX_FRACTION) -> np.ndarray:
    """Reference distance for people without head boxes: ``fraction x`` box diagonal.

    Args:
        boxes: ``(G, 4)`` person boxes x1, y1, x2, y2.
        fraction: see :data:`PASCAL_BOX_FRACTION`.

    Returns:
        ``(G,)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return fraction * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def voc_ap(scores: np.ndarray, is_tp: np.ndarray, num_positives: int) -> float:
    """PASCAL VOC all-point interpolated average precision.

    Detections are sorted by decreasing score; precision is replaced by its
    running maximum from the right (the envelope) and integrated over recall.

    Args:
        scores: ``(D,)`` detection scores.
        is_tp: ``(D,)`` bool, whether each detection is a true positive.
        num_positives: number of ground-truth instances.

    Returns:
        AP in [0, 1]; NaN if ``num_positives == 0``.
    """
    if num_positives <= 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    tp = np.asarray(is_tp, dtype=bool)[order]
    tp_cum = np.cumsum(tp)
    fp_cum = np.cumsum(~tp)
    recall = tp_cum / num_positives
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    changed = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[changed + 1] - mrec[changed]) * mpre[changed + 1]))


def _match_people(pred: np.ndarray, gt: np.ndarray, ref: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one person matching by PCK.

    Returns ``assigned`` ``(P,)`` (GT index or -1) and ``close`` ``(P, G, K)``
    bool (pred joint within ``thr * ref`` of that GT's joint).
    """
    num_pred, num_gt = pred.shape[0], gt.shape[0]
    assigned = np.full(num_pred, -1, dtype=np.int64)
    if num_pred == 0 or num_gt == 0:
        return assigned, np.zeros((num_pred, num_gt, pred.shape[1]), dtype=bool)
    gt_ok = (gt[..., 2] > 0) & np.isfinite(gt[..., :2]).all(axis=-1)  # (G, K)
    # (P, 1, K, 2) - (1, G, K, 2) -> (P, G, K)
    with np.errstate(invalid="ignore"):
        dist = np.linalg.norm(pred[:, None, :, :2] - gt[None, :, :, :2], axis=-1) / ref[None, :, None]
    close = (dist <= thr) & gt_ok[None]  # NaN compares False
    pck = close.sum(axis=2) / np.maximum(gt_ok.sum(axis=1), 1)[None]  # (P, G)
    used_gt = np.zeros(num_gt, dtype=bool)
    for flat in np.argsort(-pck, axis=None, kind="stable"):
        p, g = divmod(int(flat), num_gt)
        if pck[p, g] <= 0:
            break
        if assigned[p] < 0 and not used_gt[g]:
            assigned[p] = g
            used_gt[g] = True
    return assigned, close


def multi_person_ap(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], references: Sequence[np.ndarray],
                    thr: float = 0.5) -> dict:
    """Multi-person joint AP (DeepCut / MPII multi-person protocol).

    Per image, predicted people are matched one-to-one to ground-truth people
    greedily by PCK (pairs taken in decreasing order of the fraction of the
    GT person's joints that the prediction hits within ``thr x`` that
    person's reference distance; pairs with PCK 0 are never matched). Then,
    per joint type, every predicted joint is a detection with its score; it
    is a true positive if its person is matched and it lies within
    ``thr x reference`` of that GT person's joint (each GT joint can be
    hit once, as the match is one-to-one), otherwise a false positive. The
    positives are all annotated GT joints of that type. AP is the VOC
    all-point interpolated AP over all images; mAP is the mean over joint
    types that have positives.

    Reference distance: for MPII, the head size :func:`mpii_head_size`; for
    PASCAL-Person-Part, :func:`box_reference_distance` (0.1 x person-box
    diagonal, see :data:`PASCAL_BOX_FRACTION`).

    Args:
        preds: per image ``(P_i, K, 3)`` x, y, score (NaN x/y or score = joint
            not predicted).
        gts: per image ``(G_i, K, 3)`` x, y, valid.
        references: per image ``(G_i,)`` reference distance of each GT person.
        thr: threshold as a fraction of the reference distance (0.5).

    Returns:
        ``{"AP": list of K percents (NaN for a joint with no positives),
        "mAP": percent}``.
    """
    if not (len(preds) == len(gts) == len(references)):
        raise ValueError(f"multi_person_ap: {len(preds)} preds, {len(gts)} gts, {len(references)} references")
    shapes = [np.shape(a) for a in (*gts, *preds) if np.ndim(a) == 3]
    if not shapes:
        raise ValueError("multi_person_ap: every pred and gt must be (people, K, 3); got none")
    num_joints = shapes[0][1]
    scores: list[list[float]] = [[] for _ in range(num_joints)]
    labels: list[list[bool]] = [[] for _ in range(num_joints)]
    positives = np.zeros(num_joints, dtype=np.int64)
    for i, (pred, gt, ref) in enumerate(zip(preds, gts, references)):
        pred = np.asarray(pred, dtype=np.float64)
        gt = np.asarray(gt, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64).reshape(-1)  # (G,)
        for arr, what in ((pred, "pred"), (gt, "gt")):
            if arr.size and (arr.ndim != 3 or arr.shape[1:] != (num_joints, 3)):
                raise ValueError(f"multi_person_ap: image {i} {what} is {arr.shape}; expected (people, {num_joints}, 3)")
        pred = pred.reshape(-1, num_joints, 3)  # an empty image -> (0, K, 3)
        gt = gt.reshape(-1, num_joints, 3)
        if ref.shape[0] != gt.shape[0]:
            raise ValueError(f"multi_person_ap: image {i} has {gt.shape[0]} GT people but {ref.shape[0]} references")
        positives += ((gt[..., 2] > 0) & np.isfinite(gt[..., :2]).all(axis=-1)).sum(axis=0)
        assigned, close = _match_people(pred, gt, ref, thr)
        for p in range(pred.shape[0]):
            for j in range(num_joints):
                if not np.isfinite(pred[p, j]).all():  # joint not predicted
                    continue
                scores[j].append(float(pred[p, j, 2]))
                labels[j].append(bool(assigned[p] >= 0 and close[p, assigned[p], j]))
    ap = [100.0 * voc_ap(np.array(scores[j]), np.array(labels[j], dtype=bool), int(positives[j]))
          for j in range(num_joints)]
    finite = [a for a in ap if np.isfinite(a)]
    return {"AP": ap, "mAP": float(np.mean(finite)) if finite else float("nan")}
