"""LIP (Look Into Person) loader: images, 20-id parsing PNGs and the pose CSV.

Accepted layouts under ``root`` (``split`` is ``train`` or ``val``):

- flat (what the synthetic generator writes, and ``data/lip``)::

      {split}_images/NAME.jpg
      {split}_segmentations/NAME.png        8-bit L, ids 0-19, 255 ignore
      lip_{split}_set.csv                   name.jpg,x0,y0,v0,...,x15,y15,v15

- the nested layout of the official LIP archives::

      TrainVal_images/{split}_images/NAME.jpg            (or TrainVal_images/TrainVal_images/...)
      TrainVal_parsing_annotations/{split}_segmentations/NAME.png
      TrainVal_pose_annotations/lip_{split}_set.csv

The CSV is read with :func:`piltools.lipcsv.read_lip_csv` (v=1 means occluded;
``nan,nan,nan`` is a missing joint). LIP has no person centre or scale: records
leave them None and the dataset derives them when it reads the sample, from the
union of the valid-joint box and the parsing-foreground box
(:func:`piltools.datasets.records.person_center_scale`); LIP images are already
person crops, so this box is close to the whole image. Grayscale LIP JPEGs are
converted to RGB when read (:func:`piltools.datasets.imageio.read_rgb_image`).
"""
from __future__ import annotations

from pathlib import Path

from piltools.datasets.errors import (
    CorruptImageError,
    DatasetError,
    DatasetNotFoundError,
    MalformedAnnotationError,
    SizeMismatchError,
)
from piltools.datasets.imageio import read_label_map, read_rgb_image
from piltools.datasets.records import PoseRecord
from piltools.joints import NUM_JOINTS
from piltools.lipcsv import read_lip_csv

LIP_URL = "http://sysu-hcp.net/lip/"
LIP_SPLITS = ("train", "val")


def _layout_help(root: Path, split: str) -> str:
    return (f"expected under {root}: {split}_images/NAME.jpg, {split}_segmentations/NAME.png and "
            f"lip_{split}_set.csv (or the official nested TrainVal_images/, "
            f"TrainVal_parsing_annotations/, TrainVal_pose_annotations/ folders). "
            f"LIP is published at {LIP_URL}; a synthetic stand-in in the same layout is written by "
            f"`python -m piltools synth lip`.")


def _first_existing(candidates: list[Path]) -> Path | None:
    for path in candidates:
        if path.exists():
            return path
    return None


def _verify_pair(source: str, image_path: Path, parsing_path: Path | None) -> None:
    """Decode an image and its parsing map in full; raise unless both decode and sizes agree."""
    try:
        hw = read_rgb_image(image_path).shape[:2]
        parsing_hw = read_label_map(parsing_path).shape if parsing_path is not None else hw
    except CorruptImageError as err:
        raise CorruptImageError(f"{source}: {err}") from err
    if parsing_hw != hw:
        raise SizeMismatchError(f"{source}: parsing map {parsing_path} is {parsing_hw} (H, W) but image "
                                f"{image_path} is {hw}")


def lip_paths(root: str | Path, split: str) -> tuple[Path, Path | None, Path]:
    """Locate (images dir, segmentations dir or None, pose CSV) of a LIP split.

    Args:
        root: dataset root in the flat or the official nested layout.
        split: ``"train"`` or ``"val"``.

    Raises:
        DatasetNotFoundError: the root, the images folder or the CSV is missing.
    """
    root = Path(root)
    if split not in LIP_SPLITS:
        raise DatasetError(f"unknown LIP split {split!r}; expected one of {LIP_SPLITS}")
    if not root.is_dir():
        raise DatasetNotFoundError(f"LIP root {root} does not exist; {_layout_help(root, split)}")
    images = _first_existing([
        root / f"{split}_images",
        root / "TrainVal_images" / f"{split}_images",
        root / "TrainVal_images" / "TrainVal_images" / f"{split}_images",
    ])
    segs = _first_existing([
        root / f"{split}_segmentations",
        root / "TrainVal_parsing_annotations" / f"{split}_segmentations",
        root / "TrainVal_parsing_annotations" / "TrainVal_parsing_annotations" / f"{split}_segmentations",
    ])
    csv = _first_existing([
        root / f"lip_{split}_set.csv",
        root / "TrainVal_pose_annotations" / f"lip_{split}_set.csv",
    ])
    if images is None:
        raise DatasetNotFoundError(f"LIP images folder for split {split!r} not found; "
                                   f"{_layout_help(root, split)}")
    if csv is None:
        raise DatasetNotFoundError(f"LIP pose CSV lip_{split}_set.csv not found; "
                                   f"{_layout_help(root, split)}")
    return images, segs, csv


def load_lip(
    root: str | Path,
    split: str,
    *,
    require_parsing: bool = True,
    verify: bool = False,
) -> list[PoseRecord]:
    """Records of one LIP split, in CSV row order.

    Args:
        root: dataset root (flat or official nested layout, see the module docstring).
        split: ``"train"`` or ``"val"``.
        require_parsing: raise when the segmentations folder or a row's PNG is missing;
            with False, rows without a PNG get ``parsing_path=None`` (pose-only use).
        verify: also decode every image and parsing map in full (slow: reads every pixel)
            and check that they decode (a truncated JPEG fails) and have the same size.

    Raises:
        DatasetNotFoundError: missing root, folder, CSV, image or parsing PNG (file and row named).
        MalformedAnnotationError: a CSV row with the wrong number of fields or non-numbers.
        SizeMismatchError, CorruptImageError: only with ``verify=True`` (otherwise when read).
    """
    images, segs, csv = lip_paths(root, split)
    if segs is None and require_parsing:
        raise DatasetNotFoundError(f"LIP segmentations folder for split {split!r} not found; "
                                   f"{_layout_help(Path(root), split)}")
    try:
        rows = read_lip_csv(csv)
    except DatasetError:
        raise
    except ValueError as err:
        raise MalformedAnnotationError(f"malformed LIP pose CSV: {err}") from err
    records: list[PoseRecord] = []
    for line, (name, row) in enumerate(rows.items(), start=1):
        source = f"{csv} row {line} ({name})"
        if row.joints.shape != (NUM_JOINTS, 3):
            raise MalformedAnnotationError(f"{source}: expected {NUM_JOINTS} joints, got shape "
                                           f"{row.joints.shape}")
        image_path = images / name
        if not image_path.is_file():
            raise DatasetNotFoundError(f"{source}: image {image_path} not found")
        parsing_path: Path | None = None
        if segs is not None:
            parsing_path = segs / (Path(name).stem + ".png")
            if not parsing_path.is_file():
                if require_parsing:
                    raise DatasetNotFoundError(f"{source}: parsing map {parsing_path} not found")
                parsing_path = None
        if verify:
            _verify_pair(source, image_path, parsing_path)
        records.append(PoseRecord(
            name=name, image_path=image_path, parsing_path=parsing_path,
            joints=row.joints.astype(float), occluded=row.occluded.astype(bool), source=source,
        ))
    return records
