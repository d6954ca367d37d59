"""Property tests of the one-affine augmentation (piltools.datasets.transforms)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from piltools.datasets.transforms import (
    PAD_VALUE,
    PRESETS,
    AugmentParams,
    augment,
    denormalize,
    hflip_image,
    hflip_joints,
    hflip_labels,
    make_affine,
    normalize,
    sample_params,
    sample_rng,
    transform_joints,
)
from piltools.joints import IGNORE_LABEL, JOINT_FLIP_PERM, LIP_PARSING_FLIP_PERM, NUM_JOINTS, P


def _random_joints(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    joints = np.column_stack([rng.uniform(0, width - 1, NUM_JOINTS), rng.uniform(0, height - 1, NUM_JOINTS),
                              np.ones(NUM_JOINTS)])
    joints[3] = (np.nan, np.nan, 0.0)  # one missing joint
    return joints


def test_flip_twice_is_identity() -> None:
    rng = np.random.default_rng(0)
    joints = _random_joints(rng, 50, 40)
    twice = hflip_joints(hflip_joints(joints, 50, JOINT_FLIP_PERM), 50, JOINT_FLIP_PERM)
    np.testing.assert_allclose(twice, joints, atol=1e-12)  # NaNs compare equal here
    once = hflip_joints(joints, 50, JOINT_FLIP_PERM)
    assert not np.allclose(once[:, 0], joints[:, 0], equal_nan=True)
    labels = rng.integers(0, 20, size=(40, 50)).astype(np.uint8)
    labels[0, :5] = IGNORE_LABEL
    assert np.array_equal(hflip_labels(hflip_labels(labels, LIP_PARSING_FLIP_PERM), LIP_PARSING_FLIP_PERM), labels)
    # one flip swaps left/right ids: a left arm on the left becomes a right arm on the right
    arm = np.zeros((4, 6), dtype=np.uint8)
    arm[:, 0] = P["left_arm"]
    flipped = hflip_labels(arm, LIP_PARSING_FLIP_PERM)
    assert (flipped[:, -1] == P["right_arm"]).all() and (flipped[:, :-1] == 0).all()
    image = rng.integers(0, 256, size=(40, 50, 3)).astype(np.uint8)
    assert np.array_equal(hflip_image(hflip_image(image)), image)


def test_augment_flip_equals_mirrored_unflipped() -> None:
    """Flipping inside the affine == mirroring the unflipped output and swapping names/ids."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(90, 70, 3)).astype(np.uint8)
    labels = rng.integers(0, 20, size=(90, 70)).astype(np.uint8)
    joints = _random_joints(rng, 70, 90)
    occluded = rng.random(NUM_JOINTS) < 0.3
    base = AugmentParams(rotation=17.3, scale=1.13, translate=(3.7, -5.1), flip=False)
    kwargs = dict(image=image, parsing=labels, joints=joints, occluded=occluded, center=(34.2, 45.1),
                  scale=0.4, input_size=64, flip_perm=JOINT_FLIP_PERM,
                  parsing_flip_perm=LIP_PARSING_FLIP_PERM)
    plain = augment(params=base, **kwargs)
    flip = augment(params=AugmentParams(rotation=17.3, scale=1.13, translate=(3.7, -5.1), flip=True), **kwargs)
    assert flip.flip and not plain.flip
    np.testing.assert_allclose(flip.joints, hflip_joints(plain.joints, 64, JOINT_FLIP_PERM), atol=1e-9)
    assert np.array_equal(flip.occluded, plain.occluded[JOINT_FLIP_PERM])
    diff = np.abs(flip.image.astype(int) - hflip_image(plain.image).astype(int))
    assert diff.max() <= 1  # same source points; only fixed-point rounding differs
    same = flip.parsing == hflip_labels(plain.parsing, LIP_PARSING_FLIP_PERM)
    assert same.mean() > 0.995  # nearest-neighbour ties may fall either way on a few pixels


@pytest.mark.parametrize("preset", ["eval", "lip", "mpii", "pascal"])
def test_joints_follow_the_image(preset: str) -> None:
    """A bright blob (and a labelled disk) drawn at a joint ends up where the joint is mapped."""
    height, width = 120, 100
    yy, xx = np.mgrid[0:height, 0:width]
    jx, jy = 61.0, 47.0
    blob = np.exp(-((xx - jx) ** 2 + (yy - jy) ** 2) / (2 * 3.0 ** 2))
    image = np.repeat((blob * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    labels = np.where((xx - jx) ** 2 + (yy - jy) ** 2 <= 25, P["left_arm"], 0).astype(np.uint8)
    joints = np.full((NUM_JOINTS, 3), np.nan)
    joints[:, 2] = 0
    joints[15] = (jx, jy, 1.0)  # l_wrist: flips to r_wrist (10)
    for index in range(5):
        params = sample_params(PRESETS[preset], sample_rng(3, 0, index))
        # crop centred on the joint: even with a 40 px shift the blob stays 39 px from the border
        aug = augment(image=image, parsing=labels, joints=joints, occluded=np.zeros(NUM_JOINTS, bool),
                      center=(jx, jy), scale=0.5, input_size=160, params=params, flip_perm=JOINT_FLIP_PERM,
                      parsing_flip_perm=LIP_PARSING_FLIP_PERM)
        k = 10 if params.flip else 15
        assert aug.joints[k, 2] == 1 and aug.joints[:, 2].sum() == 1
        x, y = aug.joints[k, :2]
        grey = aug.image[..., 0].astype(float)
        grey[grey == PAD_VALUE] = 0
        peak = np.unravel_index(np.argmax(grey), grey.shape)
        assert 39 <= x <= 121 and 39 <= y <= 121
        assert abs(peak[1] - x) <= 1.0 and abs(peak[0] - y) <= 1.0, (preset, index, peak, x, y)
        arm = P["right_arm"] if params.flip else P["left_arm"]
        ys, xs = np.nonzero(aug.parsing == arm)
        assert abs(xs.mean() - x) < 1.0 and abs(ys.mean() - y) < 1.0
        if preset == "eval":
            assert params == AugmentParams()


def test_joints_outside_crop_become_missing_not_clipped() -> None:
    joints = np.array([[50.0, 50.0, 1.0], [500.0, 50.0, 1.0], [-3.0, 20.0, 1.0], [np.nan, np.nan, 0.0]])
    affine = make_affine(center=(50, 50), scale=0.5, input_size=64, box_margin=1.0)
    out = transform_joints(joints, affine, 64)
    assert out[0, 2] == 1 and np.allclose(out[0, :2], 31.5)  # the centre maps to the middle
    for k in (1, 2, 3):
        assert out[k, 2] == 0 and np.isnan(out[k, :2]).all()


def test_padding_and_eval_crop_geometry() -> None:
    image = np.full((20, 20, 3), 7, dtype=np.uint8)
    labels = np.full((20, 20), 3, dtype=np.uint8)
    aug = augment(image=image, parsing=labels, joints=np.zeros((NUM_JOINTS, 3)), occluded=np.zeros(NUM_JOINTS, bool),
                  center=(9.5, 9.5), scale=0.2, input_size=40, params=AugmentParams(), flip_perm=JOINT_FLIP_PERM,
                  parsing_flip_perm=None)
    # crop side 200 * 0.2 * 1.25 = 50 px -> zoom 40 / 50 = 0.8: the 20 px image covers 16 px in the middle
    assert aug.image[0, 0, 0] == PAD_VALUE and aug.parsing[0, 0] == IGNORE_LABEL
    assert aug.image[20, 20, 0] == 7 and aug.parsing[20, 20] == 3
    assert (aug.parsing != IGNORE_LABEL).sum() == pytest.approx(16 * 16, abs=40)


def test_sample_rng_reproducible_and_distinct() -> None:
    a = sample_params(PRESETS["lip"], sample_rng(0, 1, 5))
    b = sample_params(PRESETS["lip"], sample_rng(0, 1, 5))
    c = sample_params(PRESETS["lip"], sample_rng(0, 2, 5))
    assert a == b and a != c
    draws = [sample_params(PRESETS["mpii"], sample_rng(0, 0, i)) for i in range(300)]
    assert max(abs(d.rotation) for d in draws) <= 30 and max(abs(d.rotation) for d in draws) > 25
    assert all(0.7 <= d.scale <= 1.3 for d in draws) and all(d.translate == (0.0, 0.0) for d in draws)
    assert 0.35 < np.mean([d.flip for d in draws]) < 0.65
    lip = [sample_params(PRESETS["lip"], sample_rng(0, 0, i)) for i in range(300)]
    assert max(abs(d.translate[0]) for d in lip) > 30 and all(abs(d.translate[1]) <= 40 for d in lip)


def test_normalize_roundtrip() -> None:
    image = np.random.default_rng(2).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    tensor = normalize(image)
    assert tensor.shape == (3, 5, 7) and tensor.dtype == torch.float32
    assert tensor[0, 1, 2].item() == pytest.approx(image[1, 2, 0] / 255 - 0.5)
    assert np.array_equal(denormalize(tensor), image)
    batch = normalize(np.stack([image, image]))
    assert batch.shape == (2, 3, 5, 7) and np.array_equal(denormalize(batch)[1], image)
