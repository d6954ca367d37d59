"""Paper augmentation as ONE affine per sample, and image normalisation.

A sample's augmentation is a 2x3 matrix ``affine`` mapping ORIGINAL image pixel
coordinates to network INPUT pixel coordinates (0-based, pixel centres at
integers; docs/conventions.md). It is built from the person centre ``c`` and scale ``s``
(box side / 200) and the sampled parameters::

    side   = 200 * s * box_margin                  # crop side in original pixels
    zoom   = input_size / side * params.scale      # params.scale > 1 enlarges the person
    x_in   = zoom * R(rotation) (x - c) + ((S - 1) / 2 + tx, (S - 1) / 2 + ty)
    flip:    x_in <- (S - 1) - x_in                # horizontal flip of the crop

``R(a)`` rotates counter-clockwise on screen by ``a`` degrees (as
``cv2.getRotationMatrix2D``); ``tx, ty`` move the person centre in input pixels
(the "jittered centre"). The same matrix warps the image (bilinear, pad value
128 in each channel), the label map (nearest neighbour, pad value
``IGNORE_LABEL`` = 255: the padding is not part of the photo, so it is neither
background nor person and is left out of the parsing loss) and the joints.

A flip also swaps left/right joints (``flip_perm``) and left/right parsing ids
(``parsing_flip_perm``: LIP 14<->15, 16<->17, 18<->19; PASCAL parts have no
left/right ids, so None). With a flip, output joint ``k`` is original joint
``flip_perm[k]`` (the affine maps positions; the permutation renames them).

Joints that land outside the input are marked missing (valid 0, x, y NaN),
never clipped; inside means ``-0.5 <= x, y < S - 0.5`` (the outer edges of the
border pixels), as in :func:`piltools.targets.joint_mask`.

Presets (paper Sec. 4.1): ``lip``/``pascal`` rotation U[-40, 40] deg,
scale U[0.8, 1.5], translation U[-40, 40] px per axis, flip p 0.5; ``mpii``
rotation U[-30, 30], scale U[0.7, 1.3], no translation, flip p 0.5; ``eval``
no randomness. Randomness comes from :func:`sample_rng` (seed, epoch, index),
so a sample's augmentation does not depend on which DataLoader worker draws it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

from piltools.joints import IGNORE_LABEL

PAD_VALUE = 128


@dataclass(frozen=True)
class AugmentPreset:
    """Ranges of the random augmentation.

    Args:
        max_rotation: rotation drawn from U[-max_rotation, max_rotation] degrees.
        scale_range: zoom drawn from U[lo, hi] (> 1 enlarges the person).
        max_translation: centre shift per axis drawn from U[-t, t] pixels OF A
            256-PIXEL INPUT (the paper's +-40 px at 256x256); :func:`sample_params`
            rescales it to the actual input size so a smaller input sees the same
            relative shift.
        flip_prob: probability of a horizontal flip.
    """

    max_rotation: float = 0.0
    scale_range: tuple[float, float] = (1.0, 1.0)
    max_translation: float = 0.0
    flip_prob: float = 0.0


PRESETS: dict[str, AugmentPreset] = {
    "lip": AugmentPreset(max_rotation=40.0, scale_range=(0.8, 1.5), max_translation=40.0, flip_prob=0.5),
    "pascal": AugmentPreset(max_rotation=40.0, scale_range=(0.8, 1.5), max_translation=40.0, flip_prob=0.5),
    "mpii": AugmentPreset(max_rotation=30.0, scale_range=(0.7, 1.3), max_translation=0.0, flip_prob=0.5),
    "eval": AugmentPreset(),
}


def get_preset(name: str) -> AugmentPreset:
    """The named augmentation preset (``lip``, ``pascal``, ``mpii``, ``eval``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name]


@dataclass(frozen=True)
class AugmentParams:
    """One sample's augmentation.

    Args:
        rotation: degrees, counter-clockwise on screen.
        scale: zoom factor (> 1 enlarges the person).
        translate: (tx, ty) shift of the person centre in input pixels.
        flip: horizontal flip of the crop.
    """

    rotation: float = 0.0
    scale: float = 1.0
    translate: tuple[float, float] = (0.0, 0.0)
    flip: bool = False


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """Generator for one sample of one epoch: a pure function of (seed, epoch, index).

    Args:
        seed: experiment seed (non-negative).
        epoch: epoch number (non-negative).
        index: sample index in the dataset.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))


# The input size at which the presets' translations are given (the paper's).
REFERENCE_INPUT_SIZE = 256


def sample_params(preset: AugmentPreset, rng: np.random.Generator,
                  input_size: int = REFERENCE_INPUT_SIZE) -> AugmentParams:
    """Draw one sample's augmentation from ``preset`` (always the same 5 draws, in order).

    Args:
        preset: the ranges.
        rng: the sample's generator (:func:`sample_rng`).
        input_size: network input side; the translation range is scaled by
            ``input_size / 256`` (the paper's +-40 px are at 256x256).
    """
    u = rng.random(5)  # rotation, scale, tx, ty, flip
    lo, hi = preset.scale_range
    max_t = preset.max_translation * input_size / REFERENCE_INPUT_SIZE
    return AugmentParams(
        rotation=float((2 * u[0] - 1) * preset.max_rotation),
        scale=float(lo + (hi - lo) * u[1]),
        translate=(float((2 * u[2] - 1) * max_t), float((2 * u[3] - 1) * max_t)),
        flip=bool(u[4] < preset.flip_prob),
    )


def make_affine(
    *,
    center: Sequence[float],
    scale: float,
    input_size: int,
    params: AugmentParams = AugmentParams(),
    box_margin: float = 1.25,
) -> np.ndarray:
    """The (2, 3) float64 affine from original pixels to input pixels (module docstring).

    Args:
        center: (2,) person centre x, y in original pixels.
        scale: person box side / 200.
        input_size: S, the square input side.
        params: the sample's augmentation.
        box_margin: crop side = 200 * scale * box_margin before the zoom.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    side = 200.0 * scale * box_margin
    zoom = input_size / side * params.scale
    theta = np.deg2rad(params.rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    linear = zoom * np.array([[cos, sin], [-sin, cos]])
    mid = (input_size - 1) / 2.0
    target = np.array([mid + params.translate[0], mid + params.translate[1]])
    offset = target - linear @ np.asarray(center, dtype=np.float64)
    affine = np.column_stack([linear, offset])  # (2, 2) | (2,) -> (2, 3)
    if params.flip:
        affine[0] = -affine[0]
        affine[0, 2] += input_size - 1
    return affine


def warp_image(image: np.ndarray, affine: np.ndarray, size: int, *, pad: int = PAD_VALUE) -> np.ndarray:
    """Warp a uint8 (H, W, 3) image to (size, size, 3), bilinear, padding ``pad``.

    Args:
        image: uint8 (H, W, 3).
        affine: (2, 3) original -> output pixel coordinates.
        size: output side.
        pad: value outside the source image, every channel.
    """
    return cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(pad, pad, pad))


def warp_labels(labels: np.ndarray, affine: np.ndarray, size: int, *, pad: int = IGNORE_LABEL) -> np.ndarray:
    """Warp a uint8 (H, W) label map to (size, size) with nearest neighbour.

    Args:
        labels: uint8 (H, W) class ids.
        affine: (2, 3) original -> output pixel coordinates.
        size: output side.
        pad: label outside the source map (``IGNORE_LABEL``).
    """
    return cv2.warpAffine(labels, affine, (size, size), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=pad)


def warp_labels_back(labels: np.ndarray, affine: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Map an input-crop label map back to the original image (nearest neighbour; IGNORE_LABEL outside the crop).

    Args:
        labels: uint8 (S, S) ids in input pixels.
        affine: (2, 3) original -> input pixels (the crop's).
        image_hw: (H, W) of the original image.
    """
    height, width = image_hw
    # WARP_INVERSE_MAP: the matrix maps destination (original) pixels to source (input) pixels
    return cv2.warpAffine(labels, affine, (width, height), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=IGNORE_LABEL)


def transform_joints(joints: np.ndarray, affine: np.ndarray, size: int) -> np.ndarray:
    """Map (K, 3) joints through ``affine``; joints outside the (size, size) input become missing.

    Args:
        joints: (K, 3) x, y, valid.
        affine: (2, 3).
        size: input side S; inside means -0.5 <= x, y < S - 0.5.
    """
    out = np.full(joints.shape, np.nan, dtype=np.float64)
    out[:, 2] = 0.0
    valid = joints[:, 2] > 0
    xy = joints[valid, :2] @ affine[:, :2].T + affine[:, 2]  # (n, 2)
    inside = ((xy >= -0.5) & (xy < size - 0.5)).all(axis=1)
    rows = np.flatnonzero(valid)[inside]
    out[rows, :2] = xy[inside]
    out[rows, 2] = 1.0
    return out


def permute_labels(labels: np.ndarray, perm: Sequence[int] | None) -> np.ndarray:
    """Rename label ids: id ``i < len(perm)`` becomes ``perm[i]``; others (255) stay.

    Args:
        labels: uint8 (H, W).
        perm: the left/right swap permutation, or None for no change.
    """
    if perm is None:
        return labels
    lut = np.arange(256, dtype=np.uint8)
    lut[: len(perm)] = np.asarray(perm, dtype=np.uint8)
    return lut[labels]


def hflip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an (H, W, ...) array left-right."""
    return np.ascontiguousarray(image[:, ::-1])


def hflip_labels(labels: np.ndarray, perm: Sequence[int] | None) -> np.ndarray:
    """Mirror a (H, W) label map and swap its left/right ids.

    Args:
        labels: uint8 (H, W).
        perm: left/right label permutation (None: no ids to swap, as PASCAL parts).
    """
    return permute_labels(hflip_image(labels), perm)


def hflip_joints(joints: np.ndarray, width: int, perm: Sequence[int]) -> np.ndarray:
    """Mirror (K, 3) joints in an image ``width`` wide and swap left/right joints.

    Args:
        joints: (K, 3) x, y, valid.
        width: image width (x -> width - 1 - x).
        perm: left/right joint permutation.
    """
    out = joints.copy()
    out[:, 0] = width - 1 - out[:, 0]
    return out[np.asarray(perm)]


@dataclass
class Augmented:
    """The result of :func:`augment`.

    Args:
        image: uint8 (S, S, 3).
        parsing: uint8 (S, S) or None.
        joints: (..., K, 3) input coordinates (missing outside the input).
        occluded: (..., K) bool, permuted with the joints.
        affine: (2, 3) original -> input coordinates.
        flip: whether the sample was flipped (joints and ids swapped).
    """

    image: np.ndarray
    parsing: np.ndarray | None
    joints: np.ndarray
    occluded: np.ndarray
    affine: np.ndarray
    flip: bool


def augment(
    *,
    image: np.ndarray,
    parsing: np.ndarray | None,
    joints: np.ndarray,
    occluded: np.ndarray,
    center: Sequence[float],
    scale: float,
    input_size: int,
    params: AugmentParams,
    flip_perm: Sequence[int],
    parsing_flip_perm: Sequence[int] | None,
    box_margin: float = 1.25,
) -> Augmented:
    """Apply one affine (rotation, zoom, shift, flip, crop) to image, parsing and joints.

    Args:
        image: uint8 (H, W, 3) RGB.
        parsing: uint8 (H, W) ids or None.
        joints: (K, 3) x, y, valid in original pixels, or (P, K, 3) for P people.
        occluded: (K,) or (P, K) bool.
        center: (2,) person centre.
        scale: person box side / 200.
        input_size: S.
        params: the sample's augmentation.
        flip_perm: left/right joint permutation (length K).
        parsing_flip_perm: left/right parsing id permutation, or None.
        box_margin: crop side = 200 * scale * box_margin before the zoom.
    """
    affine = make_affine(center=center, scale=scale, input_size=input_size, params=params,
                         box_margin=box_margin)
    out_image = warp_image(image, affine, input_size)
    out_parsing = None if parsing is None else warp_labels(parsing, affine, input_size)
    joints = np.asarray(joints, dtype=np.float64)
    num = joints.shape[-2]
    flat = joints.reshape(-1, 3)  # (..., K, 3) -> (N*K, 3)
    out_joints = transform_joints(flat, affine, input_size).reshape(joints.shape)
    out_occluded = np.asarray(occluded, dtype=bool).copy()
    if params.flip:
        perm = np.asarray(flip_perm)
        if perm.shape != (num,):
            raise ValueError(f"flip_perm has {perm.shape[0]} entries for {num} joints")
        out_joints = out_joints[..., perm, :]
        out_occluded = out_occluded[..., perm]
        if out_parsing is not None:
            out_parsing = permute_labels(out_parsing, parsing_flip_perm)
    return Augmented(image=out_image, parsing=out_parsing, joints=out_joints,
                     occluded=out_occluded, affine=affine, flip=params.flip)


def normalize(image: np.ndarray) -> torch.Tensor:
    """uint8 RGB (H, W, 3) or (N, H, W, 3) -> float32 (3, H, W) / (N, 3, H, W), pixel/255 - 0.5.

    Args:
        image: uint8 RGB array, channels last.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(image)).float().div_(255.0).sub_(0.5)
    return tensor.movedim(-1, -3).contiguous()  # (..., H, W, 3) -> (..., 3, H, W)


def denormalize(tensor: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`normalize`: float (3, H, W) / (N, 3, H, W) -> uint8 RGB channels last.

    Args:
        tensor: normalised image(s).
    """
    pixels = ((tensor.detach().cpu().float() + 0.5) * 255.0).round().clamp_(0, 255).to(torch.uint8)
    return pixels.movedim(-3, -1).numpy()  # (..., 3, H, W) -> (..., H, W, 3)
