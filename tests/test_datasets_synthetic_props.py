"""After any augmentation, each visible joint still lies on a parsing pixel of its own body part.

Relies on the synthetic generator's guarantee (piltools.synthetic.render):
a joint written as visible lies on a pixel whose parsing id
``joint_part_ids(kind)[joint]`` allows (e.g. a left wrist on Left-arm or Glove).
An affine resampling keeps it up to a 1-pixel neighbourhood. A flip renames the
joint (left wrist -> right wrist) and swaps the parsing ids (Left-arm -> Right-arm)
together, so the check uses the output joint index with the output map.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

synthetic = pytest.importorskip("piltools.synthetic")

from piltools.datasets import MultiPersonDataset, PoseDataset, load_lip, load_pascal  # noqa: E402
from piltools.joints import NUM_PASCAL_PARTS  # noqa: E402


def _on_allowed_part(parsing: np.ndarray, x: float, y: float, allowed: set[int]) -> bool:
    col, row = int(round(x)), int(round(y))
    window = parsing[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]  # 3x3 neighbourhood
    return bool(np.isin(window, list(allowed)).any())


def test_lip_joints_stay_on_their_parts(tmp_path: Path) -> None:
    root = synthetic.generate("lip", tmp_path / "lip", 10, 7, 128, split="val")
    allowed = synthetic.joint_part_ids("lip")
    ds = PoseDataset(load_lip(root, "val"), input_size=128, stride=4, preset="lip", seed=11)
    checked = flips = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        for index in range(len(ds)):
            s = ds[index]
            parsing = s["parsing"].numpy()
            flips += int(bool(s["meta"]["flip"]))
            for k in np.flatnonzero((s["joints"][:, 2].numpy() > 0) & ~s["occluded"].numpy()):
                x, y = s["joints"][k, :2].tolist()
                assert _on_allowed_part(parsing, x, y, allowed[int(k)]), (epoch, index, int(k), x, y)
                checked += 1
    assert checked > 100 and flips > 0  # the property was exercised, flips included


def test_pascal_joints_stay_on_their_parts(tmp_path: Path) -> None:
    root = synthetic.generate("pascal", tmp_path / "pascal", 6, 3, 128, split="val")
    allowed = synthetic.joint_part_ids("pascal")
    ds = MultiPersonDataset(load_pascal(root, "val"), input_size=128, stride=4, preset="pascal",
                            num_parsing=NUM_PASCAL_PARTS, seed=2)
    checked = 0
    for epoch in range(2):
        ds.set_epoch(epoch)
        for index in range(len(ds)):
            s = ds[index]
            parsing = s["parsing"].numpy()
            for p in range(int(s["num_people"])):
                joints = s["people_joints"][p].numpy()
                occluded = s["people_occluded"][p].numpy()
                for k in np.flatnonzero((joints[:, 2] > 0) & ~occluded):
                    assert _on_allowed_part(parsing, joints[k, 0], joints[k, 1], allowed[int(k)]), \
                        (epoch, index, p, int(k))
                    checked += 1
    assert checked > 50
