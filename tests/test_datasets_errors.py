"""Every loader raises a clear DatasetError for each kind of bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piltools.datasets import (
    CorruptImageError,
    DatasetError,
    DatasetNotFoundError,
    MalformedAnnotationError,
    PoseDataset,
    SizeMismatchError,
    load_lip,
    load_mpii,
    load_pascal,
)
from piltools.datasets.imageio import read_label_map
from piltools.datasets.pascal import convert_original_pose_annotations
from piltools.joints import NUM_JOINTS, NUM_PASCAL_JOINTS


def _lip_row(name: str) -> str:
    fields = [name]
    for k in range(NUM_JOINTS):
        fields += [str(5 + k), str(10 + k), "0"]
    return ",".join(fields)


def _write_lip(root: Path, names: list[str], *, size: tuple[int, int] = (40, 30)) -> Path:
    """A flat LIP val split; ``size`` is (H, W)."""
    (root / "val_images").mkdir(parents=True)
    (root / "val_segmentations").mkdir()
    for name in names:
        Image.fromarray(np.full(size + (3,), 90, np.uint8)).save(root / "val_images" / name)
        Image.fromarray(np.ones(size, np.uint8), mode="L").save(root / "val_segmentations" / (Path(name).stem + ".png"))
    (root / "lip_val_set.csv").write_text("\n".join(_lip_row(n) for n in names) + "\n")
    return root


def test_missing_roots_name_layout_and_source(tmp_path: Path) -> None:
    cases = [(load_lip, "val", "sysu-hcp.net/lip"), (load_mpii, "valid", "human-pose.mpi-inf.mpg.de"),
             (load_pascal, "val", "pascal-parts")]
    for loader, split, url in cases:
        with pytest.raises(DatasetNotFoundError) as info:
            loader(tmp_path / "nowhere", split)
        message = str(info.value)
        assert "nowhere" in message and url in message and "expected under" in message
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_lip_row_with_missing_image(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg", "b.jpg"])
    (root / "val_images" / "b.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"lip_val_set\.csv row 2 \(b\.jpg\).*b\.jpg not found"):
        load_lip(root, "val")


def test_lip_malformed_row_names_line(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg", "b.jpg"])
    lines = (root / "lip_val_set.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 3)[0]  # drop the last joint's fields
    (root / "lip_val_set.csv").write_text("\n".join(lines))
    with pytest.raises(MalformedAnnotationError, match=r"lip_val_set\.csv:2.*expected 49"):
        load_lip(root, "val")
    lines[1] = _lip_row("b.jpg").replace(",7,", ",seven,", 1)
    (root / "lip_val_set.csv").write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r":2.*'seven'.*expected a number"):
        load_lip(root, "val")


def test_lip_parsing_size_mismatch(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg"])
    Image.fromarray(np.ones((41, 30), np.uint8), mode="L").save(root / "val_segmentations" / "a.png")
    records = load_lip(root, "val")  # cheap load: not checked yet
    with pytest.raises(SizeMismatchError, match=r"a\.png.*\(41, 30\).*a\.jpg.*\(40, 30\)"):
        PoseDataset(records, input_size=32, stride=4)[0]
    with pytest.raises(SizeMismatchError, match=r"a\.png"):
        load_lip(root, "val", verify=True)


def test_lip_missing_parsing_png(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg"])
    (root / "val_segmentations" / "a.png").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"row 1.*a\.png not found"):
        load_lip(root, "val")
    assert load_lip(root, "val", require_parsing=False)[0].parsing_path is None


def test_corrupt_image_named(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg"])
    (root / "val_images" / "a.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    records = load_lip(root, "val")
    with pytest.raises(CorruptImageError, match=r"cannot decode image .*a\.jpg"):
        PoseDataset(records, input_size=32, stride=4)[0]
    with pytest.raises(CorruptImageError, match=r"a\.jpg"):
        load_lip(root, "val", verify=True)


def test_colour_label_png_and_out_of_range_ids(tmp_path: Path) -> None:
    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb)
    with pytest.raises(CorruptImageError, match=r"rgb\.png.*mode 'RGB'"):
        read_label_map(rgb)
    root = _write_lip(tmp_path / "lip", ["a.jpg"])
    Image.fromarray(np.full((40, 30), 42, np.uint8), mode="L").save(root / "val_segmentations" / "a.png")
    with pytest.raises(CorruptImageError, match=r"a\.png holds ids \[42\]"):
        PoseDataset(load_lip(root, "val"), input_size=32, stride=4)[0]


def _write_mpii(root: Path, entries: list[dict]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    Image.fromarray(np.zeros((50, 60, 3), np.uint8)).save(root / "images" / "x.jpg")
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    return root


def _mpii_entry(image: str = "x.jpg") -> dict:
    return {"image": image, "center": [30, 25], "scale": 0.3,
            "joints": [[10 + k, 20] for k in range(NUM_JOINTS)], "joints_vis": [1] * NUM_JOINTS}


def test_mpii_errors(tmp_path: Path) -> None:
    bad = _mpii_entry()
    bad["joints"] = bad["joints"][:15]
    root = _write_mpii(tmp_path / "m1", [_mpii_entry(), bad])
    with pytest.raises(MalformedAnnotationError, match=r"valid\.json entry 1.*\(15, 2\).*expected \(16, 2\)"):
        load_mpii(root, "valid")
    root = _write_mpii(tmp_path / "m2", [_mpii_entry(), _mpii_entry("gone.jpg")])
    with pytest.raises(DatasetNotFoundError, match=r"entry 1: image .*gone\.jpg not found"):
        load_mpii(root, "val")
    no_scale = _mpii_entry()
    del no_scale["scale"]
    root = _write_mpii(tmp_path / "m3", [no_scale])
    with pytest.raises(MalformedAnnotationError, match=r"entry 0: missing keys \['scale'\]"):
        load_mpii(root, "valid")
    root = _write_mpii(tmp_path / "m4", [_mpii_entry()])
    with pytest.raises(MalformedAnnotationError, match=r"entry 0: no head box"):
        load_mpii(root, "valid", require_head_boxes=True)


def _write_pascal(root: Path, pose: dict | None, *, seg_size: tuple[int, int] = (40, 50)) -> Path:
    for sub in ("images", "segmentations", "pose"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(root / "images" / "p.jpg")
    seg = Image.fromarray(np.zeros(seg_size, np.uint8), mode="P")
    seg.putpalette([0, 0, 0, 128, 0, 0] * 128)
    seg.save(root / "segmentations" / "p.png")
    if pose is not None:
        (root / "pose" / "p.json").write_text(json.dumps(pose))
    (root / "val_id.txt").write_text("p\n")
    return root


def _pascal_pose(joint_rows: int = NUM_PASCAL_JOINTS) -> dict:
    return {"image": "p.jpg", "width": 50, "height": 40,
            "people": [{"box": [5, 5, 30, 35], "joints": [[10, 10, 1]] * joint_rows}]}


def test_pascal_errors(tmp_path: Path) -> None:
    root = _write_pascal(tmp_path / "a", _pascal_pose(13))
    with pytest.raises(MalformedAnnotationError, match=r"p\.json people\[0\].*\(13, 3\).*expected \(14, 3\)"):
        load_pascal(root, "val")
    root = _write_pascal(tmp_path / "b", _pascal_pose(), seg_size=(41, 50))
    assert len(load_pascal(root, "val")) == 1
    with pytest.raises(SizeMismatchError, match=r"part map .*p\.png"):
        load_pascal(root, "val", verify=True)
    root = _write_pascal(tmp_path / "c", _pascal_pose())
    (root / "images" / "p.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"val_id\.txt line 1 \(p\): image .*p\.jpg not found"):
        load_pascal(root, "val")
    pose = _pascal_pose()
    pose["people"][0]["joints"][0] = [1, 2, 5]
    root = _write_pascal(tmp_path / "d", pose)
    with pytest.raises(MalformedAnnotationError, match=r"expected 0 \(missing\), 1 \(visible\) or 2"):
        load_pascal(root, "val")


def test_pascal_converter_hook_explains_itself(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match=r"pose/NAME\.json"):
        convert_original_pose_annotations(tmp_path, tmp_path)
