"""Drawing helpers: skeletons on images, coloured LIP / PASCAL parsing maps, boxes, image grids.

Colours come from the dataset specs (:mod:`piltools.datasets.specs`), so that
every figure of the project colours a joint or a label the same way: joints
and limbs by body side (:data:`SIDE_COLOURS`: left green, right magenta,
centre yellow), parsing ids by the spec's palette (:data:`LIP_PALETTE`, 20 LIP
ids hand-picked so left/right parts differ clearly; :data:`PASCAL_PALETTE`, the
standard PASCAL VOC palette, whose first 7 entries colour the 7 part ids and
which the part PNGs carry). The ignore label 255 is drawn white.
"""
from __future__ import annotations

import cv2
import numpy as np

from piltools.datasets.specs import (
    LIP_PALETTE as _LIP_COLOURS,
    SIDE_COLOURS,
    VOC_PALETTE,
    DatasetSpec,
    get_spec,
    spec_for_joints,
)
from piltools.errors import InputError
from piltools.joints import IGNORE_LABEL

#: (20, 3) uint8 LIP parsing colours.
LIP_PALETTE = np.asarray(_LIP_COLOURS, dtype=np.uint8)
#: (256, 3) uint8 PASCAL VOC palette.
PASCAL_PALETTE = np.asarray(VOC_PALETTE, dtype=np.uint8)

#: RGB colours told apart in one image, one per person of a multi-person figure (matplotlib's "tab10" order).
PERSON_COLOURS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)

__all__ = ["LIP_PALETTE", "PASCAL_PALETTE", "PERSON_COLOURS", "SIDE_COLOURS", "palette_for", "colorize_parsing",
           "overlay_parsing", "as_rgb", "draw_skeleton", "draw_person", "draw_box", "tile_images"]


def _edge_colour(spec: DatasetSpec, a: int, b: int) -> tuple[int, int, int]:
    sa, sb = spec.joint_sides[a], spec.joint_sides[b]
    return SIDE_COLOURS[sa if sa == sb else "centre"]


def palette_for(kind: str) -> np.ndarray:
    """(N, 3) uint8 parsing palette of a dataset kind (N = its parsing classes).

    Raises:
        InputError: an unknown kind.
    """
    return np.asarray(get_spec(kind).parsing_palette, dtype=np.uint8)


def colorize_parsing(labels: np.ndarray, kind: str = "lip") -> np.ndarray:
    """Colour a parsing map.

    Args:
        labels: (H, W) integer ids (LIP 0-19 or PASCAL 0-6; 255 = ignore).
        kind: dataset kind whose palette to use (``"lip"``, ``"pascal"``; ``"mpii"`` = LIP's).

    Returns:
        (H, W, 3) uint8 RGB; ignore pixels white.

    Raises:
        ValueError: an id outside the palette (other than 255).
    """
    labels = np.asarray(labels)
    palette = palette_for(kind)
    ignore = labels == IGNORE_LABEL
    bad = (labels < 0) | ((labels >= len(palette)) & ~ignore)
    if bad.any():
        raise ValueError(f"colorize_parsing({kind}): ids {np.unique(labels[bad]).tolist()} outside 0-"
                         f"{len(palette) - 1} (and 255)")
    out = palette[np.where(ignore, 0, labels)]
    out[ignore] = 255
    return out


def overlay_parsing(image: np.ndarray, labels: np.ndarray, kind: str = "lip", alpha: float = 0.55) -> np.ndarray:
    """Blend a coloured parsing map over an image (background pixels are left as they are).

    Args:
        image: (H, W, 3) or (H, W) uint8.
        labels: (H, W) ids of the same size.
        kind: dataset kind whose palette to use.
        alpha: weight of the parsing colours on labelled pixels.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    rgb = as_rgb(image)
    if rgb.shape[:2] != np.asarray(labels).shape:
        raise ValueError(f"overlay_parsing: image {rgb.shape[:2]} and labels {np.asarray(labels).shape} differ")
    colour = colorize_parsing(labels, kind).astype(np.float64)
    fg = (np.asarray(labels) != 0)[..., None]
    out = np.where(fg, (1 - alpha) * rgb + alpha * colour, rgb)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1|3) uint8 -> (H, W, 3) uint8 copy."""
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2).copy()
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2).copy()
    if image.ndim == 3 and image.shape[2] == 3:
        return image.copy()
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


def _joint_points(caller: str, joints: np.ndarray, kind: str | None) -> tuple[DatasetSpec, dict[int, tuple[int, int]]]:
    """The dataset spec of ``joints`` and the pixel position of each joint present in them (finite x, y and, with a
    third column, valid / score > 0), checked: (K, 2) or (K, 3) with the spec's K; errors name ``caller``."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 2 or joints.shape[1] not in (2, 3):
        raise InputError(f"{caller}: joints must be (K, 2) or (K, 3), got shape {joints.shape}")
    spec = spec_for_joints(joints.shape[0]) if kind is None else get_spec(kind)
    if spec.num_joints != joints.shape[0]:
        raise InputError(f"{caller}: {spec.kind} has {spec.num_joints} joints, got {joints.shape[0]}")
    present = np.isfinite(joints[:, :2]).all(axis=1)
    if joints.shape[1] > 2:
        present &= joints[:, 2] > 0  # NaN is not > 0
    return spec, {j: (int(round(joints[j, 0])), int(round(joints[j, 1]))) for j in range(len(joints)) if present[j]}


def draw_skeleton(image: np.ndarray, joints: np.ndarray, occluded: np.ndarray | None = None,
                  radius: int = 2, thickness: int = 1, kind: str | None = None) -> np.ndarray:
    """Draw joints and limbs on a copy of an image.

    Left limbs green, right limbs magenta, centre yellow; visible joints filled, occluded joints
    hollow; missing joints (valid 0 or NaN) and their limbs are skipped.

    Args:
        image: (H, W, 3) or (H, W) uint8 RGB.
        joints: (K, 3) x, y, valid in the dataset's joint order; (K, 2) is taken as all valid.
        occluded: (K,) bool or None.
        radius: joint radius in pixels.
        thickness: limb thickness in pixels.
        kind: dataset kind whose skeleton to draw (None: the spec with K joints,
            :func:`piltools.datasets.specs.spec_for_joints`).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    out = as_rgb(image)
    spec, pts = _joint_points("draw_skeleton", joints, kind)
    occ = np.zeros(spec.num_joints, dtype=bool) if occluded is None else np.asarray(occluded, dtype=bool)
    for a, b in spec.skeleton:
        if a in pts and b in pts:
            cv2.line(out, pts[a], pts[b], _edge_colour(spec, a, b), thickness, cv2.LINE_AA)
    for j, p in pts.items():
        colour = spec.joint_colours[j]
        cv2.circle(out, p, radius, colour, 1 if occ[j] else -1, cv2.LINE_AA)
    return out


def draw_person(image: np.ndarray, joints: np.ndarray, colour: tuple[int, int, int], radius: int = 2,
                thickness: int = 1, kind: str | None = None) -> np.ndarray:
    """Draw one person's joints and limbs in a single colour on a copy of an image (a colour per person, where
    :func:`draw_skeleton` colours by body side); missing joints (valid or score 0, or NaN) and their limbs are
    skipped.

    Args:
        image: (H, W, 3) or (H, W) uint8 RGB.
        joints: (K, 3) x, y, valid (or score); (K, 2) is taken as all present.
        colour: RGB of this person.
        radius: joint radius in pixels.
        thickness: limb thickness in pixels.
        kind: dataset kind whose skeleton to draw (None: the spec with K joints).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    out = as_rgb(image)
    spec, pts = _joint_points("draw_person", joints, kind)
    for a, b in spec.skeleton:
        if a in pts and b in pts:
            cv2.line(out, pts[a], pts[b], colour, thickness, cv2.LINE_AA)
    for p in pts.values():
        cv2.circle(out, p, radius, colour, -1, cv2.LINE_AA)
    return out


def draw_box(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Draw an x1, y1, x2, y2 box on a copy of an image (RGB uint8)."""
    out = as_rgb(image)
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(out, (x1, y1), (x2, y2), colour, 1)
    return out


def tile_images(images: list[np.ndarray], columns: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Arrange RGB images of possibly different sizes in a grid (cells sized to the largest image).

    Args:
        images: list of (H, W, 3) or (H, W) uint8.
        columns: images per row.
        pad: pixels between cells.
        fill: grey level of the padding.

    Returns:
        (H', W', 3) uint8.
    """
    if not images or columns < 1:
        raise ValueError("tile_images: need at least one image and columns >= 1")
    rgb = [as_rgb(im) for im in images]
    ch = max(im.shape[0] for im in rgb)
    cw = max(im.shape[1] for im in rgb)
    rows = (len(rgb) + columns - 1) // columns
    out = np.full((rows * (ch + pad) + pad, columns * (cw + pad) + pad, 3), fill, dtype=np.uint8)
    for i, im in enumerate(rgb):
        r, c = divmod(i, columns)
        y = pad + r * (ch + pad) + (ch - im.shape[0]) // 2
        x = pad + c * (cw + pad) + (cw - im.shape[1]) // 2
        out[y:y + im.shape[0], x:x + im.shape[1]] = im
    return out
