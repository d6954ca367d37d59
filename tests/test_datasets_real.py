"""Loaders against the real sample files in ../shared/realdata (see its README)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from piltools.datasets import CorruptImageError, PoseDataset, load_lip, load_mpii, load_pascal
from piltools.datasets.imageio import read_label_map, read_rgb_image
from piltools.datasets.transforms import denormalize
from piltools.joints import (
    IGNORE_LABEL,
    JOINT_NAMES,
    J,
    NUM_JOINTS,
    NUM_LIP_PARSING,
    NUM_PASCAL_PARTS,
    P,
    SKELETON,
)

LIP_VAL_NAME = "86_185913.jpg"


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src, dst)


def _lip_root(realdata: Path, tmp_path: Path) -> Path:
    """A flat LIP root holding the val image that has image, parsing and pose."""
    root = tmp_path / "lip"
    stem = Path(LIP_VAL_NAME).stem
    _link(realdata / "lip" / "val_images" / LIP_VAL_NAME, root / "val_images" / LIP_VAL_NAME)
    _link(realdata / "lip" / "val_segmentations" / f"{stem}.png", root / "val_segmentations" / f"{stem}.png")
    lines = (realdata / "lip" / "lip_val_groundtruth.csv").read_text().splitlines()
    row = [line for line in lines if line.startswith(LIP_VAL_NAME + ",")]
    assert len(row) == 1
    (root / "lip_val_set.csv").write_text(row[0])
    return root


def _mpii_root(realdata: Path, tmp_path: Path) -> Path:
    root = tmp_path / "mpii"
    for image in (realdata / "mpii").glob("*.jpg"):
        _link(image, root / "images" / image.name)
    (root / "annot").mkdir(parents=True)
    shutil.copy(realdata / "mpii" / "test_mpii.json", root / "annot" / "valid.json")
    return root


def _draw(image: np.ndarray, joints: np.ndarray, labels: np.ndarray | None, num_labels: int) -> np.ndarray:
    """Image | label colours side by side, skeleton with left limbs blue, right limbs red."""
    canvas = image.copy()
    panels = [canvas]
    if labels is not None:
        hue = (labels.astype(np.int32) * 179 // max(num_labels, 1)).astype(np.uint8)
        hsv = np.stack([hue, np.full_like(hue, 255), np.where(labels == 0, 0, 255).astype(np.uint8)], -1)
        colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        colour[labels == IGNORE_LABEL] = 255
        panels.append(np.ascontiguousarray(colour))
    out = np.ascontiguousarray(np.concatenate(panels, axis=1))
    edges = SKELETON if joints.shape[0] == NUM_JOINTS else ()  # PASCAL: points only
    for a, b in edges:
        if joints[a, 2] > 0 and joints[b, 2] > 0:
            left = "l_" in f"{_name(a)}{_name(b)}"
            right = "r_" in f"{_name(a)}{_name(b)}"
            col = (0, 0, 255) if left else (255, 0, 0) if right else (0, 255, 0)
            pa = tuple(int(round(v)) for v in joints[a, :2])
            pb = tuple(int(round(v)) for v in joints[b, :2])
            cv2.line(out, pa, pb, col, 2)
    for k in np.flatnonzero(joints[:, 2] > 0):
        cv2.circle(out, tuple(int(round(v)) for v in joints[k, :2]), 3, (255, 255, 0), -1)
        cv2.putText(out, str(k), tuple(int(round(v)) + 3 for v in joints[k, :2]),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1)
    return out


def _name(k: int) -> str:
    return JOINT_NAMES[k]


@pytest.mark.realdata
def test_lip_val_grayscale_row_loads(realdata: Path, tmp_path: Path) -> None:
    root = _lip_root(realdata, tmp_path)
    records = load_lip(root, "val", verify=True)
    assert [r.name for r in records] == [LIP_VAL_NAME]
    rec = records[0]
    raw = cv2.imread(str(rec.image_path), cv2.IMREAD_UNCHANGED)
    assert raw.ndim == 2  # the file really is grayscale
    image = read_rgb_image(rec.image_path)
    parsing = read_label_map(rec.parsing_path)
    assert image.shape == (377, 130, 3) and image.dtype == np.uint8
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])
    assert parsing.shape == image.shape[:2]
    assert parsing.max() < NUM_LIP_PARSING and P["face"] in np.unique(parsing)
    # joint order: head top above neck above thorax above pelvis above the ankle (y grows downwards)
    j = rec.joints
    assert j[:, 2].sum() == NUM_JOINTS
    assert j[J["head_top"], 1] < j[J["neck"], 1] < j[J["thorax"], 1] < j[J["pelvis"], 1] < j[J["r_ankle"], 1]
    # the neck lies on the face / hair / hat region or right below it
    face_rows = np.flatnonzero(np.isin(parsing, [P["face"], P["hair"], P["hat"]]).any(axis=1))
    assert face_rows.min() <= j[J["neck"], 1] <= face_rows.max() + 10
    assert rec.occluded[J["l_knee"]] and not rec.occluded[J["r_knee"]]  # v column of the CSV row

    ds = PoseDataset(records, input_size=128, stride=4, preset="eval")
    sample = ds[0]
    assert sample["image"].shape == (3, 128, 128)
    assert bool(sample["has_parsing"])
    ids = set(np.unique(sample["parsing"].numpy()).tolist())
    assert ids <= set(range(NUM_LIP_PARSING)) | {IGNORE_LABEL} and P["face"] in ids
    assert sample["joint_mask"].sum() == NUM_JOINTS  # the whole person fits the eval crop

    out = tmp_path / "draw"
    out.mkdir()
    cv2.imwrite(str(out / "lip_original.png"), _draw(image, j, parsing, NUM_LIP_PARSING)[..., ::-1])
    crop = denormalize(sample["image"])
    cv2.imwrite(str(out / "lip_eval_crop.png"),
                _draw(crop, sample["joints"].numpy(), sample["parsing"].numpy(), NUM_LIP_PARSING)[..., ::-1])
    assert (out / "lip_original.png").stat().st_size > 1000


@pytest.mark.realdata
def test_mpii_json_loads_five_people_zero_based(realdata: Path, tmp_path: Path) -> None:
    root = _mpii_root(realdata, tmp_path)
    records = load_mpii(root, "valid")
    entries = json.loads((realdata / "mpii" / "test_mpii.json").read_text())
    assert len(records) == 5
    out = tmp_path / "draw"
    out.mkdir()
    for rec, entry in zip(records, entries):
        raw = np.asarray(entry["joints"], dtype=float)
        vis = np.asarray(entry["joints_vis"]) > 0
        assert np.array_equal(rec.joints[:, 2] > 0, vis)
        np.testing.assert_allclose(rec.joints[vis, :2], raw[vis] - 1.0)  # 1-based -> 0-based
        assert np.isnan(rec.joints[~vis, :2]).all()
        np.testing.assert_allclose(rec.center, np.asarray(entry["center"]) - 1.0)
        assert rec.scale == pytest.approx(entry["scale"])
        assert rec.joints[J["head_top"], 1] < rec.joints[J["thorax"], 1] < rec.joints[J["pelvis"], 1]
        image = read_rgb_image(rec.image_path)
        cv2.imwrite(str(out / f"mpii_{Path(rec.image_path).stem}.png"),
                    _draw(image, rec.joints, None, 0)[..., ::-1])
    # two people have two missing joints each ([-1, -1] in the JSON)
    assert sorted(int((r.joints[:, 2] == 0).sum()) for r in records) == [0, 0, 0, 2, 2]
    sample = PoseDataset(records, input_size=128, stride=4, preset="eval")[0]
    assert not bool(sample["has_parsing"]) and (sample["parsing"] == IGNORE_LABEL).all()


@pytest.mark.realdata
def test_pascal_part_maps_are_indices(realdata: Path, tmp_path: Path) -> None:
    src = realdata / "pascal_person_part"
    root = tmp_path / "pascal"
    names = sorted(p.stem for p in (src / "images").glob("*.jpg"))
    for name in names:
        _link(src / "images" / f"{name}.jpg", root / "images" / f"{name}.jpg")
        _link(src / "segmentations" / f"{name}.png", root / "segmentations" / f"{name}.png")
    (root / "val_id.txt").write_text("\n".join(names) + "\n")
    records = load_pascal(root, "val", require_pose=False, verify=True)
    assert len(records) == 4
    seen: set[int] = set()
    out = tmp_path / "draw"
    out.mkdir()
    for rec in records:
        labels = read_label_map(rec.parsing_path)
        ids = set(np.unique(labels).tolist())
        assert ids <= set(range(NUM_PASCAL_PARTS)), ids  # indices, not palette colours
        seen |= ids
        image = read_rgb_image(rec.image_path)
        assert labels.shape == image.shape[:2]
        cv2.imwrite(str(out / f"pascal_{rec.name}.png"),
                    _draw(image, rec.joints, labels, NUM_PASCAL_PARTS)[..., ::-1])
    assert seen == set(range(NUM_PASCAL_PARTS))  # all 7 ids occur across the 4 maps
    with pytest.raises(FileNotFoundError, match="pose annotation"):
        load_pascal(root, "val")  # pose files are required by default


@pytest.mark.realdata
def test_lip_verify_decodes_and_refuses_a_truncated_real_jpeg(realdata: Path, tmp_path: Path) -> None:
    root = _lip_root(realdata, tmp_path)
    image = root / "val_images" / LIP_VAL_NAME
    data = image.read_bytes()
    image.unlink()  # the symlink into the read-only real-data folder
    image.write_bytes(data[: len(data) // 2])
    # the header is intact, so the cheap load still accepts the row ...
    assert [r.name for r in load_lip(root, "val")] == [LIP_VAL_NAME]
    # ... and verify=True decodes every pixel and names the CSV row and the file
    expected = rf"lip_val_set\.csv row 1 \({LIP_VAL_NAME}\): cannot decode image .*{LIP_VAL_NAME}.*truncated"
    with pytest.raises(CorruptImageError, match=expected):
        load_lip(root, "val", verify=True)


@pytest.mark.realdata
def test_mpii_json_keeps_annotated_joints_at_negative_coordinates(realdata: Path, tmp_path: Path) -> None:
    root = _mpii_root(realdata, tmp_path)
    entries = json.loads((root / "annot" / "valid.json").read_text())
    first = entries[0]
    assert all(v == 1 for v in first["joints_vis"])  # 005808361.jpg: every joint annotated
    # move the right ankle just past the left image edge, as real MPII has at the borders
    first["joints"][J["r_ankle"]] = [-3.0, first["joints"][J["r_ankle"]][1]]
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    records = load_mpii(root, "valid")
    ankle = records[0].joints[J["r_ankle"]]
    assert ankle[2] == 1 and ankle[0] == -4.0  # kept, 1-based -3 -> 0-based -4
    # the real [-1, -1] / vis 0 rows stay the only missing joints
    assert sorted(int((r.joints[:, 2] == 0).sum()) for r in records) == [0, 0, 0, 2, 2]
