"""From heatmaps to joint coordinates: argmax decoding, flip test, image
pyramid, and mapping back to the original image.

Coordinates: heatmap cell ``u`` of a stride-``s`` map decodes to input pixel
``x = (u + 0.5) * s - 0.5`` (docs/conventions.md, Heatmaps). A horizontal flip of an input of
width ``W = w * s`` maps pixel ``x`` to ``W - 1 - x`` and cell ``u`` to
``w - 1 - u``, so flipping the heatmap columns is exactly aligned (no one-cell
shift is needed).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

QUARTER = 0.25


def _quarter_shifts(maps: Tensor, index: tuple[Tensor, ...], u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """The quarter-cell shifts ``(du, dv)`` (in cells) of peaks at cells ``(u, v)`` of ``maps`` ``(..., h, w)``:
    :data:`QUARTER` toward the higher of the two neighbours on each axis, none at the border or on a tie.
    ``index`` holds the leading indices that pick each peak's map (broadcast with ``u`` and ``v``)."""
    h, w = maps.shape[-2:]

    def at(uu: Tensor, vv: Tensor) -> Tensor:
        return maps[(*index, vv, uu)]

    du = torch.sign(at(torch.clamp(u + 1, max=w - 1), v) - at(torch.clamp(u - 1, min=0), v)) * ((u > 0) & (u < w - 1))
    dv = torch.sign(at(u, torch.clamp(v + 1, max=h - 1)) - at(u, torch.clamp(v - 1, min=0))) * ((v > 0) & (v < h - 1))
    return QUARTER * du, QUARTER * dv


def decode_heatmaps(heatmaps: Tensor, stride: float, num_joints: int | None = None) -> Tensor:
    """Argmax decoding with the quarter-cell shift toward the higher neighbour.

    Args:
        heatmaps: ``(N, K, h, w)``.
        stride: input pixels per cell; with ``stride=1`` the result is in
            heatmap cells (``x = u``).
        num_joints: decode only the first ``num_joints`` channels (drop a
            background channel); default all.

    Returns:
        ``(N, K, 3)`` x, y in input pixels and the peak value as score.
    """
    if heatmaps.dim() != 4:
        raise ValueError(f"decode_heatmaps: heatmaps must be (N, K, h, w), got {tuple(heatmaps.shape)}")
    if num_joints is not None:
        heatmaps = heatmaps[:, :num_joints]
    hm = heatmaps.detach().float()
    n, k, h, w = hm.shape
    flat = hm.reshape(n, k, h * w)  # (N, K, h, w) -> (N, K, h*w)
    score, index = flat.max(dim=2)  # (N, K)
    v = torch.div(index, w, rounding_mode="floor")
    u = index - v * w
    du, dv = _quarter_shifts(hm, (torch.arange(n)[:, None], torch.arange(k)[None, :]), u, v)
    x = (u.float() + du + 0.5) * stride - 0.5
    y = (v.float() + dv + 0.5) * stride - 0.5
    return torch.stack([x, y, score], dim=2)  # (N, K, 3)


def flip_heatmaps(heatmaps: Tensor, perm: Sequence[int]) -> Tensor:
    """Mirror heatmaps horizontally and swap left/right channels.

    Args:
        heatmaps: ``(N, K', h, w)``.
        perm: channel permutation, e.g. ``piltools.joints.JOINT_FLIP_PERM``;
            channels beyond ``len(perm)`` (a background channel) keep their place.

    Returns:
        ``(N, K', h, w)`` with ``out[:, c] = flip_w(heatmaps)[:, perm[c]]``.
    """
    channels = heatmaps.shape[1]
    full = list(perm) + list(range(len(perm), channels))
    if len(full) != channels or sorted(full) != list(range(channels)):
        raise ValueError(f"flip_heatmaps: perm of length {len(perm)} is not a permutation for {channels} channels")
    return heatmaps.flip(-1)[:, full]


def _scaled_size(size: int, scale: float, multiple: int) -> int:
    return max(multiple, int(round(size * scale / multiple)) * multiple)


@torch.no_grad()
def predict_heatmaps(model: nn.Module, images: Tensor, flip_perm: Sequence[int] | None = None,
                     scales: Sequence[float] = (1.0,), size_multiple: int | None = None,
                     input_flip_perm: Sequence[int] | None = None) -> Tensor:
    """Final-stack heatmaps averaged over an image pyramid and the flip test.

    For every scale the input is resized (bilinear, ``align_corners=False``)
    to ``(H*scale, W*scale)`` rounded to a multiple of ``size_multiple``, the
    model's final heatmaps are resized back to the base map size
    ``(H / stride, W / stride)`` the same way (which keeps the pixel-centre
    convention aligned), and with ``flip_perm`` the horizontally flipped input
    is run too and its heatmaps are flipped back with channels swapped. All
    ``len(scales) x (1 or 2)`` maps are averaged. The model's mode is left as
    it is: call ``model.eval()`` first.

    Args:
        model: returns :class:`piltools.models.output.PoseOutput`; needs ``model.stride``.
        images: ``(N, 3, H, W)`` normalised input (``(N, 3 + P, H, W)`` for the oracle-parsing control).
        flip_perm: joint flip permutation (``JOINT_FLIP_PERM``) or None for no flip test.
        scales: pyramid scales, e.g. ``(1.0,)`` or :data:`piltools.config.PAPER_EVAL_SCALES`.
        size_multiple: resized sides are multiples of this (default
            ``model.stride``; pass 64 for hourglass models that need it).
        input_flip_perm: for an input with more than the image's channels
            (the oracle-parsing control), ``perm[c]`` = the input channel that
            channel ``c`` of the mirrored input is taken from; None = mirror
            every channel as it is.

    Returns:
        ``(N, K', H / stride, W / stride)``.
    """
    stride = int(getattr(model, "stride"))
    n, _, height, width = images.shape
    base = (height // stride, width // stride)
    multiple = int(size_multiple or stride)
    total = None
    count = 0
    for scale in scales:
        if scale == 1.0 and height % multiple == 0 and width % multiple == 0:
            scaled = images
        else:
            size = (_scaled_size(height, scale, multiple), _scaled_size(width, scale, multiple))
            scaled = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        mirrored = scaled.flip(-1) if input_flip_perm is None else scaled.flip(-1)[:, list(input_flip_perm)]
        variants = [(scaled, False)] + ([(mirrored, True)] if flip_perm is not None else [])
        for inp, flipped in variants:
            hm = model(inp).final.float()
            if flipped:
                hm = flip_heatmaps(hm, flip_perm)
            if tuple(hm.shape[-2:]) != base:
                hm = F.interpolate(hm, size=base, mode="bilinear", align_corners=False)
            total = hm if total is None else total + hm
            count += 1
    if total is None:
        raise ValueError("predict_heatmaps: scales is empty")
    return total / count


def to_original(coords: Tensor | np.ndarray, affine: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """Map input-pixel coordinates back to the original image.

    Args:
        coords: ``(N, K, 2)`` x, y in network-input pixels (NaN passes through).
        affine: ``(N, 2, 3)`` matrices mapping ORIGINAL -> INPUT pixels
            (``[x_in, y_in] = A[:, :2] @ [x, y] + A[:, 2]``).

    Returns:
        ``(N, K, 2)`` x, y in original-image pixels, same type (numpy or
        torch) as ``coords``.
    """
    is_numpy = isinstance(coords, np.ndarray)
    c = torch.as_tensor(coords, dtype=torch.float64)
    a = torch.as_tensor(affine, dtype=torch.float64)
    if c.dim() != 3 or c.shape[2] < 2 or a.shape != (c.shape[0], 2, 3):
        raise ValueError(f"to_original: coords must be (N, K, 2) and affine (N, 2, 3); got {tuple(c.shape)}, {tuple(a.shape)}")
    linear = a[:, :, :2]  # (N, 2, 2)
    shift = a[:, :, 2]  # (N, 2)
    inv = torch.linalg.inv(linear)  # (N, 2, 2)
    centred = c[..., :2] - shift[:, None, :]  # (N, K, 2)
    out = torch.einsum("nij,nkj->nki", inv, centred)  # (N, K, 2)
    if is_numpy:
        return out.numpy()
    return out.to(coords.dtype if torch.is_floating_point(coords) else torch.float32)


#: default grouping radius as a fraction of the input side (a project choice; config ``train.eval_group_radius``)
GROUP_RADIUS_FRACTION = 0.1
#: default NMS score threshold on the confidence maps, whose peak is 1 (config ``train.eval_peak_threshold``)
PEAK_THRESHOLD = 0.1


def decode_people(heatmaps: np.ndarray, offsets: np.ndarray, stride: int, input_size: int,
                  threshold: float = PEAK_THRESHOLD, radius: float | None = None) -> np.ndarray:
    """Group NMS peaks into people by position + predicted centroid offset.

    Each peak is placed like :func:`decode_heatmaps` places its argmax: the cell centre shifted a quarter
    cell toward the higher of its two neighbours on each axis. Its centroid vote is its cell centre plus
    the offset predicted there (the offsets are trained from cell centres).

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
    k_num = heatmaps.shape[0]
    radius = GROUP_RADIUS_FRACTION * input_size if radius is None else radius
    hm = torch.as_tensor(heatmaps, dtype=torch.float32)[None]  # (1, K, h, w)
    peak = (hm == F.max_pool2d(hm, 3, stride=1, padding=1)) & (hm > threshold)
    _, ks_t, vs_t, us_t = torch.nonzero(peak, as_tuple=True)
    scores = hm[0, ks_t, vs_t, us_t].numpy()
    du, dv = (d.numpy() for d in _quarter_shifts(hm[0], (ks_t,), us_t, vs_t))  # placed as decode_heatmaps places
    ks, vs, us = ks_t.numpy(), vs_t.numpy(), us_t.numpy()
    cell_x, cell_y = (us + 0.5) * stride - 0.5, (vs + 0.5) * stride - 0.5
    xs, ys = cell_x + du * stride, cell_y + dv * stride
    cx = cell_x + offsets[2 * ks, vs, us] * input_size
    cy = cell_y + offsets[2 * ks + 1, vs, us] * input_size
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
