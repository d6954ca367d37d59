"""Gaussian heatmap targets: values at hand-picked cells, masks, background,
and decode(targets) recovering the joints."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from piltools.decoding import decode_heatmaps
from piltools.targets import gaussian_heatmaps, joint_mask


def _one_joint(x: float, y: float, valid: float = 1.0) -> np.ndarray:
    return np.array([[x, y, valid]])


def test_reference_convention_values() -> None:
    # stride 4: cell (u=3, v=2) has its centre at (3*4 + 1.5, 2*4 + 1.5) = (13.5, 9.5)
    hm, mask = gaussian_heatmaps(_one_joint(13.5, 9.5), (8, 8), stride=4, sigma=7.0, convention="reference")
    assert hm.shape == (1, 8, 8) and hm.dtype == np.float32
    assert mask.tolist() == [1.0]
    assert hm[0, 2, 3] == pytest.approx(1.0)  # the joint sits on that cell centre
    # one cell right = 4 px: exp(-16 / (2 * 49)) = 0.84936
    assert hm[0, 2, 4] == pytest.approx(math.exp(-16 / 98), rel=1e-6)
    # 5 cells (20 px) down: exp(-400 / 98) = 0.0169 >= 0.01 -> kept
    assert hm[0, 7, 3] == pytest.approx(math.exp(-400 / 98), rel=1e-6)
    # cutoff: exp(-d^2 / 98) < 0.01 <=> d > 21.2 px; cell (7, 7) is 4 cells right and 5 down:
    # d^2 = 16^2 + 20^2 = 656 -> exp(-6.69) = 0.0012 -> zeroed
    assert hm[0, 7, 7] == 0.0


def test_newell_convention_values() -> None:
    # joint on the centre of cell (3, 2) again; sigma 1 cell
    hm, _ = gaussian_heatmaps(_one_joint(13.5, 9.5), (8, 8), stride=4, convention="newell")
    assert hm[0, 2, 3] == pytest.approx(1.0)
    assert hm[0, 2, 4] == pytest.approx(math.exp(-0.5), rel=1e-6)  # 1 cell away
    assert hm[0, 5, 3] == pytest.approx(math.exp(-4.5), rel=1e-6)  # 3 cells: d^2 = 9, on the 3-sigma radius
    assert hm[0, 6, 3] == 0.0  # 4 cells: outside the radius
    assert hm[0, 5, 4] == 0.0  # d^2 = 9 + 1 = 10 > 9 -> outside


def test_mask_and_background() -> None:
    joints = np.array([
        [10.0, 10.0, 1.0],        # inside
        [np.nan, np.nan, 0.0],    # not annotated
        [-1.0, 10.0, 1.0],        # left of the input (x < -0.5)
        [31.4, 10.0, 1.0],        # input is 32 px wide: x < 31.5 -> inside
        [31.5, 10.0, 1.0],        # x = 31.5 is past the last pixel's edge -> outside
    ])
    hm, mask = gaussian_heatmaps(joints, (8, 8), stride=4, background=True)
    assert mask.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert hm.shape == (6, 8, 8)  # 5 joints + background
    assert not hm[[1, 2, 4]].any()  # masked joints draw nothing
    # background = 1 - max over joint channels
    assert np.allclose(hm[5], 1.0 - hm[:5].max(axis=0))
    assert joint_mask(joints, (32, 32)).tolist() == mask.tolist()


def test_bad_convention() -> None:
    with pytest.raises(ValueError, match="convention"):
        gaussian_heatmaps(_one_joint(1, 1), (4, 4), stride=4, convention="gauss")


@pytest.mark.parametrize("convention, stride", [("reference", 4), ("reference", 8), ("newell", 4), ("newell", 8)])
def test_decode_recovers_joints_within_a_quarter_cell(convention: str, stride: int) -> None:
    rng = np.random.default_rng(0)
    h = w = 16
    # keep joints away from the border cells, where the quarter shift is not applied
    joints = np.ones((16, 3))
    joints[:, :2] = rng.uniform(1.5 * stride, (w - 1.5) * stride, size=(16, 2))
    hm, _ = gaussian_heatmaps(joints, (h, w), stride=stride, convention=convention)
    decoded = decode_heatmaps(torch.from_numpy(hm)[None], stride=stride)[0].numpy()  # (16, 3)
    err = np.abs(decoded[:, :2] - joints[:, :2])
    # argmax is within half a cell; the quarter shift toward the higher neighbour halves that
    assert err.max() <= 0.25 * stride + 1e-4
    # plain argmax (cell centres) is off by more than a quarter cell for some of these joints,
    # so the assert above really depends on the shift
    flat = hm.reshape(16, h * w).argmax(axis=1)  # (16, h, w) -> (16, h*w)
    centres = np.stack([flat % w, flat // w], axis=1) * stride + stride / 2 - 0.5  # (16, 2)
    assert np.abs(centres - joints[:, :2]).max() > 0.25 * stride
