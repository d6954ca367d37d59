"""Write synthetic samples in the real datasets' on-disk layouts, which the loaders of
:mod:`piltools.datasets` read (see their module docstrings and ``data/README.md``).

* lip:    ``{split}_images/NAME.jpg``, ``{split}_segmentations/NAME.png`` (8-bit L, ids 0-19),
          ``lip_{split}_set.csv`` (LIP pose CSV via :func:`piltools.lipcsv.write_lip_csv`; v=1 occluded,
          0 visible; missing = nan,nan,nan).
* mpii:   ``images/NAME.jpg``, ``annot/{train,valid}.json`` (list of per-person dicts: image, center
          (1-based), scale (person height / 200), joints 16 x [x, y] 1-based with [-1, -1] missing,
          joints_vis (1 annotated, 0 missing), head_box [x1, y1, x2, y2] 0-based). No parsing.
* pascal: ``images/NAME.jpg``, ``segmentations/NAME.png`` (palette PNG, VOC palette, indices 0-6),
          ``pose/NAME.json`` written by :func:`piltools.datasets.pascal.pascal_pose_json` (14 joints
          per person, [x, y, v] 0-based, missing = [-1, -1, 0]), ``{split}_id.txt``.

Each kind has one split writer (:data:`SPLIT_WRITERS`); :func:`generate` renders the samples and
hands them to it, and writes the generator's per-person attributes (view, occluded and truncated
joints) to the sidecar ``{split}_attributes.csv`` (:mod:`piltools.synthetic.attributes`), a file
the real formats lack and the loaders ignore. Names are ``{split}_{index:06d}``, so train and val share the mpii/pascal image
folders safely. Files are byte-identical across runs for the same arguments (fixed JPEG quality,
deterministic PNG, coordinates rounded to 3 decimals).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from piltools.datasets.mpii import MISSING_XY
from piltools.datasets.pascal import pascal_pose_json
from piltools.datasets.records import PersonAnnotation
from piltools.lipcsv import LipRow, write_lip_csv
from piltools.synthetic.attributes import attributes_path, sample_attributes, write_attributes
from piltools.synthetic.config import SynthConfig, check_kind_split
from piltools.synthetic.render import pascal_joints
from piltools.synthetic.sample import Sample, render_sample
from piltools.viz import PASCAL_PALETTE

MPII_SPLIT_NAMES = {"train": "train", "val": "valid"}


def _write_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    data = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", data, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"JPEG encoding failed for {path}")
    path.write_bytes(buf.tobytes())


def _write_png_l(path: Path, labels: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(labels, dtype=np.uint8))
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    path.write_bytes(buf.tobytes())


def _write_png_palette(path: Path, labels: np.ndarray) -> None:
    img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    img.putpalette(PASCAL_PALETTE.reshape(-1).tolist())
    img.save(path, format="PNG")


def _num(value: float) -> float:
    return round(float(value), 3)


def mpii_entry(sample: Sample) -> dict:
    """The MPII-JSON dict of a single-person sample (1-based joints/center, 0-based head_box)."""
    person = sample.people[0]
    valid = person.joints[:, 2] > 0
    joints = [[_num(x + 1), _num(y + 1)] if v else list(MISSING_XY)
              for (x, y, _), v in zip(person.joints, valid)]
    return {
        "image": f"{sample.name}.jpg",
        "center": [_num(person.center[0] + 1), _num(person.center[1] + 1)],
        "scale": _num(person.scale),
        "joints": joints,
        "joints_vis": [int(v) for v in valid],
        "head_box": [_num(v) for v in person.head_box],
    }


def pascal_pose(sample: Sample) -> dict:
    """The per-image PASCAL pose JSON dict (coordinates rounded to 3 decimals)."""
    h, w = sample.pascal_parsing.shape
    people = []
    for person in sample.people:
        joints, occluded = pascal_joints(person.joints, person.occluded)
        rounded = np.array([[_num(x), _num(y), valid] for x, y, valid in joints])
        people.append(PersonAnnotation(joints=rounded, occluded=occluded,
                                       box=np.array([_num(v) for v in person.box])))
    return pascal_pose_json(image=f"{sample.name}.jpg", width=w, height=h, people=people)


def write_lip_split(root: Path, split: str, samples: Iterable[Sample], quality: int) -> None:
    """LIP: images, 8-bit parsing PNGs and the pose CSV of one split."""
    img_dir, seg_dir = root / f"{split}_images", root / f"{split}_segmentations"
    img_dir.mkdir(parents=True, exist_ok=True)
    seg_dir.mkdir(parents=True, exist_ok=True)
    rows: list[LipRow] = []
    for sample in samples:
        _write_jpeg(img_dir / f"{sample.name}.jpg", sample.image, quality)
        _write_png_l(seg_dir / f"{sample.name}.png", sample.lip_parsing)
        person = sample.people[0]
        rows.append(LipRow(name=f"{sample.name}.jpg", joints=person.joints, occluded=person.occluded))
    write_lip_csv(root / f"lip_{split}_set.csv", rows)


def write_mpii_split(root: Path, split: str, samples: Iterable[Sample], quality: int) -> None:
    """MPII: images and the per-person JSON of one split (no parsing)."""
    img_dir = root / "images"
    (root / "annot").mkdir(parents=True, exist_ok=True)
    img_dir.mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []
    for sample in samples:
        _write_jpeg(img_dir / f"{sample.name}.jpg", sample.image, quality)
        entries.append(mpii_entry(sample))
    (root / "annot" / f"{MPII_SPLIT_NAMES[split]}.json").write_text(json.dumps(entries) + "\n")


def write_pascal_split(root: Path, split: str, samples: Iterable[Sample], quality: int) -> None:
    """PASCAL-Person-Part: images, palette part maps, one pose JSON per image and the id file."""
    img_dir, seg_dir, pose_dir = root / "images", root / "segmentations", root / "pose"
    for folder in (pose_dir, img_dir, seg_dir):
        folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for sample in samples:
        names.append(sample.name)
        _write_jpeg(img_dir / f"{sample.name}.jpg", sample.image, quality)
        _write_png_palette(seg_dir / f"{sample.name}.png", sample.pascal_parsing)
        (pose_dir / f"{sample.name}.json").write_text(json.dumps(pascal_pose(sample)) + "\n")
    (root / f"{split}_id.txt").write_text("".join(f"{name}\n" for name in names))


# dataset kind -> writer of one split: (root, split, samples, JPEG quality) -> None
SPLIT_WRITERS: dict[str, Callable[[Path, str, Iterable[Sample], int], None]] = {
    "lip": write_lip_split,
    "mpii": write_mpii_split,
    "pascal": write_pascal_split,
}


def generate(kind: str, out: str | Path, n: int, seed: int, size: int = 128, split: str = "train",
             config: SynthConfig | None = None) -> Path:
    """Write ``n`` samples of one split of a synthetic dataset under ``out``.

    Sample ``i`` depends only on (kind, seed, split, i, size, config). Other splits already under
    ``out`` are left alone; this split's files are overwritten.

    Args:
        kind: "lip", "mpii" or "pascal".
        out: dataset root (created).
        n: number of images (pascal: images, each with 1-5 people).
        seed: non-negative dataset seed.
        size: longer image side in pixels.
        split: "train" or "val" (mpii writes annot/valid.json for "val").
        config: difficulty knobs (default :class:`SynthConfig`).

    Returns:
        ``Path(out)``.
    """
    check_kind_split(kind, split)
    if n < 0 or size < 32:
        raise ValueError(f"need n >= 0 and size >= 32, got n={n} size={size}")
    config = config or SynthConfig()
    root = Path(out)
    attributes: list[dict] = []

    def samples() -> Iterator[Sample]:  # rendered one at a time; their attributes kept for the sidecar
        for index in range(n):
            sample = render_sample(kind, seed, split, index, size, config)
            attributes.extend(sample_attributes(sample))
            yield sample

    SPLIT_WRITERS[kind](root, split, samples(), config.jpeg_quality)
    write_attributes(attributes_path(root, split), attributes)
    return root
