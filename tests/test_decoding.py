"""Decoding: argmax + quarter shift on hand-placed maps, flip test on a
flip-symmetric stub model, the image pyramid, and mapping back through the
inverse affine."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from piltools.config import PAPER_EVAL_SCALES
from piltools.decoding import decode_heatmaps, flip_heatmaps, predict_heatmaps, to_original
from piltools.joints import JOINT_FLIP_PERM, NUM_JOINTS
from piltools.models.output import PoseOutput


class PooledStub(nn.Module):
    """Heatmap k = avg-pool(image channel 0) x column weight g[k].

    With ``symmetric=True`` the weights satisfy g[perm[k]] = flip(g[k]), so
    f(flip(x)) = flip_heatmaps(f(x), perm): the flip test must give back f(x).
    """

    def __init__(self, width: int, stride: int = 4, symmetric: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.stride = stride
        gen = torch.Generator().manual_seed(seed)
        w = width // stride
        g = torch.rand(NUM_JOINTS, w, generator=gen) + 0.5  # (K, w)
        if symmetric:
            for k, partner in enumerate(JOINT_FLIP_PERM):
                if partner == k:
                    g[k] = 0.5 * (g[k] + g[k].flip(0))
                elif partner > k:
                    g[partner] = g[k].flip(0)
        self.register_buffer("g", g)

    def forward(self, images: torch.Tensor) -> PoseOutput:
        pooled = F.avg_pool2d(images[:, :1], self.stride)  # (N, 1, H/s, W/s)
        w = pooled.shape[-1]
        g = self.g if w == self.g.shape[1] else F.interpolate(self.g[None], size=w, mode="linear")[0]
        return PoseOutput(heatmaps=[pooled * g[None, :, None, :]])  # (N, K, h, w)


class BlobStub(nn.Module):
    """Returns avg-pool(image channel 0) for every joint: a blob in the image is a peak in every map."""

    stride = 4

    def forward(self, images: torch.Tensor) -> PoseOutput:
        pooled = F.avg_pool2d(images[:, :1], self.stride)  # (N, 1, H/s, W/s)
        return PoseOutput(heatmaps=[pooled.expand(-1, NUM_JOINTS, -1, -1)])


def test_decode_hand_placed() -> None:
    hm = torch.zeros(1, 2, 5, 5)
    # joint 0: peak at (u=2, v=1); right 0.5 > left 0.2 -> u + 0.25; up 0.3 > down 0.1 -> v - 0.25
    hm[0, 0, 1, 2] = 1.0
    hm[0, 0, 1, 3], hm[0, 0, 1, 1] = 0.5, 0.2
    hm[0, 0, 0, 2], hm[0, 0, 2, 2] = 0.3, 0.1
    # joint 1: peak on the border cell (u=0, v=4): no shift there
    hm[0, 1, 4, 0] = 2.0
    hm[0, 1, 4, 1] = 1.0
    out = decode_heatmaps(hm, stride=4)
    # x = (u + 0.5) * 4 - 0.5: (2.25 + 0.5) * 4 - 0.5 = 10.5; y = (0.75 + 0.5) * 4 - 0.5 = 4.5
    assert out[0, 0].tolist() == pytest.approx([10.5, 4.5, 1.0])
    # (0 + 0.5) * 4 - 0.5 = 1.5; (4 + 0.5) * 4 - 0.5 = 17.5; score 2
    assert out[0, 1].tolist() == pytest.approx([1.5, 17.5, 2.0])
    # num_joints drops trailing channels (e.g. background)
    assert decode_heatmaps(hm, stride=4, num_joints=1).shape == (1, 1, 3)


def test_flip_heatmaps_swaps_channels_and_keeps_background() -> None:
    hm = torch.arange(2 * 17 * 1 * 3, dtype=torch.float32).reshape(2, 17, 1, 3)  # 16 joints + background
    out = flip_heatmaps(hm, JOINT_FLIP_PERM)
    # r_ankle (0) <-> l_ankle (5): out channel 0 is channel 5 mirrored
    assert torch.equal(out[:, 0], hm[:, 5].flip(-1))
    assert torch.equal(out[:, 16], hm[:, 16].flip(-1))  # background: mirrored, not moved
    assert torch.equal(flip_heatmaps(out, JOINT_FLIP_PERM), hm)  # an involution
    with pytest.raises(ValueError, match="not a permutation"):
        flip_heatmaps(hm, [0, 0] + list(range(2, 16)))


def test_flip_test_on_symmetric_stub_gives_unflipped_answer() -> None:
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 48)
    stub = PooledStub(width=48)
    plain = predict_heatmaps(stub, images)
    flipped = predict_heatmaps(stub, images, flip_perm=JOINT_FLIP_PERM)
    assert torch.allclose(plain, flipped, atol=1e-6)
    # the flip branch is really used: on a NON-symmetric stub the two differ
    other = PooledStub(width=48, symmetric=False)
    assert not torch.allclose(predict_heatmaps(other, images),
                              predict_heatmaps(other, images, flip_perm=JOINT_FLIP_PERM), atol=1e-3)
    # and equals the hand-made average there
    manual = 0.5 * (other(images).final + flip_heatmaps(other(images.flip(-1)).final, JOINT_FLIP_PERM))
    assert torch.allclose(predict_heatmaps(other, images, flip_perm=JOINT_FLIP_PERM), manual, atol=1e-6)


def _centroid(hm: torch.Tensor, stride: int) -> tuple[float, float]:
    """Heatmap-weighted mean input-pixel position of map (0, 0)."""
    m = hm[0, 0]  # (h, w)
    xs = (torch.arange(m.shape[1]) + 0.5) * stride - 0.5
    ys = (torch.arange(m.shape[0]) + 0.5) * stride - 0.5
    return float((m.sum(0) * xs).sum() / m.sum()), float((m.sum(1) * ys).sum() / m.sum())


def test_pyramid_keeps_peaks_aligned() -> None:
    size = 128
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    x0, y0 = 70.3, 41.6
    blob = torch.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 8.0**2))  # (H, W)
    images = blob.expand(1, 3, size, size).contiguous()
    assert len(PAPER_EVAL_SCALES) == 6  # the paper's six-scale pyramid
    # average-pooling keeps a blob's centroid, so at every scale the base-resolution map
    # must still be centred on (x0, y0); resizing with align_corners=True instead would
    # move it by 0.24 px at scale 0.7 (measured), past this 0.1 px tolerance
    for scale in PAPER_EVAL_SCALES:
        hm = predict_heatmaps(BlobStub(), images, scales=(scale,))
        assert hm.shape == (1, NUM_JOINTS, size // 4, size // 4)  # base resolution
        cx, cy = _centroid(hm, stride=4)
        assert abs(cx - x0) < 0.1 and abs(cy - y0) < 0.1, scale
    hm = predict_heatmaps(BlobStub(), images, flip_perm=JOINT_FLIP_PERM, scales=PAPER_EVAL_SCALES)
    xy = decode_heatmaps(hm, stride=4)[0, :, :2]  # (K, 2)
    # argmax + quarter shift: within a quarter cell (1 px) plus the blob's sampling error
    assert (xy - torch.tensor([x0, y0])).abs().max() <= 0.25 * 4 + 0.1


def test_to_original_hand_and_inverse() -> None:
    # original -> input: x_in = 2 x + 10, y_in = 2 y + 20; input (30, 40) -> original (10, 10)
    affine = torch.tensor([[[2.0, 0.0, 10.0], [0.0, 2.0, 20.0]]])
    coords = torch.tensor([[[30.0, 40.0], [float("nan"), float("nan")]]])
    out = to_original(coords, affine)
    assert out[0, 0].tolist() == pytest.approx([10.0, 10.0])
    assert torch.isnan(out[0, 1]).all()  # missing joints stay missing
    # random rotation + scale + translation: to_original inverts the forward map
    rng = np.random.default_rng(1)
    mats = []
    for _ in range(3):
        angle, scale = rng.uniform(-0.7, 0.7), rng.uniform(0.5, 1.5)
        rot = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        mats.append(np.concatenate([rot, rng.uniform(-50, 50, size=(2, 1))], axis=1))  # (2, 3)
    affine_np = np.stack(mats)  # (3, 2, 3)
    orig = rng.uniform(0, 200, size=(3, 16, 2))
    inp = np.einsum("nij,nkj->nki", affine_np[:, :, :2], orig) + affine_np[:, None, :, 2]  # (3, 16, 2)
    back = to_original(inp, affine_np)
    assert isinstance(back, np.ndarray)
    assert np.allclose(back, orig, atol=1e-9)
