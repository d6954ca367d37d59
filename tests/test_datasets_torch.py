"""torch datasets, DataLoader workers, build_dataset, MPII .mat head boxes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image
from torch.utils.data import DataLoader

from piltools.datasets import MultiPersonDataset, PoseDataset, build_dataset, load_lip, load_mpii, read_mpii_mat
from piltools.datasets.pascal import pascal_pose_json
from piltools.datasets.records import PersonAnnotation, person_center_scale
from piltools.joints import IGNORE_LABEL, J, NUM_JOINTS, NUM_PASCAL_JOINTS, P, PJ
from piltools.lipcsv import LipRow, write_lip_csv


def _write_lip(root: Path, n: int, *, size: int = 48) -> Path:
    """n LIP val samples: a box person with a left arm (on the image right) at joint 15."""
    (root / "val_images").mkdir(parents=True)
    (root / "val_segmentations").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        name = f"s{i}.jpg"
        image = rng.integers(0, 256, size=(size, size - 8, 3)).astype(np.uint8)
        labels = np.zeros((size, size - 8), np.uint8)
        labels[10:40, 12:28] = P["upper_clothes"]
        labels[20:30, 28:34] = P["left_arm"]
        Image.fromarray(image).save(root / "val_images" / name, quality=95)
        Image.fromarray(labels, mode="L").save(root / "val_segmentations" / f"s{i}.png")
        joints = np.column_stack([rng.uniform(12, 28, NUM_JOINTS), rng.uniform(10, 40, NUM_JOINTS),
                                  np.ones(NUM_JOINTS)])
        joints[J["l_wrist"]] = (31.0, 25.0, 1.0)
        joints[J["r_ankle"]] = (np.nan, np.nan, 0.0)
        rows.append(LipRow(name=name, joints=joints, occluded=np.zeros(NUM_JOINTS, bool)))
    write_lip_csv(root / "lip_val_set.csv", rows)
    return root


def test_pose_dataset_sample_contract(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", 3)
    ds = PoseDataset(load_lip(root, "val"), input_size=64, stride=4, preset="lip", background=True, seed=5)
    s = ds[1]
    assert s["image"].shape == (3, 64, 64) and s["image"].dtype == torch.float32
    assert -0.5 <= s["image"].min() and s["image"].max() <= 0.5
    assert s["heatmaps"].shape == (NUM_JOINTS + 1, 16, 16)
    assert s["joint_mask"].shape == (NUM_JOINTS,) and s["joint_mask"][J["r_ankle"]] == 0
    assert s["joints"].shape == (NUM_JOINTS, 3) and s["parsing"].dtype == torch.int64
    assert bool(s["has_parsing"]) and s["meta"]["name"] == "s1.jpg" and s["meta"]["index"] == 1
    assert s["meta"]["affine"].shape == (2, 3) and torch.isnan(s["meta"]["head_box"]).all()
    # meta lets predictions go back: affine applied to the original joints gives the sample joints
    affine = s["meta"]["affine"].double().numpy()
    orig = s["meta"]["orig_joints"].double().numpy()
    perm = ds.flip_perm if bool(s["meta"]["flip"]) else list(range(NUM_JOINTS))
    mapped = orig[perm, :2] @ affine[:, :2].T + affine[:, 2]
    ok = s["joints"][:, 2].numpy() > 0
    np.testing.assert_allclose(s["joints"][ok, :2].numpy(), mapped[ok], atol=1e-3)
    # the same (seed, epoch, index) gives the same sample; another epoch a different one
    assert torch.equal(ds[1]["image"], s["image"])
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["image"], s["image"])


def test_dataloader_two_workers_matches_direct_access(tmp_path: Path) -> None:
    root = _write_lip(tmp_path / "lip", 6)
    ds = PoseDataset(load_lip(root, "val"), input_size=32, stride=4, preset="lip", seed=3)
    ds.set_epoch(2)
    loader = DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    batches = list(loader)
    assert len(batches) == 3
    batch = batches[1]
    assert batch["image"].shape == (2, 3, 32, 32) and batch["heatmaps"].shape == (2, NUM_JOINTS, 8, 8)
    assert batch["meta"]["name"] == ["s2.jpg", "s3.jpg"] and batch["meta"]["affine"].shape == (2, 2, 3)
    for j, index in enumerate((2, 3)):
        direct = ds[index]
        assert torch.equal(batch["image"][j], direct["image"])
        assert torch.equal(batch["parsing"][j], direct["parsing"])


def test_center_scale_from_joints_and_mask() -> None:
    joints = np.full((NUM_JOINTS, 3), np.nan)
    joints[:, 2] = 0
    joints[0] = (10, 20, 1)
    joints[1] = (30, 60, 1)
    labels = np.zeros((100, 80), np.uint8)
    labels[50:81, 5:16] = P["pants"]
    labels[0:5, 0:80] = IGNORE_LABEL
    center, scale = person_center_scale(joints=joints, parsing=labels, image_hw=(100, 80))
    # union box: x 5..30, y 20..80 -> centre (17.5, 50), side max(26, 61) = 61 px
    np.testing.assert_allclose(center, [17.5, 50.0])
    assert scale == pytest.approx(61 / 200)
    center, scale = person_center_scale(joints=joints[:, :] * [1, 1, 0], parsing=None, image_hw=(100, 80))
    np.testing.assert_allclose(center, [39.5, 49.5])  # nothing annotated: the whole image
    assert scale == pytest.approx(100 / 200)


def _write_pascal(root: Path) -> Path:
    for sub in ("images", "segmentations", "pose"):
        (root / sub).mkdir(parents=True)
    image = np.full((60, 80, 3), 100, np.uint8)
    labels = np.zeros((60, 80), np.uint8)
    labels[10:50, 10:30] = 2
    labels[10:50, 50:70] = 2
    people = []
    for x0 in (10, 50):
        joints = np.full((NUM_PASCAL_JOINTS, 3), np.nan)
        joints[:, 2] = 0
        joints[PJ["head_top"]] = (x0 + 10, 10, 1)
        joints[PJ["neck"]] = (x0 + 10, 18, 1)
        joints[PJ["l_wrist"]] = (x0 + 18, 30, 1)
        occluded = np.zeros(NUM_PASCAL_JOINTS, bool)
        occluded[PJ["l_wrist"]] = True
        people.append(PersonAnnotation(joints=joints, occluded=occluded, box=np.array([x0, 10, x0 + 19, 49.0])))
    Image.fromarray(image).save(root / "images" / "p.jpg")
    seg = Image.fromarray(labels, mode="P")
    seg.putpalette(list(np.random.default_rng(0).integers(0, 256, 768)))
    seg.save(root / "segmentations" / "p.png")
    (root / "pose" / "p.json").write_text(json.dumps(pascal_pose_json(image="p.jpg", width=80, height=60,
                                                                      people=people)))
    (root / "train_id.txt").write_text("p\n")
    return root


def test_multi_person_dataset(tmp_path: Path) -> None:
    root = _write_pascal(tmp_path / "pascal")
    ds = build_dataset("pascal", root, "train", train=False, input_size=64, stride=4)
    assert isinstance(ds, MultiPersonDataset)
    s = ds[0]
    assert s["num_people"] == 2 and s["people_joints"].shape == (16, NUM_PASCAL_JOINTS, 3)
    assert s["heatmaps"].shape == (NUM_PASCAL_JOINTS, 16, 16) and s["joint_mask"].sum() == NUM_PASCAL_JOINTS
    assert s["offsets"].shape == (2 * NUM_PASCAL_JOINTS, 16, 16)
    assert s["people_occluded"][1, PJ["l_wrist"]] and not s["people_occluded"][1, PJ["neck"]]
    assert set(np.unique(s["parsing"].numpy()).tolist()) <= {0, 2, IGNORE_LABEL}
    # both heads appear as heatmap peaks; offsets near each head point to its own person's centroid
    head = s["heatmaps"][PJ["head_top"]]
    assert (head > 0.9).sum() >= 2
    mask = s["offset_mask"][PJ["head_top"]] > 0
    dx = s["offsets"][2 * PJ["head_top"]][mask] * s["offset_norm"]
    assert mask.any() and (dx.abs() < 16).all()  # each person is 20 px wide: the centroid is near
    loader = DataLoader(ds, batch_size=1, num_workers=0)
    assert next(iter(loader))["people_joints"].shape == (1, 16, NUM_PASCAL_JOINTS, 3)
    single = build_dataset("pascal", root, "train", train=True, input_size=64, stride=8, multi_person=False)
    assert isinstance(single, PoseDataset) and len(single) == 2
    assert single[1]["joints"].shape == (NUM_PASCAL_JOINTS, 3)


def _struct_array(rows: list[dict], fields: list[str]) -> np.ndarray:
    arr = np.zeros((len(rows),), dtype=[(f, "O") for f in fields])
    for i, row in enumerate(rows):
        for f in fields:
            arr[i][f] = row.get(f, np.zeros((0, 0)))
    return arr


def test_mpii_mat_head_boxes_with_quirks(tmp_path: Path) -> None:
    root = tmp_path / "mpii"
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    Image.fromarray(np.zeros((50, 60, 3), np.uint8)).save(root / "images" / "x.jpg")
    joints1 = [[10.0 + k, 20.0 + k] for k in range(NUM_JOINTS)]  # 1-based
    entry = {"image": "x.jpg", "center": [30, 25], "scale": 0.3, "joints": joints1,
             "joints_vis": [1] * NUM_JOINTS}
    entry["joints"][4] = [-1, -1]
    entry["joints_vis"][4] = 0
    (root / "annot" / "valid.json").write_text(json.dumps([entry]))
    # .mat: points in reverse order, point id 4 absent, is_visible int / '0' string / empty
    visible_forms = [1, "0", np.zeros((0, 0)), "1"]
    points = [dict(x=joints1[k][0], y=joints1[k][1], id=k, is_visible=visible_forms[k % 4])
              for k in reversed(range(NUM_JOINTS)) if k != 4]
    pts = _struct_array(points, ["x", "y", "id", "is_visible"])
    far = _struct_array([dict(x=500.0, y=500.0, id=0, is_visible=1)], ["x", "y", "id", "is_visible"])
    rects = _struct_array([
        dict(x1=100.0, y1=100.0, x2=120.0, y2=125.0, annopoints={"point": far}),  # another person
        dict(x1=11.0, y1=6.0, x2=31.0, y2=29.0, annopoints={"point": pts}),
    ], ["x1", "y1", "x2", "y2", "annopoints"])
    annolist = _struct_array([dict(image={"name": "other.jpg"}), dict(image={"name": "x.jpg"}, annorect=rects)],
                             ["image", "annorect"])
    mat = tmp_path / "anno.mat"
    scipy.io.savemat(mat, {"RELEASE": {"annolist": annolist}})
    people = read_mpii_mat(mat)
    assert [(p.image, p.rect_index) for p in people] == [("x.jpg", 0), ("x.jpg", 1)]
    person = people[1]
    assert person.joints[4, 2] == 0 and person.joints[:, 2].sum() == NUM_JOINTS - 1
    np.testing.assert_allclose(person.joints[7, :2], [16.0, 26.0])  # 1-based (17, 27) -> 0-based
    assert person.visible[0] and not person.visible[1] and not person.visible[2] and person.visible[3]
    records = load_mpii(root, "valid", mat_path=mat, require_head_boxes=True)
    np.testing.assert_allclose(records[0].head_box, [10.0, 5.0, 30.0, 28.0])


def test_build_dataset_takes_everything_from_the_spec(tmp_path: Path) -> None:
    from piltools.datasets.specs import get_spec
    from piltools.errors import InputError

    root = _write_pascal(tmp_path / "pascal")
    spec = get_spec("pascal")
    ds = build_dataset("pascal", root, "train", train=True, input_size=64, stride=4, offset_radius=3.0)
    assert ds.preset_name == spec.augment and ds.num_parsing == spec.num_parsing == 7
    assert ds.flip_perm == list(spec.joint_flip_perm) and ds.box_margin == spec.crop_margin == 1.0
    assert ds.offset_radius == 3.0
    # a 3 px radius supervises fewer offset cells than the default 14 px
    narrow = build_dataset("pascal", root, "train", train=False, input_size=64, stride=4, offset_radius=3.0)
    wide = build_dataset("pascal", root, "train", train=False, input_size=64, stride=4)
    assert 0 < narrow[0]["offset_mask"].sum() < wide[0]["offset_mask"].sum()
    single = build_dataset("pascal", root, "train", train=False, input_size=64, stride=4, multi_person=False)
    assert single.box_margin == 1.25 and single.preset_name == "eval"
    with pytest.raises(InputError, match="unknown dataset kind 'coco'; known kinds: lip, mpii, pascal"):
        build_dataset("coco", root, "train", train=True)
    with pytest.raises(InputError, match="only MPII reads head boxes"):
        build_dataset("pascal", root, "train", train=True, mat_path=tmp_path / "a.mat")


def test_default_flip_perms_come_from_the_spec_with_that_joint_count(tmp_path: Path) -> None:
    from piltools.datasets.specs import get_spec
    from piltools.errors import InputError

    records = load_lip(_write_lip(tmp_path / "lip", 2), "val")
    ds = PoseDataset(records, input_size=32, stride=4)
    assert ds.flip_perm == list(get_spec("lip").joint_flip_perm)
    assert ds.parsing_flip_perm == list(get_spec("lip").parsing_flip_perm)
    with pytest.raises(InputError, match="no default parsing flip permutation for 7 classes with 16 joints"):
        PoseDataset(records, input_size=32, stride=4, num_parsing=7)
    explicit = PoseDataset(records, input_size=32, stride=4, num_parsing=7, parsing_flip_perm=list(range(7)))
    assert explicit.parsing_flip_perm == list(range(7))
