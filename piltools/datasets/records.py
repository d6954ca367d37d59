"""Per-sample records produced by the loaders and consumed by the torch datasets.

A record holds annotations and file paths only; pixels are read when a sample
is requested. Coordinates follow docs/conventions.md: 0-based pixels, pixel centres at
integers, joints ``(K, 3)`` = x, y, valid (x, y NaN where missing).

``scale`` is the MPII convention: the side of the person's box in pixels / 200.
The crop a dataset takes around ``center`` is ``200 * scale * box_margin``
pixels wide (``box_margin`` 1.25 by default, the usual MPII enlargement), before
the augmentation's own zoom.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# The MPII convention: scale = box side in pixels / PIXELS_PER_SCALE.
PIXELS_PER_SCALE = 200.0


@dataclass(frozen=True)
class PersonAnnotation:
    """One person of a multi-person image.

    Args:
        joints: (K, 3) float, x, y, valid.
        occluded: (K,) bool.
        box: (4,) float x1, y1, x2, y2 (0-based, inclusive pixel centres).
    """

    joints: np.ndarray
    occluded: np.ndarray
    box: np.ndarray


@dataclass(frozen=True)
class PoseRecord:
    """One sample: an image, its optional parsing map and its pose annotation.

    Args:
        name: image file name (e.g. ``"86_185913.jpg"``), unique within a split.
        image_path: path of the image file.
        parsing_path: path of the label PNG, or None when the dataset has none.
        joints: (K, 3) float, x, y, valid; for a multi-person record the joints of
            ``people[0]`` (or all missing when there is nobody).
        occluded: (K,) bool occlusion flags (all False where the dataset has none).
        center: (2,) float person centre, or None: derived when the sample is read,
            from the joints and the parsing mask (see :func:`person_center_scale`).
        scale: person box side / 200, or None together with ``center``.
        head_box: (4,) float x1, y1, x2, y2 of the head (MPII PCKh), or None.
        people: every person of a multi-person image (PASCAL); empty otherwise.
        source: where the annotation came from (file and row), for error messages.
    """

    name: str
    image_path: Path
    parsing_path: Path | None
    joints: np.ndarray
    occluded: np.ndarray
    center: np.ndarray | None = None
    scale: float | None = None
    head_box: np.ndarray | None = None
    people: tuple[PersonAnnotation, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def num_joints(self) -> int:
        return int(self.joints.shape[0])


def missing_joints(num_joints: int) -> np.ndarray:
    """(K, 3) joints array with every joint missing (NaN, NaN, 0)."""
    joints = np.full((num_joints, 3), np.nan, dtype=np.float64)
    joints[:, 2] = 0.0
    return joints


def person_center_scale(
    *,
    joints: np.ndarray,
    parsing: np.ndarray | None,
    image_hw: tuple[int, int],
    background_ids: tuple[int, ...] = (0,),
    ignore_label: int = 255,
) -> tuple[np.ndarray, float]:
    """Person centre and scale from the annotated joints and the parsing mask.

    The person box is the union of (a) the bounding box of the valid joints and
    (b) the bounding box of the parsing foreground (every pixel whose id is not
    a background id and not ``ignore_label``). Either part may be absent; with
    neither, the whole image is the box. The centre is the box centre and the
    scale is ``max(box width, box height) / 200`` (box sides measured between
    pixel centres, plus one pixel).

    This is how LIP samples get a centre and scale: LIP images are already
    crops around one person, and its pose CSV has no centre/scale column.

    Args:
        joints: (K, 3) x, y, valid.
        parsing: (H, W) integer label map or None.
        image_hw: (H, W) of the image.
        background_ids: label ids that are not the person.
        ignore_label: label id that is not the person either.

    Returns:
        center (2,) float64, scale float.
    """
    height, width = image_hw
    xs: list[float] = []
    ys: list[float] = []
    valid = joints[:, 2] > 0
    if valid.any():
        xs += [float(joints[valid, 0].min()), float(joints[valid, 0].max())]
        ys += [float(joints[valid, 1].min()), float(joints[valid, 1].max())]
    if parsing is not None:
        fg = ~np.isin(parsing, np.asarray(background_ids + (ignore_label,)))
        if fg.any():
            rows = np.flatnonzero(fg.any(axis=1))
            cols = np.flatnonzero(fg.any(axis=0))
            xs += [float(cols[0]), float(cols[-1])]
            ys += [float(rows[0]), float(rows[-1])]
    if not xs:
        xs = [0.0, float(width - 1)]
        ys = [0.0, float(height - 1)]
    x1, x2 = min(xs), max(xs)
    y1, y2 = min(ys), max(ys)
    center = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0], dtype=np.float64)
    side = max(x2 - x1, y2 - y1) + 1.0
    return center, side / PIXELS_PER_SCALE
