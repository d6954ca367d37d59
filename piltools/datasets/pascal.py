"""Extended PASCAL-Person-Part loader: images, 7-id part maps, multi-person pose.

Layout under ``root`` (``split`` is ``train`` or ``val``)::

    images/NAME.jpg
    segmentations/NAME.png     palette PNG; its INDICES are the part ids 0-6
                               (background, head, torso, upper_arm, lower_arm,
                               upper_leg, lower_leg; 255 ignore)
    pose/NAME.json             one file per image, see below
    {split}_id.txt             one NAME (no extension) per line

The pose layout is ours: the extended PASCAL-Person-Part pose annotations of
the paper (14 joints per person) are not publicly mirrored, so piltools defines
one documented per-image JSON, which the synthetic generator writes and which
:func:`convert_original_pose_annotations` (a hook for a user who holds the
original files) must produce::

    {"image": "NAME.jpg", "width": W, "height": H,
     "people": [{"box": [x1, y1, x2, y2],
                 "joints": [[x, y, v], ... 14 rows ...]}, ...]}

Coordinates are 0-based pixels; ``v`` is 1 visible, 2 occluded, 0 missing. A
missing joint is written exactly ``[-1, -1, 0]`` (:data:`MISSING_ROW`, the same
``-1`` marker as MPII's JSON; see ``docs/conventions.md``, Missing joints), and
the loader refuses any other row with ``v = 0``. Annotated joints may lie just
outside the image (negative coordinates are kept). The 14 joints are MPII's
order without pelvis and thorax (:data:`piltools.joints.PASCAL_JOINT_NAMES`). PASCAL-Person-Part part maps are
published at http://roozbehm.info/pascal-parts/pascal-parts.html (the part
merging of Chen et al. 2014/2016); the images come from PASCAL VOC 2010.

A record is one image: ``people`` holds every person; ``joints`` are the first
person's (or all missing); ``center``/``scale`` describe the whole image
(centre of the image, scale = longer side / 200), which is what the
multi-person dataset crops. :func:`person_records` splits images into one
record per person (centre and scale from the person box) for single-person use.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from piltools.datasets.errors import (
    CorruptImageError,
    DatasetError,
    DatasetNotFoundError,
    MalformedAnnotationError,
    SizeMismatchError,
)
from piltools.datasets.imageio import image_size, read_label_map, read_rgb_image
from piltools.datasets.records import PIXELS_PER_SCALE, PersonAnnotation, PoseRecord, missing_joints
from piltools.joints import NUM_PASCAL_JOINTS

PASCAL_URL = "http://roozbehm.info/pascal-parts/pascal-parts.html"
PASCAL_SPLITS = ("train", "val")
# joint flag values in the pose JSON
V_MISSING, V_VISIBLE, V_OCCLUDED = 0, 1, 2
# the one encoding of a missing joint in the pose JSON
MISSING_ROW = (-1, -1, V_MISSING)


def _layout_help(root: Path, split: str) -> str:
    return (f"expected under {root}: images/NAME.jpg, segmentations/NAME.png (palette PNG, part ids "
            f"0-6), pose/NAME.json (see piltools/datasets/pascal.py) and {split}_id.txt. "
            f"PASCAL-Person-Part is published at {PASCAL_URL}; its extended pose annotations are not "
            f"publicly mirrored (see convert_original_pose_annotations). A synthetic stand-in in "
            f"this layout is written by `python -m piltools synth pascal`.")


def parse_pascal_pose(data: Any, where: str) -> tuple[int, int, tuple[PersonAnnotation, ...]]:
    """Validate one decoded pose JSON.

    Args:
        data: the decoded JSON object.
        where: file name for error messages.

    Returns:
        (width, height, people).
    """
    if not isinstance(data, dict) or not all(k in data for k in ("width", "height", "people")):
        raise MalformedAnnotationError(f"{where}: expected an object with keys image, width, height, "
                                       f"people")
    width, height = data["width"], data["height"]
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise MalformedAnnotationError(f"{where}: width/height {width!r}/{height!r}; expected positive "
                                       f"integers")
    if not isinstance(data["people"], list):
        raise MalformedAnnotationError(f"{where}: people must be a list")
    people = []
    for p_index, person in enumerate(data["people"]):
        pwhere = f"{where} people[{p_index}]"
        if not isinstance(person, dict) or "box" not in person or "joints" not in person:
            raise MalformedAnnotationError(f"{pwhere}: expected an object with box [x1, y1, x2, y2] "
                                           f"and joints {NUM_PASCAL_JOINTS} x [x, y, v]")
        try:
            box = np.asarray(person["box"], dtype=np.float64)
            raw = np.asarray(person["joints"], dtype=np.float64)
        except (TypeError, ValueError):
            raise MalformedAnnotationError(f"{pwhere}: box/joints are not numeric") from None
        if box.shape != (4,) or not np.isfinite(box).all():
            raise MalformedAnnotationError(f"{pwhere}: box {person['box']!r}; expected 4 numbers")
        if raw.shape != (NUM_PASCAL_JOINTS, 3):
            raise MalformedAnnotationError(f"{pwhere}: joints have shape {raw.shape}; expected "
                                           f"({NUM_PASCAL_JOINTS}, 3) rows of [x, y, v]")
        flags = raw[:, 2]
        if not np.isin(flags, (V_MISSING, V_VISIBLE, V_OCCLUDED)).all():
            raise MalformedAnnotationError(f"{pwhere}: joint flags {flags.tolist()}; expected 0 "
                                           f"(missing), 1 (visible) or 2 (occluded)")
        valid = flags != V_MISSING
        bad_missing = np.flatnonzero(~valid & ((raw[:, 0] != MISSING_ROW[0]) | (raw[:, 1] != MISSING_ROW[1])))
        if bad_missing.size:
            k = int(bad_missing[0])
            raise MalformedAnnotationError(f"{pwhere}: joint {k} is {person['joints'][k]!r}; a missing joint "
                                           f"must be exactly {list(MISSING_ROW)}")
        if not np.isfinite(raw[valid, :2]).all():
            raise MalformedAnnotationError(f"{pwhere}: a joint with v != 0 has a non-finite coordinate")
        joints = missing_joints(NUM_PASCAL_JOINTS)
        joints[valid] = np.column_stack([raw[valid, :2], np.ones(int(valid.sum()))])
        people.append(PersonAnnotation(joints=joints, occluded=flags == V_OCCLUDED, box=box))
    return width, height, tuple(people)


def load_pascal(
    root: str | Path,
    split: str,
    *,
    require_pose: bool = True,
    verify: bool = False,
) -> list[PoseRecord]:
    """Records of one PASCAL-Person-Part split (one per image), in id-file order.

    Args:
        root: dataset root (see the module docstring).
        split: ``"train"`` or ``"val"``.
        require_pose: raise when an image has no pose JSON; with False such images get
            no people (parsing-only use, e.g. the real part maps without pose files).
        verify: also decode every image and part map in full (slow: reads every pixel) and
            check that they decode (a truncated JPEG fails) and have the size the pose JSON states.

    Raises:
        DatasetNotFoundError, MalformedAnnotationError, SizeMismatchError, CorruptImageError.
    """
    root = Path(root)
    if split not in PASCAL_SPLITS:
        raise DatasetError(f"unknown PASCAL split {split!r}; expected one of {PASCAL_SPLITS}")
    if not root.is_dir():
        raise DatasetNotFoundError(f"PASCAL-Person-Part root {root} does not exist; "
                                   f"{_layout_help(root, split)}")
    ids_path = root / f"{split}_id.txt"
    if not ids_path.is_file():
        raise DatasetNotFoundError(f"{ids_path} not found; {_layout_help(root, split)}")
    records: list[PoseRecord] = []
    for line, raw_line in enumerate(ids_path.read_text(encoding="utf-8").splitlines(), start=1):
        name = raw_line.strip()
        if not name:
            continue  # blank lines (e.g. a trailing one) carry no id
        if any(c in name for c in " ,/\\"):
            raise MalformedAnnotationError(f"{ids_path} line {line}: {raw_line!r}; expected one image "
                                           f"id (file name without extension) per line")
        source = f"{ids_path} line {line} ({name})"
        image_path = root / "images" / f"{name}.jpg"
        seg_path = root / "segmentations" / f"{name}.png"
        pose_path = root / "pose" / f"{name}.json"
        for path, what in ((image_path, "image"), (seg_path, "part map")):
            if not path.is_file():
                raise DatasetNotFoundError(f"{source}: {what} {path} not found")
        people: tuple[PersonAnnotation, ...] = ()
        size: tuple[int, int] | None = None  # (H, W)
        if pose_path.is_file():
            try:
                data = json.loads(pose_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise MalformedAnnotationError(f"{pose_path}: invalid JSON at line {err.lineno}: "
                                               f"{err.msg}") from err
            width, height, people = parse_pascal_pose(data, str(pose_path))
            size = (height, width)
        elif require_pose:
            raise DatasetNotFoundError(f"{source}: pose annotation {pose_path} not found (pass "
                                       f"require_pose=False to load part maps only)")
        if verify:
            try:
                hw = read_rgb_image(image_path).shape[:2]
                seg_hw = read_label_map(seg_path).shape
            except CorruptImageError as err:
                raise CorruptImageError(f"{source}: {err}") from err
            if size is not None and hw != size:
                raise SizeMismatchError(f"{pose_path} says (H, W) = {size} but image {image_path} "
                                        f"is {hw}")
            if seg_hw != hw:
                raise SizeMismatchError(f"{source}: part map {seg_path} is {seg_hw} (H, W) but image "
                                        f"{image_path} is {hw}")
            size = hw
        elif size is None:
            size = image_size(image_path)
        height, width = size
        records.append(PoseRecord(
            name=f"{name}.jpg", image_path=image_path, parsing_path=seg_path,
            joints=people[0].joints if people else missing_joints(NUM_PASCAL_JOINTS),
            occluded=people[0].occluded if people else np.zeros(NUM_PASCAL_JOINTS, dtype=bool),
            center=np.array([(width - 1) / 2.0, (height - 1) / 2.0]),
            scale=max(width, height) / PIXELS_PER_SCALE, people=people, source=source,
        ))
    if not records:
        raise MalformedAnnotationError(f"{ids_path}: no image ids; expected one id per line")
    return records


def person_records(records: list[PoseRecord]) -> list[PoseRecord]:
    """One single-person record per annotated person (centre and scale from its box).

    Args:
        records: image records from :func:`load_pascal`.
    """
    out = []
    for record in records:
        for p_index, person in enumerate(record.people):
            x1, y1, x2, y2 = person.box
            side = max(x2 - x1, y2 - y1) + 1.0
            out.append(PoseRecord(
                name=f"{record.name}#{p_index}", image_path=record.image_path,
                parsing_path=record.parsing_path, joints=person.joints, occluded=person.occluded,
                center=np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0]), scale=side / PIXELS_PER_SCALE,
                people=(person,), source=f"{record.source} person {p_index}",
            ))
    return out


def pascal_pose_json(*, image: str, width: int, height: int,
                     people: list[PersonAnnotation]) -> dict[str, Any]:
    """The pose JSON object for one image (the inverse of :func:`parse_pascal_pose`).

    Args:
        image: image file name.
        width: image width in pixels.
        height: image height in pixels.
        people: persons with (14, 3) joints x, y, valid and (14,) occluded flags; a joint with
            valid 0 is written as :data:`MISSING_ROW` ``[-1, -1, 0]``.
    """
    out_people = []
    for person in people:
        rows = []
        for (x, y, valid), occ in zip(person.joints, person.occluded):
            if valid > 0:
                rows.append([float(x), float(y), V_OCCLUDED if occ else V_VISIBLE])
            else:
                rows.append(list(MISSING_ROW))
        out_people.append({"box": [float(v) for v in person.box], "joints": rows})
    return {"image": image, "width": int(width), "height": int(height), "people": out_people}


def convert_original_pose_annotations(original_dir: str | Path, out_root: str | Path) -> int:
    """Hook: convert the original extended PASCAL-Person-Part pose files to our layout.

    The paper's pose annotations for PASCAL-Person-Part (14 joints per person,
    from the authors of the multi-person parsing/pose work it builds on) are not
    publicly mirrored, so their file format is unknown here and this function
    is deliberately left for a user who has them to fill in.

    What it must produce, under ``out_root`` (next to ``images/`` and
    ``segmentations/``): for every image NAME, ``pose/NAME.json`` as written by
    ``json.dump(pascal_pose_json(image="NAME.jpg", width=W, height=H,
    people=[PersonAnnotation(joints, occluded, box), ...]))`` where ``joints`` is
    (14, 3) x, y, valid in 0-based pixels in the order of
    :data:`piltools.joints.PASCAL_JOINT_NAMES` (convert 1-based MATLAB
    coordinates by subtracting 1; reorder joints with a name map), ``occluded``
    (14,) bool (all False if the source has no flag) and ``box`` the person's
    x1, y1, x2, y2 (the joints' bounding box if the source has no box); plus
    ``train_id.txt`` / ``val_id.txt`` listing the NAMEs of each split. Return the
    number of pose files written. Check the result with
    ``load_pascal(out_root, split, verify=True)``.

    Args:
        original_dir: folder holding the original pose annotation files.
        out_root: PASCAL root to write ``pose/`` and the id files into.
    """
    raise NotImplementedError(
        f"convert_original_pose_annotations({original_dir!s}, {out_root!s}): the original extended "
        f"PASCAL-Person-Part pose files are not publicly available, so their format is unknown to "
        f"piltools. Fill in this function (piltools/datasets/pascal.py) to write pose/NAME.json per "
        f"image in the documented layout (see its docstring and pascal_pose_json).")
