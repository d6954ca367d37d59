"""Synthetic datasets: determinism, real on-disk formats, joint/parsing consistency, statistics."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piltools.__main__ import main as cli_main
from piltools.datasets.pascal import parse_pascal_pose, pascal_pose_json
from piltools.joints import J, NUM_JOINTS, NUM_PASCAL_JOINTS, P, PASCAL_JOINT_FROM_MPII
from piltools.lipcsv import read_lip_csv
from piltools.synthetic import (
    GENERATOR_VERSION,
    KINDS,
    SynthConfig,
    difficulty_config,
    ensure_synthetic,
    generate,
    joint_part_ids,
    read_manifest,
    render_sample,
)
from piltools.synthetic.writers import SPLIT_WRITERS

SIZE = 96


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def lip_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lip")
    generate("lip", root, 40, seed=3, size=SIZE, split="train")
    generate("lip", root, 5, seed=3, size=SIZE, split="val")
    return root


@pytest.fixture(scope="module")
def pascal_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pascal")
    generate("pascal", root, 30, seed=3, size=SIZE, split="val")
    return root


@pytest.mark.parametrize("kind", ["lip", "mpii", "pascal"])
def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path, kind: str) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(kind, a, 4, seed=11, size=64, split="train")
    generate(kind, b, 4, seed=11, size=64, split="train")
    generate(kind, c, 4, seed=12, size=64, split="train")
    files_a, files_c = _files(a), _files(c)
    assert files_a == _files(b)
    assert len(files_a) >= 5
    jpgs = [k for k in files_a if k.endswith(".jpg")]
    assert jpgs and all(files_a[k] != files_c[k] for k in jpgs)


def test_sample_depends_only_on_its_index_and_split() -> None:
    first = render_sample("lip", 5, "train", 7, 64)
    again = render_sample("lip", 5, "train", 7, 64)
    other_split = render_sample("lip", 5, "val", 7, 64)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.lip_parsing, again.lip_parsing)
    assert first.image.shape != other_split.image.shape or not np.array_equal(first.image, other_split.image)


def test_lip_layout_csv_and_parsing_pngs(lip_root: Path) -> None:
    for split, n in (("train", 40), ("val", 5)):
        rows = read_lip_csv(lip_root / f"lip_{split}_set.csv")
        assert len(rows) == n
        for name, row in rows.items():
            assert row.joints.shape == (NUM_JOINTS, 3)
            image = Image.open(lip_root / f"{split}_images" / name)
            seg = Image.open(lip_root / f"{split}_segmentations" / name.replace(".jpg", ".png"))
            assert seg.mode == "L" and seg.size == image.size and max(image.size) == SIZE
            ids = np.unique(np.asarray(seg))
            assert ids.min() >= 0 and ids.max() <= 19
    # the main garments and body parts appear across a modest sample
    seen = set()
    for png in (lip_root / "train_segmentations").glob("*.png"):
        seen |= set(np.unique(np.asarray(Image.open(png))).tolist())
    for part in ("hair", "face", "upper_clothes", "left_arm", "right_arm", "left_leg", "right_leg",
                 "left_shoe", "right_shoe"):
        assert P[part] in seen, part
    assert P["pants"] in seen or P["skirt"] in seen


def test_mpii_layout(tmp_path: Path) -> None:
    generate("mpii", tmp_path, 6, seed=1, size=SIZE, split="val")
    entries = json.loads((tmp_path / "annot" / "valid.json").read_text())
    assert len(entries) == 6
    for entry in entries:
        assert set(entry) == {"image", "center", "scale", "joints", "joints_vis", "head_box"}
        assert (tmp_path / "images" / entry["image"]).is_file()
        joints = np.asarray(entry["joints"])
        vis = np.asarray(entry["joints_vis"])
        assert joints.shape == (NUM_JOINTS, 2) and set(vis.tolist()) <= {0, 1}
        assert (joints[vis == 0] == -1).all()
        assert (joints[vis == 1] >= 1.0).all() and (joints[vis == 1] <= SIZE).all()  # 1-based
        x1, y1, x2, y2 = entry["head_box"]
        assert x2 > x1 and y2 > y1 and entry["scale"] > 0
    assert not (tmp_path / "segmentations").exists()


def test_pascal_layout(pascal_root: Path) -> None:
    names = (pascal_root / "val_id.txt").read_text().split()
    assert len(names) == 30
    counts = []
    n_missing = 0
    for name in names:
        seg = Image.open(pascal_root / "segmentations" / f"{name}.png")
        assert seg.mode == "P"
        assert np.asarray(seg).max() <= 6
        pose = json.loads((pascal_root / "pose" / f"{name}.json").read_text())
        assert pose["image"] == f"{name}.jpg" and (pose["width"], pose["height"]) == seg.size
        assert 1 <= len(pose["people"]) <= 5
        counts.append(len(pose["people"]))
        for person in pose["people"]:
            joints = np.asarray(person["joints"])
            assert joints.shape == (NUM_PASCAL_JOINTS, 3) and set(joints[:, 2].tolist()) <= {0, 1, 2}
            assert len(person["box"]) == 4
            # the one encoding of a missing joint (docs/conventions.md, Missing joints)
            missing = joints[joints[:, 2] == 0]
            assert (missing == [-1, -1, 0]).all()
            n_missing += len(missing)
    assert max(counts) >= 3
    assert n_missing > 0  # truncated people exist in 30 images, so the check above ran
    # one writer of the format: the file is exactly what pascal_pose_json gives for the parsed pose
    pose = json.loads((pascal_root / "pose" / f"{names[0]}.json").read_text())
    width, height, people = parse_pascal_pose(pose, names[0])
    assert pascal_pose_json(image=pose["image"], width=width, height=height, people=list(people)) == pose


def test_every_kind_has_one_split_writer() -> None:
    assert tuple(SPLIT_WRITERS) == KINDS


def test_visible_joints_lie_on_their_own_parts_on_disk(lip_root: Path, pascal_root: Path) -> None:
    allowed = joint_part_ids("lip")
    checked = 0
    for name, row in read_lip_csv(lip_root / "lip_train_set.csv").items():
        seg = np.asarray(Image.open(lip_root / "train_segmentations" / name.replace(".jpg", ".png")))
        for j in range(NUM_JOINTS):
            if row.joints[j, 2] > 0 and not row.occluded[j]:
                x, y = int(round(row.joints[j, 0])), int(round(row.joints[j, 1]))
                assert seg[y, x] in allowed[j], (name, j, seg[y, x])
                checked += 1
    assert checked > 300
    allowed_p = joint_part_ids("pascal")
    checked = 0
    for name in (pascal_root / "val_id.txt").read_text().split():
        seg = np.asarray(Image.open(pascal_root / "segmentations" / f"{name}.png"))
        for person in json.loads((pascal_root / "pose" / f"{name}.json").read_text())["people"]:
            for j, (x, y, v) in enumerate(person["joints"]):
                if v == 1:
                    assert seg[int(round(y)), int(round(x))] in allowed_p[j], (name, j)
                    checked += 1
    assert checked > 300


def test_joint_part_ids_are_side_specific() -> None:
    lip = joint_part_ids("lip")
    assert lip[J["l_wrist"]] == {P["left_arm"], P["glove"]}
    assert lip[J["l_ankle"]] == {P["left_leg"], P["left_shoe"]}
    assert P["right_arm"] not in lip[J["l_elbow"]]
    assert set(joint_part_ids("pascal")) == set(range(NUM_PASCAL_JOINTS))
    assert len(PASCAL_JOINT_FROM_MPII) == NUM_PASCAL_JOINTS
    with pytest.raises(ValueError, match="mpii"):
        joint_part_ids("mpii")


def test_left_right_follow_the_person_not_the_image() -> None:
    front = SynthConfig(view_probs=(1.0, 0.0, 0.0), view_jitter_deg=0.0, roll_sigma_deg=0.0, p_big_roll=0.0)
    back = SynthConfig(view_probs=(0.0, 1.0, 0.0), view_jitter_deg=0.0, roll_sigma_deg=0.0, p_big_roll=0.0)
    for i in range(10):
        for config, sign in ((front, 1.0), (back, -1.0)):
            person = render_sample("lip", 0, "train", i, 96, config).people[0]
            dx = person.joints[J["l_shoulder"], 0] - person.joints[J["r_shoulder"], 0]
            if np.isfinite(dx):
                assert sign * dx > 0  # front: person's left on the image right; back: on the left


def test_face_visible_from_front_hair_only_from_back() -> None:
    front = SynthConfig(view_probs=(1.0, 0.0, 0.0), view_jitter_deg=0.0, p_truncate=0.0, p_occluder=0.0)
    back = SynthConfig(view_probs=(0.0, 1.0, 0.0), view_jitter_deg=0.0, p_truncate=0.0, p_occluder=0.0)
    face_front = np.mean([(render_sample("lip", 0, "val", i, 96, front).lip_parsing == P["face"]).sum()
                          for i in range(8)])
    face_back = np.mean([(render_sample("lip", 0, "val", i, 96, back).lip_parsing == P["face"]).sum()
                         for i in range(8)])
    assert face_front > 3 * face_back


def _occlusion_rates(config: SynthConfig, n: int = 120) -> tuple[float, float]:
    occluded = missing = total = 0
    for i in range(n):
        person = render_sample("lip", 2, "train", i, 64, config).people[0]
        valid = person.joints[:, 2] > 0
        occluded += int((person.occluded & valid).sum())
        missing += int((~valid).sum())
        total += NUM_JOINTS
        assert not (person.occluded & ~valid).any()
        assert np.isnan(person.joints[~valid, :2]).all()
    return occluded / total, missing / total


def test_occlusion_and_truncation_rates() -> None:
    # the calibrated default keeps occluded (v=1) and truncated (missing) joints, less often than "hard"
    occluded, missing = _occlusion_rates(SynthConfig())
    assert 0.04 < occluded < 0.3
    assert 0.003 < missing < 0.1
    hard_occluded, hard_missing = _occlusion_rates(difficulty_config("hard"))
    assert 0.1 < hard_occluded < 0.45 and hard_occluded > occluded
    assert 0.01 < hard_missing < 0.2 and hard_missing > missing
    calm = SynthConfig(p_truncate=0.0, p_big_roll=0.0)
    for i in range(30):
        assert (render_sample("lip", 2, "train", i, 64, calm).people[0].joints[:, 2] == 1).all()


def test_ensure_synthetic_idempotent_and_atomic(tmp_path: Path) -> None:
    root = tmp_path / "synthetic" / "lip_64"
    ensure_synthetic("lip", root, n_train=3, n_val=2, size=64, seed=0)
    manifest = read_manifest(root)
    assert manifest is not None and manifest["generator_version"] == GENERATOR_VERSION
    stamp = (root / "lip_train_set.csv").stat().st_mtime_ns
    ensure_synthetic("lip", root, n_train=3, n_val=2, size=64, seed=0)
    assert (root / "lip_train_set.csv").stat().st_mtime_ns == stamp  # not regenerated
    ensure_synthetic("lip", root, n_train=4, n_val=2, size=64, seed=0)
    assert len(read_lip_csv(root / "lip_train_set.csv")) == 4
    assert sorted(p.name for p in root.parent.iterdir()) == ["lip_64"]  # no temp dirs left


def test_cli_writes_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "mpii"
    assert cli_main(["synth", "mpii", "--n", "2", "--out", str(out), "--seed", "4", "--size", "64",
                     "--split", "val"]) == 0
    assert len(json.loads((out / "annot" / "valid.json").read_text())) == 2


def test_person_fill_overrides_the_style_and_leaves_old_manifests_alone() -> None:
    from piltools.synthetic.sample import render_sample

    assert "person_fill" not in SynthConfig().to_dict()  # manifests written before the knob still match
    near = SynthConfig(person_fill=(0.9, 1.0))
    assert SynthConfig.from_dict(near.to_dict()) == near
    with pytest.raises(ValueError, match="person_fill"):
        SynthConfig(person_fill=(0.8, 0.5))

    def height(config):  # mean joint span in y of the people of the first val images, over the image height
        spans = []
        for i in range(4):
            sample = render_sample("pascal", 0, "val", i, 96, config)
            for person in sample.people:
                ys = person.joints[:, 1]
                spans.append((np.nanmax(ys) - np.nanmin(ys)) / sample.image.shape[0])
        return float(np.mean(spans))

    assert height(near) > 1.3 * height(SynthConfig())


def test_difficulty_levels_named_in_configs() -> None:
    from piltools.config import SyntheticConfig
    from piltools.experiments import get_experiment, with_changes
    from piltools.synthetic import DIFFICULTY

    assert difficulty_config("default") == SynthConfig()
    from piltools.synthetic.config import PERSON_SIZE_LEVELS

    base = [name for name in DIFFICULTY if name not in PERSON_SIZE_LEVELS]  # hardest first
    assert base[-1] == "default" and len(set(DIFFICULTY.values())) == len(DIFFICULTY)
    for name in PERSON_SIZE_LEVELS:  # "default" but for the person size
        assert DIFFICULTY[name].person_fill is not None
        assert dataclasses.replace(DIFFICULTY[name], person_fill=None) == SynthConfig()
    with pytest.raises(ValueError, match="unknown synthetic difficulty 'brutal'"):
        difficulty_config("brutal")
    cfg = get_experiment("table2/hg-1s-1u", "smoke")
    assert cfg.data.synthetic.difficulty == "default"
    with pytest.raises(ValueError, match="data.synthetic.difficulty"):
        with_changes(cfg, data={"synthetic": SyntheticConfig(n_train=4, n_val=2, size=64, difficulty="brutal")})


def test_config_validation_does_not_load_the_renderer() -> None:
    """Checking a config with synthetic data reads DIFFICULTY but must not import the renderer."""
    code = (
        "import sys\n"
        "from piltools.experiments import get_experiment\n"
        "cfg = get_experiment('table2/hg-1s-1u', 'smoke')\n"
        "assert cfg.data.synthetic is not None\n"
        "cfg.validate()\n"
        "import piltools.synthetic\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('piltools.synthetic.'))\n"
        "print(','.join(loaded))\n"
    )
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().split(",")
    # only the numbers module: no render, sample, writers, scene, appearance, body, ensure, gallery
    assert loaded == ["piltools.synthetic.config"], out.stdout
    # the rendering names still resolve through the package
    import piltools.synthetic as synthetic

    assert synthetic.generate.__module__ == "piltools.synthetic.writers"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(synthetic, "nope")
