"""Multi-person pose evaluation (paper Sec. 4.3, Table 5): predict, group, score by mAP.

The offset loss lives in :func:`piltools.losses.offset_loss` and the NMS +
grouping in :func:`piltools.decoding.decode_people`; this module runs them
over a validation split.

Following the paper (after Generative / Pose Partition Networks), every joint
pixel also regresses a 2-D offset to its person's centroid. The model's offset
head (``offset_head=True``) is trained to predict the dataset's offset targets
(:class:`piltools.datasets.MultiPersonDataset`: input pixels divided by the
input size) with a masked smooth-L1 loss. At test time:

1. NMS: a heatmap cell is a candidate joint if it is the maximum of its 3x3
   neighbourhood and above ``threshold`` (``train.eval_peak_threshold``).
2. Each candidate votes for a centroid = its position + its predicted offset.
3. Grouping by position + offset: candidates, strongest first, join the
   person whose mean centroid vote is nearest within ``radius`` input pixels
   (``train.eval_group_radius`` x input size) and who has no joint of that type yet; otherwise they start a new person
   (so clusters holding duplicate joint types are split greedily).

People are mapped back to original image coordinates and scored with
the dataset's evaluator (:class:`piltools.datasets.evaluators.MultiPersonApEvaluator`:
:func:`piltools.metrics.multi_person_ap`, reference distance 0.1 x person-box
diagonal).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from piltools.datasets.evaluators import MultiPersonApEvaluator
from piltools.decoding import PEAK_THRESHOLD, decode_people, flip_heatmaps, to_original


@torch.no_grad()
def predict_people(model: nn.Module, images: Tensor, affine: Tensor, num_joints: int, input_size: int,
                   flip_perm: list[int] | None = None, threshold: float = PEAK_THRESHOLD,
                   radius: float | None = None) -> list[np.ndarray]:
    """People of a batch in ORIGINAL image coordinates.

    Heatmaps are averaged with the flipped prediction when ``flip_perm`` is
    given; offsets come from the unflipped pass. ``threshold`` and ``radius``
    (input pixels; None = the default fraction of ``input_size``) go to
    :func:`piltools.decoding.decode_people`.

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
        people = decode_people(hm_np[i], off_np[i], int(model.stride), input_size, threshold=threshold,
                               radius=radius)
        if len(people):
            xy = to_original(people[None, ..., :2].reshape(1, -1, 2), affine[i:i + 1].double().cpu().numpy())
            people = np.concatenate([xy.reshape(len(people), num_joints, 2), people[..., 2:]], axis=2)
        result.append(people)
    return result


def evaluate_multi_person(model: nn.Module, loader: Any, records: list, num_joints: int, input_size: int,
                          device: str, flip_perm: list[int] | None, evaluator: MultiPersonApEvaluator,
                          threshold: float = PEAK_THRESHOLD, radius: float | None = None) -> dict[str, Any]:
    """mAP on a multi-person split.

    Args:
        model: with an offset head.
        loader: over a :class:`~piltools.datasets.MultiPersonDataset` (eval preset).
        records: the dataset's records (person boxes for the reference distance), by ``meta["index"]``.
        num_joints: K.
        input_size: network input side.
        device: torch device.
        flip_perm: joint flip permutation for the flip test, or None.
        evaluator: the dataset's evaluator (reset here).
        threshold: NMS peak threshold.
        radius: grouping radius in input pixels (None = the default fraction of ``input_size``).

    Returns:
        ``evaluator.evaluate()``: ``mAP``, per-joint ``AP``, ``n_images``, ``n_predicted_people``, ``pck``.
    """
    model.eval()
    evaluator.reset()
    for batch in loader:
        people = predict_people(model, batch["image"].to(device), batch["meta"]["affine"], num_joints,
                                input_size, flip_perm, threshold=threshold, radius=radius)
        gts, boxes = [], []
        for i in range(len(people)):
            record = records[int(batch["meta"]["index"][i])]
            n = int(batch["num_people"][i])
            gts.append(batch["meta"]["orig_joints"][i, :n].double().numpy())
            boxes.append(np.stack([np.asarray(person.box, dtype=np.float64) for person in record.people]))
        evaluator.process(people, gts, boxes)
    return evaluator.evaluate()
