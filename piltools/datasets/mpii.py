"""MPII Human Pose loader: the common per-person JSON, plus head boxes.

Layout under ``root`` (``split`` is ``train`` or ``valid``; ``val`` is accepted
as an alias of ``valid``)::

    images/NAME.jpg
    annot/{split}.json       list of per-person dicts (below)
    (optional) the official annotation .mat, e.g. mpii_human_pose_v1_u12_1.mat

One JSON entry per person: ``image`` (file name), ``center`` [x, y], ``scale``
(box side / 200), ``joints`` 16 x [x, y], ``joints_vis`` 16 x {0, 1}. These
coordinates are 1-based (MATLAB); the loader subtracts 1 from joints and centre.
A missing joint is exactly ``[-1, -1]`` with ``joints_vis`` 0 (see
``docs/conventions.md``, Missing joints); any other row with ``joints_vis`` 0 is
refused. A joint with ``joints_vis`` 1 is annotated whatever its coordinates:
real MPII has annotated joints just outside the image, at negative coordinates,
and they are kept (as the ``.mat`` reader keeps them). ``joints_vis`` in this
JSON means "annotated", not "visible", so ``occluded`` is all False. Joints
are in MPII order (:data:`piltools.joints.JOINT_NAMES`).

Head boxes (for PCKh) come from an optional per-entry ``head_box`` [x1, y1, x2,
y2] (0-based, a piltools extension the synthetic generator writes) or from the
official ``.mat`` (:func:`read_mpii_mat`, matched to JSON entries by image and
joint positions). MPII is published at http://human-pose.mpi-inf.mpg.de/.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from piltools.datasets.errors import DatasetError, DatasetNotFoundError, MalformedAnnotationError
from piltools.datasets.records import PoseRecord
from piltools.joints import NUM_JOINTS

MPII_URL = "http://human-pose.mpi-inf.mpg.de/"
MPII_SPLITS = ("train", "valid")
_SPLIT_ALIASES = {"val": "valid"}
# a missing joint in the JSON: these 1-based coordinates with joints_vis 0
MISSING_XY = (-1.0, -1.0)
# Largest mean distance (px) between a JSON person's joints and a .mat person's joints
# for the two to be the same annotation.
MAT_MATCH_TOLERANCE_PX = 2.0


def _layout_help(root: Path) -> str:
    return (f"expected under {root}: images/NAME.jpg and annot/train.json, annot/valid.json (the "
            f"common per-person MPII JSON), optionally the official annotation .mat. MPII is "
            f"published at {MPII_URL}; a synthetic stand-in in the same layout is written by "
            f"`python -m piltools synth mpii`.")


def _number_list(value: Any, length: int, where: str, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MalformedAnnotationError(f"{where}: {what} is {value!r}; expected {length} numbers") from None
    if arr.shape != (length,) or not np.isfinite(arr).all():
        raise MalformedAnnotationError(f"{where}: {what} is {value!r}; expected {length} finite numbers")
    return arr


def parse_mpii_entry(entry: Any, where: str) -> tuple[str, np.ndarray, float, np.ndarray, np.ndarray | None]:
    """Validate one JSON person and convert it to 0-based arrays.

    Args:
        entry: the decoded JSON dict.
        where: ``"file entry N"`` for error messages.

    Returns:
        (image name, center (2,), scale, joints (16, 3) x, y, valid, head_box (4,) or None).
    """
    if not isinstance(entry, dict):
        raise MalformedAnnotationError(f"{where}: expected a JSON object, got {type(entry).__name__}")
    missing = [k for k in ("image", "center", "scale", "joints", "joints_vis") if k not in entry]
    if missing:
        raise MalformedAnnotationError(f"{where}: missing keys {missing}; expected image, center, "
                                       f"scale, joints (16 x [x, y]), joints_vis (16 x 0/1)")
    image = entry["image"]
    if not isinstance(image, str) or not image:
        raise MalformedAnnotationError(f"{where}: image is {image!r}; expected a file name")
    center = _number_list(entry["center"], 2, where, "center") - 1.0  # 1-based -> 0-based
    scale = entry["scale"]
    if not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise MalformedAnnotationError(f"{where}: scale is {scale!r}; expected a positive number")
    try:
        xy = np.asarray(entry["joints"], dtype=np.float64)
        vis = np.asarray(entry["joints_vis"], dtype=np.float64)
    except (TypeError, ValueError):
        raise MalformedAnnotationError(f"{where}: joints/joints_vis are not numeric; expected "
                                       f"{NUM_JOINTS} x [x, y] and {NUM_JOINTS} x 0/1") from None
    if xy.shape != (NUM_JOINTS, 2) or vis.shape != (NUM_JOINTS,):
        raise MalformedAnnotationError(f"{where}: joints shape {xy.shape} / joints_vis shape {vis.shape}; "
                                       f"expected ({NUM_JOINTS}, 2) and ({NUM_JOINTS},)")
    if not np.isin(vis, (0, 1)).all():
        raise MalformedAnnotationError(f"{where}: joints_vis is {entry['joints_vis']!r}; expected "
                                       f"{NUM_JOINTS} values 0 (missing) or 1 (annotated)")
    valid = vis > 0
    bad = np.flatnonzero(valid & ~np.isfinite(xy).all(axis=1))
    if bad.size:
        raise MalformedAnnotationError(f"{where}: annotated joint {int(bad[0])} is "
                                       f"{entry['joints'][int(bad[0])]!r}; expected finite x, y")
    bad = np.flatnonzero(~valid & (xy != MISSING_XY).any(axis=1))
    if bad.size:
        raise MalformedAnnotationError(f"{where}: joint {int(bad[0])} has joints_vis 0 but is "
                                       f"{entry['joints'][int(bad[0])]!r}; a missing joint must be exactly "
                                       f"{list(MISSING_XY)} with joints_vis 0")
    joints = np.full((NUM_JOINTS, 3), np.nan)
    joints[:, 2] = valid.astype(np.float64)
    joints[valid, :2] = xy[valid] - 1.0  # 1-based -> 0-based
    head_box = None
    if entry.get("head_box") is not None:
        head_box = _number_list(entry["head_box"], 4, where, "head_box")
    return image, center, float(scale), joints, head_box


# ----------------------------------------------------------------------------
# The official annotation .mat (RELEASE.annolist)
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MpiiMatPerson:
    """One annotated person ("annorect") of the official MPII .mat, 0-based.

    Args:
        image: image file name.
        rect_index: 0-based index of the annorect within its image.
        head_box: (4,) x1, y1, x2, y2 (0-based) or None where absent.
        joints: (16, 3) x, y, valid (missing points are absent in the .mat).
        visible: (16,) bool, the ``is_visible`` flag (False where absent or empty).
    """

    image: str
    rect_index: int
    head_box: np.ndarray | None
    joints: np.ndarray
    visible: np.ndarray


def _as_list(value: Any) -> list[Any]:
    """scipy squeezes 1-element struct arrays to a struct and empty ones to []."""
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    if value is None:
        return []
    return [value]


def _has(obj: Any, name: str) -> bool:
    return name in getattr(obj, "_fieldnames", ())


def _scalar(value: Any) -> float | None:
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _visible_flag(value: Any) -> bool:
    """``is_visible`` is an int, a '0'/'1' string or an empty array in the official file."""
    number = _scalar(value)
    return bool(number) if number is not None else False


def read_mpii_mat(path: str | Path) -> list[MpiiMatPerson]:
    """Every annotated person of the official MPII annotation .mat.

    Handles the file's quirks: annopoints listed in any order (placed by their
    ``id``), absent points (missing joints), ``is_visible`` as int, '0'/'1' or
    empty, single-element arrays squeezed to scalars, rects without a head box.

    Args:
        path: e.g. ``mpii_human_pose_v1_u12_1.mat`` (top-level variable ``RELEASE``).
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"MPII annotation .mat not found: {path}; the official file is "
                                   f"published at {MPII_URL}")
    expected = ("expected the single-person MPII release (mpii_human_pose_v1_u12_1.mat): a struct "
                "RELEASE with field annolist")
    try:
        mat = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except NotImplementedError as err:  # scipy's answer to a MATLAB v7.3 (HDF5) file
        raise MalformedAnnotationError(f"{path} is a MATLAB v7.3 (HDF5) file; {expected} "
                                       f"(MATLAB v5 format)") from err
    except (scipy.io.matlab.MatReadError, ValueError, OSError, TypeError) as err:
        raise MalformedAnnotationError(f"cannot read MPII .mat {path}: {err}; {expected}") from err
    variables = sorted(k for k in mat if not k.startswith("__"))
    if "RELEASE" not in mat:
        raise MalformedAnnotationError(f"{path} holds the variables {variables}; {expected} (a "
                                       f"multi-person file such as annolist_test_multi is not read)")
    if not _has(mat["RELEASE"], "annolist"):
        fields = list(getattr(mat["RELEASE"], "_fieldnames", ()))
        raise MalformedAnnotationError(f"{path}: RELEASE is {type(mat['RELEASE']).__name__} with fields "
                                       f"{fields}; {expected}")
    people: list[MpiiMatPerson] = []
    for img_index, anno in enumerate(_as_list(mat["RELEASE"].annolist)):
        if not _has(anno, "image") or not _has(anno.image, "name"):
            raise MalformedAnnotationError(f"{path}: annolist({img_index + 1}) has no image.name")
        name = str(anno.image.name)
        rects = _as_list(anno.annorect) if _has(anno, "annorect") else []
        for rect_index, rect in enumerate(rects):
            if not hasattr(rect, "_fieldnames"):
                continue  # an empty placeholder: no person annotated in this slot
            head_box = None
            if all(_has(rect, k) for k in ("x1", "y1", "x2", "y2")):
                box = [_scalar(getattr(rect, k)) for k in ("x1", "y1", "x2", "y2")]
                if all(v is not None for v in box):
                    head_box = np.asarray(box, dtype=np.float64) - 1.0  # 1-based -> 0-based
            joints = np.full((NUM_JOINTS, 3), np.nan)
            joints[:, 2] = 0.0
            visible = np.zeros(NUM_JOINTS, dtype=bool)
            points = []
            if _has(rect, "annopoints") and _has(rect.annopoints, "point"):
                points = _as_list(rect.annopoints.point)
            for point in points:
                jid, x, y = _scalar(point.id), _scalar(point.x), _scalar(point.y)
                if jid is None or x is None or y is None or not 0 <= int(jid) < NUM_JOINTS:
                    raise MalformedAnnotationError(
                        f"{path}: annolist({img_index + 1}).annorect({rect_index + 1}) has a point "
                        f"with id={jid}, x={x}, y={y}; expected id 0-15 and numeric x, y")
                joints[int(jid)] = (x - 1.0, y - 1.0, 1.0)
                if _has(point, "is_visible"):
                    visible[int(jid)] = _visible_flag(point.is_visible)
            people.append(MpiiMatPerson(image=name, rect_index=rect_index, head_box=head_box,
                                        joints=joints, visible=visible))
    return people


def _match_head_box(image: str, joints: np.ndarray, candidates: list[MpiiMatPerson],
                    where: str) -> np.ndarray:
    best, best_dist = None, np.inf
    for person in candidates:
        common = (joints[:, 2] > 0) & (person.joints[:, 2] > 0)
        if person.head_box is None or not common.any():
            continue
        dist = float(np.linalg.norm(joints[common, :2] - person.joints[common, :2], axis=1).mean())
        if dist < best_dist:
            best, best_dist = person, dist
    if best is None or best_dist > MAT_MATCH_TOLERANCE_PX:
        raise MalformedAnnotationError(
            f"{where}: no person with a head box in the .mat for image {image} whose joints match "
            f"this entry (closest mean distance {best_dist:.1f} px; tolerance "
            f"{MAT_MATCH_TOLERANCE_PX} px)")
    assert best.head_box is not None
    return best.head_box


def load_mpii(
    root: str | Path,
    split: str,
    *,
    mat_path: str | Path | None = None,
    require_head_boxes: bool = False,
) -> list[PoseRecord]:
    """Records of one MPII split, one per annotated person, in JSON order.

    Args:
        root: dataset root (see the module docstring).
        split: ``"train"`` or ``"valid"`` (``"val"`` accepted).
        mat_path: the official annotation .mat to take head boxes from (entries that
            carry their own ``head_box`` keep it).
        require_head_boxes: raise if an entry ends up without a head box (evaluation).

    Raises:
        DatasetNotFoundError: missing root, JSON or image (file and entry named).
        MalformedAnnotationError: malformed JSON or entry (entry index and what was expected).
    """
    root = Path(root)
    split = _SPLIT_ALIASES.get(split, split)
    if split not in MPII_SPLITS:
        raise DatasetError(f"unknown MPII split {split!r}; expected one of {MPII_SPLITS}")
    if not root.is_dir():
        raise DatasetNotFoundError(f"MPII root {root} does not exist; {_layout_help(root)}")
    json_path = root / "annot" / f"{split}.json"
    if not json_path.is_file():
        raise DatasetNotFoundError(f"MPII annotation {json_path} not found; {_layout_help(root)}")
    try:
        entries = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MalformedAnnotationError(f"{json_path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    if not isinstance(entries, list):
        raise MalformedAnnotationError(f"{json_path}: expected a JSON list of per-person objects")
    by_image: dict[str, list[MpiiMatPerson]] = {}
    if mat_path is not None:
        for person in read_mpii_mat(mat_path):
            by_image.setdefault(person.image, []).append(person)
    records: list[PoseRecord] = []
    for index, entry in enumerate(entries):
        where = f"{json_path} entry {index}"
        image, center, scale, joints, head_box = parse_mpii_entry(entry, where)
        image_path = root / "images" / image
        if not image_path.is_file():
            raise DatasetNotFoundError(f"{where}: image {image_path} not found")
        if head_box is None and mat_path is not None:
            head_box = _match_head_box(image, joints, by_image.get(image, []), where)
        if head_box is None and require_head_boxes:
            raise MalformedAnnotationError(f"{where}: no head box (give the entry a 'head_box' or "
                                           f"pass mat_path=the official annotation .mat)")
        records.append(PoseRecord(
            name=f"{image}#{index}", image_path=image_path, parsing_path=None, joints=joints,
            occluded=np.zeros(NUM_JOINTS, dtype=bool), center=center, scale=scale,
            head_box=head_box, source=where,
        ))
    return records
