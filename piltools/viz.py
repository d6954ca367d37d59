"""Drawing helpers: skeletons on images or matplotlib axes, coloured LIP / PASCAL parsing maps.

Palettes are fixed so that every figure of the project colours a label the same
way: :data:`LIP_PALETTE` (20 LIP ids, hand-picked so left/right parts differ
clearly) and :data:`PASCAL_PALETTE` (the standard PASCAL VOC palette, whose
first 7 entries colour the 7 part ids; the same palette the part PNGs carry).
The ignore label 255 is drawn white.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from piltools.joints import (
    IGNORE_LABEL,
    JOINT_NAMES,
    NUM_JOINTS,
    NUM_PASCAL_JOINTS,
    PASCAL_JOINT_NAMES,
    PJ,
    SKELETON,
)


def voc_palette(num: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map: entry i spreads the bits of i over R, G, B (high bits first).

    Returns:
        (num, 3) uint8.
    """
    palette = np.zeros((num, 3), dtype=np.uint8)
    for i in range(num):
        value, r, g, b = i, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette[i] = (r, g, b)
    return palette


PASCAL_PALETTE = voc_palette(256)
LIP_PALETTE = np.array([
    [0, 0, 0],        # 0 background
    [128, 0, 0],      # 1 hat
    [255, 0, 0],      # 2 hair
    [0, 85, 0],       # 3 glove
    [170, 0, 51],     # 4 sunglasses
    [255, 85, 0],     # 5 upper clothes
    [0, 0, 85],       # 6 dress
    [0, 119, 221],    # 7 coat
    [85, 85, 0],      # 8 socks
    [0, 85, 85],      # 9 pants
    [85, 51, 0],      # 10 jumpsuits
    [52, 86, 128],    # 11 scarf
    [0, 128, 0],      # 12 skirt
    [0, 0, 255],      # 13 face
    [51, 170, 221],   # 14 left arm
    [0, 255, 255],    # 15 right arm
    [85, 255, 170],   # 16 left leg
    [170, 255, 85],   # 17 right leg
    [255, 255, 0],    # 18 left shoe
    [255, 170, 0],    # 19 right shoe
], dtype=np.uint8)


# Skeleton of the 14 PASCAL joints (no pelvis/thorax): limbs plus a shoulder and a hip bar.
PASCAL_SKELETON: tuple[tuple[int, int], ...] = (
    (PJ["r_ankle"], PJ["r_knee"]), (PJ["r_knee"], PJ["r_hip"]), (PJ["l_ankle"], PJ["l_knee"]),
    (PJ["l_knee"], PJ["l_hip"]), (PJ["r_hip"], PJ["l_hip"]), (PJ["r_wrist"], PJ["r_elbow"]),
    (PJ["r_elbow"], PJ["r_shoulder"]), (PJ["l_wrist"], PJ["l_elbow"]), (PJ["l_elbow"], PJ["l_shoulder"]),
    (PJ["r_shoulder"], PJ["l_shoulder"]), (PJ["neck"], PJ["head_top"]),
    (PJ["r_shoulder"], PJ["neck"]), (PJ["l_shoulder"], PJ["neck"]),
    (PJ["r_hip"], PJ["r_shoulder"]), (PJ["l_hip"], PJ["l_shoulder"]),
)

# RGB colours by body side
SIDE_COLOURS = {"l": (40, 220, 40), "r": (230, 40, 230), "c": (255, 220, 0)}


def _side(name: str) -> str:
    return name[0] if name[:2] in ("l_", "r_") else "c"


def _skeleton_for(num_joints: int) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    if num_joints == NUM_JOINTS:
        return SKELETON, JOINT_NAMES
    if num_joints == NUM_PASCAL_JOINTS:
        return PASCAL_SKELETON, PASCAL_JOINT_NAMES
    raise ValueError(f"no skeleton for {num_joints} joints; expected {NUM_JOINTS} (MPII/LIP) or "
                     f"{NUM_PASCAL_JOINTS} (PASCAL)")


def _edge_colour(names: tuple[str, ...], a: int, b: int) -> tuple[int, int, int]:
    sa, sb = _side(names[a]), _side(names[b])
    return SIDE_COLOURS[sa if sa == sb else "c"]


def palette_for(kind: str) -> np.ndarray:
    """(N, 3) uint8 palette of ``kind`` ("lip" or "pascal")."""
    if kind == "lip":
        return LIP_PALETTE
    if kind == "pascal":
        return PASCAL_PALETTE[:7]
    raise ValueError(f"palette kind must be 'lip' or 'pascal', got {kind!r}")


def colorize_parsing(labels: np.ndarray, kind: str = "lip") -> np.ndarray:
    """Colour a parsing map.

    Args:
        labels: (H, W) integer ids (LIP 0-19 or PASCAL 0-6; 255 = ignore).
        kind: "lip" or "pascal".

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
        kind: "lip" or "pascal".
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


def draw_skeleton(image: np.ndarray, joints: np.ndarray, occluded: np.ndarray | None = None,
                  radius: int = 2, thickness: int = 1) -> np.ndarray:
    """Draw joints and limbs on a copy of an image.

    Left limbs green, right limbs magenta, centre yellow; visible joints filled, occluded joints
    hollow; missing joints (valid 0 or NaN) and their limbs are skipped.

    Args:
        image: (H, W, 3) or (H, W) uint8 RGB.
        joints: (K, 3) x, y, valid with K = 16 (MPII/LIP order) or 14 (PASCAL order); (K, 2) is
            taken as all valid.
        occluded: (K,) bool or None.
        radius: joint radius in pixels.
        thickness: limb thickness in pixels.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    out = as_rgb(image)
    joints = np.asarray(joints, dtype=np.float64)
    skeleton, names = _skeleton_for(joints.shape[0])
    valid = np.isfinite(joints[:, :2]).all(axis=1)
    if joints.shape[1] > 2:
        valid &= joints[:, 2] > 0
    occ = np.zeros(len(joints), dtype=bool) if occluded is None else np.asarray(occluded, dtype=bool)
    pts = {j: (int(round(joints[j, 0])), int(round(joints[j, 1]))) for j in range(len(joints)) if valid[j]}
    for a, b in skeleton:
        if a in pts and b in pts:
            cv2.line(out, pts[a], pts[b], _edge_colour(names, a, b), thickness, cv2.LINE_AA)
    for j, p in pts.items():
        colour = SIDE_COLOURS[_side(names[j])]
        cv2.circle(out, p, radius, colour, 1 if occ[j] else -1, cv2.LINE_AA)
    return out


def plot_skeleton(ax: Any, joints: np.ndarray, occluded: np.ndarray | None = None, marker_size: float = 20.0,
                  linewidth: float = 1.5) -> None:
    """Draw a skeleton on a matplotlib axis (same colours and conventions as :func:`draw_skeleton`).

    Args:
        ax: a matplotlib Axes (image coordinates: call ``ax.imshow`` first).
        joints: (K, 3) or (K, 2), K = 16 or 14.
        occluded: (K,) bool or None.
        marker_size: scatter marker area.
        linewidth: limb line width.
    """
    joints = np.asarray(joints, dtype=np.float64)
    skeleton, names = _skeleton_for(joints.shape[0])
    valid = np.isfinite(joints[:, :2]).all(axis=1)
    if joints.shape[1] > 2:
        valid &= joints[:, 2] > 0
    occ = np.zeros(len(joints), dtype=bool) if occluded is None else np.asarray(occluded, dtype=bool)
    for a, b in skeleton:
        if valid[a] and valid[b]:
            colour = np.array(_edge_colour(names, a, b)) / 255.0
            ax.plot(joints[[a, b], 0], joints[[a, b], 1], color=colour, linewidth=linewidth)
    for j in np.nonzero(valid)[0]:
        colour = np.array(SIDE_COLOURS[_side(names[j])]) / 255.0
        ax.scatter([joints[j, 0]], [joints[j, 1]], s=marker_size, edgecolors=[colour],
                   facecolors="none" if occ[j] else [colour], linewidths=1.0, zorder=3)


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
