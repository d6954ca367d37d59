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
from piltools.datasets.mpii import read_mpii_mat
from piltools.datasets.pascal import MISSING_ROW, convert_original_pose_annotations, pascal_pose_json
from piltools.datasets.records import PersonAnnotation
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


def _truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_verify_decodes_a_jpeg_truncated_to_half(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", ["a.jpg"])
    noise = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)  # incompressible
    Image.fromarray(noise).save(root / "val_images" / "a.jpg", quality=95)
    _truncate_half(root / "val_images" / "a.jpg")
    assert len(load_lip(root, "val")) == 1  # the header alone is intact
    with pytest.raises(CorruptImageError, match=r"lip_val_set\.csv row 1 \(a\.jpg\): cannot decode image .*a\.jpg.*"
                                                r"truncated"):
        load_lip(root, "val", verify=True)
    # PASCAL's verify decodes the same way (here the part map is the broken file)
    root = _write_pascal(tmp_path / "pascal", _pascal_pose())
    assert len(load_pascal(root, "val", verify=True)) == 1
    big = Image.fromarray(noise[..., 0] % 7, mode="P")
    big.putpalette([0, 0, 0, 128, 0, 0] * 128)
    big.resize((50, 40)).save(root / "segmentations" / "p.png")
    _truncate_half(root / "segmentations" / "p.png")
    with pytest.raises(CorruptImageError, match=r"val_id\.txt line 1 \(p\): cannot decode label map .*p\.png"):
        load_pascal(root, "val", verify=True)


def test_mpii_json_missing_is_exactly_minus_one_with_vis_zero(tmp_path: Path) -> None:
    entry = _mpii_entry()
    entry["joints"][0] = [-3, 12]  # annotated just outside the left edge (1-based)
    entry["joints"][1] = [-1, -1]
    entry["joints_vis"][1] = 0
    joints = load_mpii(_write_mpii(tmp_path / "ok", [entry]), "valid")[0].joints
    assert joints[0].tolist() == [-4.0, 11.0, 1.0]  # kept, 1-based -> 0-based
    assert joints[1, 2] == 0 and np.isnan(joints[1, :2]).all()
    assert int((joints[:, 2] == 0).sum()) == 1
    bad = _mpii_entry()
    bad["joints"][2] = [5, 5]
    bad["joints_vis"][2] = 0
    root = _write_mpii(tmp_path / "vis0", [bad])
    with pytest.raises(MalformedAnnotationError, match=r"valid\.json entry 0: joint 2 has joints_vis 0 but is "
                                                       r"\[5, 5\]; a missing joint must be exactly \[-1\.0, -1\.0\]"):
        load_mpii(root, "valid")
    bad = _mpii_entry()
    bad["joints_vis"][3] = 2
    with pytest.raises(MalformedAnnotationError, match=r"entry 0: joints_vis is .*expected 16 values 0 \(missing\)"):
        load_mpii(_write_mpii(tmp_path / "vis2", [bad]), "valid")


def test_mpii_mat_that_is_not_the_single_person_release(tmp_path: Path) -> None:
    scipy_io = pytest.importorskip("scipy.io")
    multi = tmp_path / "annolist_test_multi.mat"
    scipy_io.savemat(multi, {"annolist_test_multi": {"image": {"name": "a.jpg"}}})
    with pytest.raises(MalformedAnnotationError,
                       match=r"annolist_test_multi\.mat holds the variables \['annolist_test_multi'\]; expected "
                             r"the single-person MPII release .*RELEASE with field annolist"):
        read_mpii_mat(multi)
    other = tmp_path / "release.mat"
    scipy_io.savemat(other, {"RELEASE": {"version": "12", "img_train": [1, 0]}})
    with pytest.raises(MalformedAnnotationError, match=r"release\.mat: RELEASE is .* with fields "
                                                       r"\['version', 'img_train'\]; expected"):
        read_mpii_mat(other)
    not_mat = tmp_path / "notes.mat"
    not_mat.write_text("hello")
    with pytest.raises(MalformedAnnotationError, match=r"cannot read MPII \.mat .*notes\.mat.*expected the single"):
        read_mpii_mat(not_mat)


def test_pascal_missing_joint_is_exactly_minus_one_row(tmp_path: Path) -> None:
    joints = np.full((NUM_PASCAL_JOINTS, 3), [10.0, 12.0, 1.0])
    joints[3] = [np.nan, np.nan, 0.0]
    joints[4] = [-2.5, 7.0, 1.0]  # annotated just outside the image: kept
    occluded = np.zeros(NUM_PASCAL_JOINTS, dtype=bool)
    occluded[5] = True
    person = PersonAnnotation(joints=joints, occluded=occluded, box=np.array([1.0, 2.0, 30.0, 35.0]))
    pose = pascal_pose_json(image="p.jpg", width=50, height=40, people=[person])
    rows = pose["people"][0]["joints"]
    assert rows[3] == [-1, -1, 0] and list(MISSING_ROW) == [-1, -1, 0]
    assert rows[4] == [-2.5, 7.0, 1] and rows[5] == [10.0, 12.0, 2]
    record = load_pascal(_write_pascal(tmp_path / "ok", pose), "val")[0]
    back = record.people[0]
    assert np.isnan(back.joints[3, :2]).all() and back.joints[3, 2] == 0
    np.testing.assert_array_equal(np.delete(back.joints, 3, axis=0), np.delete(joints, 3, axis=0))
    np.testing.assert_array_equal(back.occluded, occluded)
    pose["people"][0]["joints"][3] = [0, 0, 0]  # the other encoding some tools write
    with pytest.raises(MalformedAnnotationError, match=r"p\.json people\[0\]: joint 3 is \[0, 0, 0\]; a missing "
                                                       r"joint must be exactly \[-1, -1, 0\]"):
        load_pascal(_write_pascal(tmp_path / "zero", pose), "val")
