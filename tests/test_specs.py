"""Dataset specs: flip permutations agree with the names, skeletons are in range, evaluators give the numbers
of the metric functions they wrap, and an unknown kind names the known ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from piltools.config import DATASET_KINDS as CONFIG_KINDS
from piltools.datasets import DATASET_KINDS as PACKAGE_KINDS
from piltools.datasets.evaluators import LipPckhEvaluator, MpiiPckhEvaluator, MultiPersonApEvaluator
from piltools.datasets.specs import DATASET_KINDS, DATASETS, SIDE_COLOURS, get_spec, joint_side, spec_for_joints
from piltools.datasets.transforms import PRESETS
from piltools.errors import InputError
from piltools.lipcsv import LipRow, read_lip_csv, write_lip_csv
from piltools.metrics import box_reference_distance, lip_pckh, mpii_auc, mpii_pckh, multi_person_ap

SPECS = list(DATASETS.values())


def _mirror(name: str) -> str:
    """The name of the other side: l_x <-> r_x, left_x <-> right_x; others unchanged."""
    for a, b in (("l_", "r_"), ("r_", "l_"), ("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


def test_one_registry_of_kinds() -> None:
    assert DATASET_KINDS == ("lip", "mpii", "pascal") == tuple(DATASETS)
    assert CONFIG_KINDS is DATASET_KINDS and PACKAGE_KINDS is DATASET_KINDS
    assert all(spec.kind == kind for kind, spec in DATASETS.items())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_joint_flip_perm_is_the_name_mirror(spec) -> None:
    perm = spec.joint_flip_perm
    assert sorted(perm) == list(range(spec.num_joints))
    assert [perm[perm[k]] for k in range(spec.num_joints)] == list(range(spec.num_joints))  # involution
    # derived from the names: joint k becomes the joint with the mirrored name
    assert [spec.joint_names[perm[k]] for k in range(spec.num_joints)] == [_mirror(n) for n in spec.joint_names]
    assert sum(p != k for k, p in enumerate(perm)) == 12  # 6 left/right pairs in every dataset


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_parsing_flip_perm_is_the_name_mirror(spec) -> None:
    perm = spec.parsing_flip_perm
    assert len(perm) == spec.num_parsing == len(spec.parsing_palette)
    assert [perm[perm[k]] for k in range(len(perm))] == list(range(len(perm)))
    assert [spec.parsing_labels[perm[k]] for k in range(len(perm))] == [_mirror(n) for n in spec.parsing_labels]


def test_parsing_classes_per_kind() -> None:
    # LIP 20 ids with 3 left/right pairs; PASCAL 7 parts without sides; MPII keeps LIP's head (no labels)
    assert [get_spec(k).num_parsing for k in DATASET_KINDS] == [20, 20, 7]
    assert sum(p != k for k, p in enumerate(get_spec("lip").parsing_flip_perm)) == 6
    assert get_spec("pascal").parsing_flip_perm == tuple(range(7))
    assert [get_spec(k).has_parsing_labels for k in DATASET_KINDS] == [True, False, True]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.kind)
def test_skeleton_and_sides(spec) -> None:
    assert spec.skeleton and all(0 <= a < spec.num_joints and 0 <= b < spec.num_joints and a != b
                                 for a, b in spec.skeleton)
    assert len(set(spec.skeleton)) == len(spec.skeleton)
    assert set(spec.joint_sides) == {"left", "right", "centre"}
    # a flip swaps sides: joint k's side is the mirror of its image's side
    swap = {"left": "right", "right": "left", "centre": "centre"}
    assert [swap[spec.joint_sides[spec.joint_flip_perm[k]]] for k in range(spec.num_joints)] == list(spec.joint_sides)
    assert spec.joint_colours[spec.joint_names.index("l_wrist")] == SIDE_COLOURS["left"]
    assert SIDE_COLOURS["left"] != SIDE_COLOURS["right"] != SIDE_COLOURS["centre"]


def test_side_from_name() -> None:
    assert (joint_side("l_knee"), joint_side("r_knee"), joint_side("neck")) == ("left", "right", "centre")


def test_specs_name_existing_presets_and_the_defaults_of_today() -> None:
    assert all(spec.augment in PRESETS for spec in SPECS)
    assert [get_spec(k).default_root for k in DATASET_KINDS] == ["data/lip", "data/mpii", "data/pascal_person_part"]
    assert [get_spec(k).multi_person for k in DATASET_KINDS] == [False, False, True]
    assert [get_spec(k).crop_margin for k in DATASET_KINDS] == [1.25, 1.25, 1.0]
    assert [get_spec(k).synthetic_kind for k in DATASET_KINDS] == ["lip", "mpii", "pascal"]
    assert [get_spec(k).num_joints for k in DATASET_KINDS] == [16, 16, 14]


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(InputError) as info:
        get_spec("coco")
    assert str(info.value) == "unknown dataset kind 'coco'; known kinds: lip, mpii, pascal"
    with pytest.raises(InputError, match=r"did you mean 'pascal'\?"):
        get_spec("pascl")


def test_spec_for_joints() -> None:
    assert spec_for_joints(16).kind == "lip" and spec_for_joints(14).kind == "pascal"
    with pytest.raises(InputError, match="no dataset has 17 joints"):
        spec_for_joints(17)


def test_loaders_refuse_a_mat_file_they_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only MPII"):
        get_spec("lip").loader(tmp_path, "val", mat_path=tmp_path / "x.mat")


# ---------------------------------------------------------------------------------------------- evaluators

def _gt_joints(rng: np.random.Generator) -> np.ndarray:
    joints = np.column_stack([rng.uniform(20, 80, 16), rng.uniform(20, 80, 16), np.ones(16)])
    joints[9] = (50.0, 10.0, 1.0)  # head top
    joints[8] = (50.0, 20.0, 1.0)  # neck: head size 10 px, PCKh@0.5 radius 5 px
    return joints


def test_lip_evaluator_matches_lip_pckh(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "lip"
    (root / "val_images").mkdir(parents=True)
    gt = {f"im{i}.jpg": _gt_joints(rng) for i in range(3)}
    write_lip_csv(root / "lip_val_set.csv", [LipRow(name=n, joints=j, occluded=np.zeros(16, bool))
                                            for n, j in gt.items()])
    names = list(gt)
    pred = np.stack([gt[n] for n in names])
    pred[0, :, 0] += 2.0   # image 0: 2 px off, within 5 px: all 16 correct
    pred[1, :, 0] += 20.0  # image 1: 20 px off: all wrong
    pred[2, :8, 0] += 20.0  # image 2: joints 0-7 wrong, 8-15 right
    # the LIP PCK scores 14 joints (not pelvis 6, thorax 7): 14 + 0 + 8 correct of 42
    evaluator = LipPckhEvaluator(root=root, split="val")
    evaluator.process(names[:2], pred[:2], pred[:2], np.full((2, 4), np.nan))  # batches add up
    evaluator.process(names[2:], pred[2:], pred[2:], np.full((1, 4), np.nan))
    result = evaluator.evaluate()
    expected = lip_pckh({n: p[:, :2] for n, p in zip(names, pred)}, gt)
    assert result["lip_pckh"] == expected and result["pck"] == expected["PCK"]
    assert result["pck"] == pytest.approx(100 * 22 / 42)
    assert "predictions_csv" not in result
    # with an output folder it writes the LIP CSV and scores what it wrote
    evaluator = LipPckhEvaluator(root=root, split="val", out_dir=tmp_path)
    evaluator.process(names, pred, pred, np.full((3, 4), np.nan))
    written = evaluator.evaluate()
    assert written["predictions_csv"] == "predictions_val.csv"
    back = read_lip_csv(tmp_path / "predictions_val.csv")
    assert list(back) == names and written["pck"] == pytest.approx(100 * 22 / 42)
    evaluator.reset()
    with pytest.raises(InputError, match="no predictions"):
        evaluator.evaluate()
    evaluator.process(["other.jpg"], pred[:1], pred[:1], np.full((1, 4), np.nan))
    with pytest.raises(InputError, match="no ground truth for predicted images"):
        evaluator.evaluate()


def test_mpii_evaluator_matches_mpii_pckh(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    gt = np.stack([_gt_joints(rng) for _ in range(4)])
    pred = gt.copy()
    pred[:2, :, 1] += 30.0
    boxes = np.tile([40.0, 5.0, 60.0, 25.0], (4, 1))
    evaluator = get_spec("mpii").evaluator(root=tmp_path, split="val", out_dir=tmp_path)
    assert isinstance(evaluator, MpiiPckhEvaluator)
    evaluator.process(["a", "b", "c", "d"], pred, gt, boxes)
    result = evaluator.evaluate()
    expected = mpii_pckh(pred[..., :2], gt, boxes)
    assert result["mpii_pckh"] == expected and result["pck"] == expected["Total"]
    assert result["pck"] == pytest.approx(50.0)  # two of four people entirely 30 px off, head size 17 px
    # the exact two are right at every threshold (distance 0) and the others at none up to 0.5: a flat curve at 50
    assert result["auc"] == mpii_auc(pred[..., :2], gt, boxes) == pytest.approx(50.0)
    assert not list(tmp_path.iterdir())  # writes nothing
    evaluator.reset()
    evaluator.process(["a"], pred[:1], gt[:1], np.full((1, 4), np.nan))
    with pytest.raises(InputError, match="no head boxes"):
        evaluator.evaluate()


def test_multi_person_evaluator_matches_multi_person_ap(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    gts = [np.stack([_gt_joints(rng)[:14] for _ in range(n)]) for n in (2, 1)]
    boxes = [np.array([[0.0, 0.0, 100.0, 100.0]] * len(g)) for g in gts]
    preds = [np.concatenate([g[:1, :, :2], np.full((1, 14, 1), 0.9)], axis=2) for g in gts]  # 1 person each
    evaluator = get_spec("pascal").evaluator(root=tmp_path, split="val")
    assert isinstance(evaluator, MultiPersonApEvaluator)
    evaluator.process(preds[:1], gts[:1], boxes[:1])
    evaluator.process(preds[1:], gts[1:], boxes[1:])
    result = evaluator.evaluate()
    expected = multi_person_ap(preds, gts, [box_reference_distance(b) for b in boxes])
    assert result["mAP"] == expected["mAP"] == result["pck"] and result["AP"] == expected["AP"]
    assert result["n_images"] == 2 and result["n_predicted_people"] == 2
    with pytest.raises(InputError, match="one of each per image"):
        evaluator.process(preds, gts[:1], boxes)
