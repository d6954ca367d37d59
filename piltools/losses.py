"""Training losses: heatmap MSE over stacks, parsing cross-entropy, their sum.

``L = sum over stacks MSE(heatmaps) + beta * CE(parsing)`` (paper Sec. 3).
``beta`` defaults to 0.01 as the reference code; the paper does
not state a value. A parsing-only model (no heatmaps,
:class:`~piltools.models.parsing.ParsingOnlyModel`) is trained with
``L = CE(parsing)``: weight 1, not beta (beta balances the parsing term against
the pose term, and there is none).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from piltools.joints import IGNORE_LABEL
from piltools.models.output import PoseOutput

DEFAULT_BETA = 0.01


def heatmap_loss(pred: Sequence[Tensor], target: Tensor, mask: Tensor) -> Tensor:
    """Masked heatmap MSE, summed over stacks.

    Per stack: squared error over every pixel of every COUNTED channel,
    divided by the number of counted elements (a mean). A joint channel is
    counted where ``mask`` is 1; a background channel (``K' = K + 1``) is
    always counted. Returns 0 (connected to the graph) if nothing is counted.

    Args:
        pred: one ``(N, K', h, w)`` tensor per stack.
        target: ``(N, K', h, w)``.
        mask: ``(N, K)`` 1 = annotated joint inside the input, 0 = ignore.

    Returns:
        Scalar tensor.
    """
    if len(pred) == 0:
        raise ValueError("heatmap_loss: pred is an empty list of stacks")
    n, channels = target.shape[:2]
    k = mask.shape[1]
    if mask.shape[0] != n or channels not in (k, k + 1):
        raise ValueError(f"heatmap_loss: target {tuple(target.shape)} needs K or K+1 channels for mask {tuple(mask.shape)}")
    weight = mask.to(target.dtype)
    if channels == k + 1:  # background channel always counted
        weight = torch.cat([weight, weight.new_ones(n, 1)], dim=1)  # (N, K) -> (N, K + 1)
    weight = weight[:, :, None, None]  # (N, K', 1, 1)
    counted = weight.sum() * target.shape[2] * target.shape[3]
    total = target.new_zeros(())
    for i, stack in enumerate(pred):
        if stack.shape != target.shape:
            raise ValueError(f"heatmap_loss: stack {i} has shape {tuple(stack.shape)}, target {tuple(target.shape)}")
        sq = (stack - target) ** 2 * weight  # (N, K', h, w)
        total = total + (sq.sum() / counted if counted > 0 else sq.sum() * 0.0)
    return total


def parsing_loss(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_LABEL) -> Tensor:
    """Pixel-wise cross-entropy, mean over labelled pixels.

    Args:
        logits: ``(N, C, H, W)``.
        target: ``(N, H, W)`` int64 class ids, ``ignore_index`` (255) skipped.
        ignore_index: label to ignore.

    Returns:
        Scalar tensor; 0 (connected to the graph) if every pixel is ignored.
    """
    if logits.dim() != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"parsing_loss: logits {tuple(logits.shape)} and target {tuple(target.shape)} do not match")
    target = target.long()
    if not bool((target != ignore_index).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=ignore_index)


def total_loss(out: PoseOutput, batch: dict, beta: float = DEFAULT_BETA) -> tuple[Tensor, dict[str, float]]:
    """Heatmap loss + ``beta`` x parsing loss; the parsing loss alone (weight 1) for a parsing-only output.

    Args:
        out: the model output; ``out.parsing`` None means no parsing term; no heatmaps
            (``out.parsing_only``) means no heatmap term, and then ``out.parsing`` is required.
        batch: a collated sample dict (:class:`piltools.datasets.PoseDataset`): needs
            ``"heatmaps"`` ``(N, K', h, w)`` and ``"joint_mask"`` ``(N, K)``;
            with a parsing branch also ``"parsing"`` ``(N, H, W)`` and
            optionally ``"has_parsing"`` ``(N,)`` bool (samples without
            labels are ignored).
        beta: parsing weight (0.01, reference code); unused for a parsing-only output (weight 1).

    Returns:
        ``(loss, {"heatmap": float, "parsing": float})`` (``"heatmap"`` 0.0 for a parsing-only output).

    Raises:
        ValueError: a parsing-only output without parsing logits (nothing to train).
        KeyError: the batch lacks a target the output needs.
    """
    if out.parsing_only:
        if out.parsing is None:
            raise ValueError("total_loss: a parsing-only output (no heatmaps) needs parsing logits; "
                             "train parsing-only models with train.parsing_loss on")
        ps = _masked_parsing_loss(out.parsing, batch)
        return ps, {"heatmap": 0.0, "parsing": float(ps.detach())}
    for key in ("heatmaps", "joint_mask"):
        if key not in batch:
            raise KeyError(f"total_loss: batch has no {key!r} (keys: {sorted(batch)})")
    hm = heatmap_loss(out.heatmaps, batch["heatmaps"], batch["joint_mask"])
    if out.parsing is None:
        return hm, {"heatmap": float(hm.detach()), "parsing": 0.0}
    ps = _masked_parsing_loss(out.parsing, batch)
    loss = hm + beta * ps
    return loss, {"heatmap": float(hm.detach()), "parsing": float(ps.detach())}


def _masked_parsing_loss(logits: Tensor, batch: dict) -> Tensor:
    """:func:`parsing_loss` against ``batch["parsing"]``, samples with ``has_parsing`` False ignored."""
    if "parsing" not in batch:
        raise KeyError(f"total_loss: model predicts parsing but batch has no 'parsing' (keys: {sorted(batch)})")
    target = batch["parsing"].long()
    if "has_parsing" in batch:
        has = batch["has_parsing"].to(torch.bool).view(-1, 1, 1)  # (N,) -> (N, 1, 1)
        target = torch.where(has, target, torch.full_like(target, IGNORE_LABEL))
    return parsing_loss(logits, target)


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
