"""Gaussian heatmap targets.

Coordinate convention (docs/conventions.md, Heatmaps): heatmap cell (u, v) of a map with stride
``s`` has its centre at input pixel ``(u*s + s/2 - 0.5, v*s + s/2 - 0.5)``.

Two conventions (the paper does not describe its targets; both come from public code):

- ``"reference"`` (PIL authors' code): ``sigma`` in INPUT pixels (default 7),
  the Gaussian is evaluated at every cell centre, values below 0.01 are set to 0.
- ``"newell"`` (stacked-hourglass code): ``sigma`` in HEATMAP cells (default 1),
  evaluated on the cell grid and cut to 0 outside a radius of ``3 * sigma``
  cells. Unlike Newell's code we do not round the joint to the nearest cell,
  so the target is not biased by up to half a cell.

Both have amplitude 1 (the value reaches exactly 1 only when the joint lies on
a cell centre).
"""
from __future__ import annotations

from typing import Literal

import numpy as np

REFERENCE_SIGMA = 7.0  # input pixels
NEWELL_SIGMA = 1.0  # heatmap cells
REFERENCE_CUTOFF = 0.01  # reference code zeroes values below this
NEWELL_RADIUS = 3.0  # in sigmas


def joint_mask(joints: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """1.0 for joints that are annotated and inside the input image, else 0.0.

    Args:
        joints: ``(K, 3)`` x, y, valid in input pixels.
        input_size: ``(H, W)`` of the network input; a joint is inside when
            ``-0.5 <= x < W - 0.5`` and ``-0.5 <= y < H - 0.5`` (the pixel
            extents, pixel centres at integers).

    Returns:
        ``(K,)`` float32.
    """
    joints = np.asarray(joints, dtype=np.float64)
    height, width = input_size
    x, y, valid = joints[:, 0], joints[:, 1], joints[:, 2]
    with np.errstate(invalid="ignore"):
        inside = (x >= -0.5) & (x < width - 0.5) & (y >= -0.5) & (y < height - 0.5)
    return ((valid > 0) & inside).astype(np.float32)


def gaussian_heatmaps(joints: np.ndarray, out_size: tuple[int, int], stride: int, sigma: float | None = None,
                      convention: Literal["reference", "newell"] = "reference",
                      background: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian confidence-map targets for one person.

    Args:
        joints: ``(K, 3)`` x, y, valid in INPUT pixel coordinates.
        out_size: ``(h, w)`` of the heatmaps; the input is ``(h*stride, w*stride)``.
        stride: input pixels per heatmap cell (8 VGG, 4 hourglass).
        sigma: Gaussian std; input pixels for ``"reference"`` (default 7),
            heatmap cells for ``"newell"`` (default 1).
        convention: ``"reference"`` or ``"newell"`` (see module docstring).
        background: append a background channel ``1 - max over joints``.

    Returns:
        ``heatmaps`` ``(K + background, h, w)`` float32 and ``mask`` ``(K,)``
        float32 (1 = annotated and inside the input). Channels of masked
        joints are all zero.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 2 or joints.shape[1] != 3:
        raise ValueError(f"gaussian_heatmaps: joints must be (K, 3) x, y, valid; got {joints.shape}")
    h, w = out_size
    mask = joint_mask(joints, (h * stride, w * stride))
    num = joints.shape[0]
    maps = np.zeros((num, h, w), dtype=np.float64)
    if convention == "reference":
        sig = REFERENCE_SIGMA if sigma is None else float(sigma)
        # cell centres in input pixels
        xs = np.arange(w) * stride + stride / 2 - 0.5  # (w,)
        ys = np.arange(h) * stride + stride / 2 - 0.5  # (h,)
        for k in np.nonzero(mask)[0]:
            gx = np.exp(-((xs - joints[k, 0]) ** 2) / (2 * sig**2))  # (w,)
            gy = np.exp(-((ys - joints[k, 1]) ** 2) / (2 * sig**2))  # (h,)
            g = gy[:, None] * gx[None, :]  # (h, w)
            maps[k] = np.where(g < REFERENCE_CUTOFF, 0.0, g)
    elif convention == "newell":
        sig = NEWELL_SIGMA if sigma is None else float(sigma)
        us = np.arange(w, dtype=np.float64)
        vs = np.arange(h, dtype=np.float64)
        for k in np.nonzero(mask)[0]:
            # input pixel -> cell coordinate (inverse of x = (u + 0.5) * s - 0.5)
            cu = (joints[k, 0] + 0.5) / stride - 0.5
            cv = (joints[k, 1] + 0.5) / stride - 0.5
            d2 = (us[None, :] - cu) ** 2 + (vs[:, None] - cv) ** 2  # (h, w)
            g = np.exp(-d2 / (2 * sig**2))
            maps[k] = np.where(d2 > (NEWELL_RADIUS * sig) ** 2, 0.0, g)
    else:
        raise ValueError(f"gaussian_heatmaps: convention must be 'reference' or 'newell', got {convention!r}")
    if background:
        bg = 1.0 - (maps.max(axis=0) if num else np.zeros((h, w)))  # (h, w)
        maps = np.concatenate([maps, bg[None]], axis=0)  # (K + 1, h, w)
    return maps.astype(np.float32), mask
