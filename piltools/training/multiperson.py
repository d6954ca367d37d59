"""Multi-person pose (paper Sec. 4.3, Table 5): offset loss, NMS + grouping, mAP evaluation.

Following the paper (after Generative / Pose Partition Networks), every joint
pixel also regresses a 2-D offset to its person's centroid. The model's offset
head (``offset_head=True``) is trained to predict the dataset's offset targets
(:class:`piltools.datasets.MultiPersonDataset`: input pixels divided by the
input size) with a masked smooth-L1 loss. At test time:

1. NMS: a heatmap cell is a candidate joint if it is the maximum of its 3x3
   neighbourhood and above ``threshold``.
2. Each candidate votes for a centroid = its position + its predicted offset.
3. Grouping by position + offset: candidates, strongest first, join the
   person whose mean centroid vote is nearest within ``radius`` input pixels
   and who has no joint of that type yet; otherwise they start a new person
   (so clusters holding duplicate joint types are split greedily).

People are mapped back to original image coordinates and scored with
:func:`piltools.metrics.multi_person_ap` (reference distance: 0.1 x person-box
diagonal, :func:`piltools.metrics.box_reference_distance`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from piltools.decoding import flip_heatmaps, to_original

#: default grouping radius as a fraction of the input side (a project choice, documented)
GROUP_RADIUS_FRACTION = 0.1
#: default NMS score threshold on the confidence maps (peak 1)
PEAK_THRESHOLD = 0.1


def offset_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Masked smooth-L1 loss of centroid offsets.

    Args:
        pred: ``(N, 2K, h, w)`` predicted (dx, dy) per joint.
        target: ``(N, 2K, h, w)`` target offsets (input px / input size).
        mask: ``(N, K, h, w)`` 1 where the target is defined.

    Returns:
        Mean over defined entries (0 when none is defined).
    """
    if pred.shape != target.shape or mask.shape[1] * 2 != pred.shape[1]:
        raise ValueError(f"offset_loss: pred {tuple(pred.shape)}, target {tuple(target.shape)}, "
                         f"mask {tuple(mask.shape)} do not match")
    m = mask.repeat_interleave(2, dim=1)  # (N, K, h, w) -> (N, 2K, h, w): x and y share the mask
    total = m.sum()
    if float(total) == 0.0:
        return pred.sum() * 0.0
    per = F.smooth_l1_loss(pred.float(), target.float(), reduction="none", beta=0.05)
    return (per * m).sum() / total


def decode_people(heatmaps: np.ndarray, offsets: np.ndarray, stride: int, input_size: int,
                  threshold: float = PEAK_THRESHOLD, radius: float | None = None) -> np.ndarray:
    """Group NMS peaks into people by position + predicted centroid offset.

    Args:
        heatmaps: ``(K, h, w)`` joint confidence maps (no background channel).
        offsets: ``(2K, h, w)`` predicted offsets (input px / ``input_size``).
        stride: input pixels per heatmap cell.
        input_size: network input side (offset unit).
        threshold: minimum peak value.
        radius: grouping radius in input pixels (default
            :data:`GROUP_RADIUS_FRACTION` x ``input_size``).

    Returns:
        ``(P, K, 3)`` x, y (input pixels), score; NaN x, y and score for joints
        a person lacks. ``P`` may be 0.
    """
    k_num, h, w = heatmaps.shape
    radius = GROUP_RADIUS_FRACTION * input_size if radius is None else radius
    hm = torch.as_tensor(heatmaps, dtype=torch.float32)[None]  # (1, K, h, w)
    peak = (hm == F.max_pool2d(hm, 3, stride=1, padding=1)) & (hm > threshold)
    _, ks, vs, us = torch.nonzero(peak, as_tuple=True)
    scores = hm[0, ks, vs, us].numpy()
    ks, vs, us = ks.numpy(), vs.numpy(), us.numpy()
    xs = (us + 0.5) * stride - 0.5
    ys = (vs + 0.5) * stride - 0.5
    cx = xs + offsets[2 * ks, vs, us] * input_size
    cy = ys + offsets[2 * ks + 1, vs, us] * input_size
    people: list[np.ndarray] = []  # each (K, 3)
    votes: list[list[tuple[float, float]]] = []
    for i in np.argsort(-scores, kind="stable"):
        best, best_d = None, radius
        for p, person in enumerate(people):
            if np.isfinite(person[ks[i], 2]):
                continue  # already has this joint type: split
            mx, my = np.mean(votes[p], axis=0)
            d = float(np.hypot(cx[i] - mx, cy[i] - my))
            if d <= best_d:
                best, best_d = p, d
        if best is None:
            people.append(np.full((k_num, 3), np.nan))
            votes.append([])
            best = len(people) - 1
        people[best][ks[i]] = (xs[i], ys[i], scores[i])
        votes[best].append((cx[i], cy[i]))
    return np.stack(people) if people else np.zeros((0, k_num, 3))


@torch.no_grad()
def predict_people(model: nn.Module, images: Tensor, affine: Tensor, num_joints: int, input_size: int,
                   flip_perm: list[int] | None = None) -> list[np.ndarray]:
    """People of a batch in ORIGINAL image coordinates.

    Heatmaps are averaged with the flipped prediction when ``flip_perm`` is
    given; offsets come from the unflipped pass.

    Returns:
        Per image ``(P_i, K, 3)`` x, y, score.
    """
    out = model(images)
    hm = out.final.float()
    if flip_perm is not None:
        hm = 0.5 * (hm + flip_heatmaps(model(images.flip(-1)).final.float(), flip_perm))
    if out.offsets is None:
        raise ValueError("predict_people: the model has no offset head (build it with offset_head=True)")
    hm_np = hm[:, :num_joints].cpu().numpy()
    off_np = out.offsets.float().cpu().numpy()
    result = []
    for i in range(images.shape[0]):
        people = decode_people(hm_np[i], off_np[i], int(model.stride), input_size)
        if len(people):
            xy = to_original(people[None, ..., :2].reshape(1, -1, 2), affine[i:i + 1].double().cpu().numpy())
            people = np.concatenate([xy.reshape(len(people), num_joints, 2), people[..., 2:]], axis=2)
        result.append(people)
    return result


def evaluate_multi_person(model: nn.Module, loader: Any, records: list, num_joints: int, input_size: int,
                          device: str, flip_perm: list[int] | None) -> dict[str, Any]:
    """mAP on a multi-person split.

    Args:
        model: with an offset head.
        loader: over a :class:`~piltools.datasets.MultiPersonDataset` (eval preset).
        records: the dataset's records (person boxes for the reference distance), by ``meta["index"]``.
        num_joints: K.
        input_size: network input side.
        device: torch device.
        flip_perm: joint flip permutation for the flip test, or None.
    """
    from piltools.metrics import box_reference_distance, multi_person_ap

    model.eval()
    preds, gts, refs = [], [], []
    for batch in loader:
        people = predict_people(model, batch["image"].to(device), batch["meta"]["affine"], num_joints,
                                input_size, flip_perm)
        for i, p in enumerate(people):
            record = records[int(batch["meta"]["index"][i])]
            n = int(batch["num_people"][i])
            gts.append(batch["meta"]["orig_joints"][i, :n].double().numpy())
            boxes = np.stack([np.asarray(person.box, dtype=np.float64) for person in record.people])  # (G, 4)
            refs.append(box_reference_distance(boxes))
            preds.append(p)
    scores = multi_person_ap(preds, gts, refs)
    return {"mAP": scores["mAP"], "AP": scores["AP"], "n_images": len(preds),
            "n_predicted_people": int(sum(len(p) for p in preds))}
