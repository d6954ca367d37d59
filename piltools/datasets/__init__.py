"""Datasets: real-format loaders (LIP, MPII, PASCAL-Person-Part), augmentation, torch datasets.

Loaders turn a dataset root into a list of :class:`~piltools.datasets.records.PoseRecord`
(no pixels read); :class:`PoseDataset` / :class:`MultiPersonDataset` read, augment
and build targets per sample. What differs between the datasets lives in one
:class:`~piltools.datasets.specs.DatasetSpec` per kind (:data:`DATASETS`,
:func:`get_spec`). The project's synthetic datasets are written in the same
on-disk layouts and read by the same loaders.

    >>> ds = build_dataset("lip", "data/lip", "train", train=True, input_size=256, stride=4)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from piltools.datasets.errors import (
    CorruptImageError,
    DatasetError,
    DatasetNotFoundError,
    MalformedAnnotationError,
    SizeMismatchError,
)
from piltools.datasets.lip import load_lip
from piltools.datasets.mpii import load_mpii, read_mpii_mat
from piltools.datasets.pascal import load_pascal, person_records
from piltools.datasets.records import PersonAnnotation, PoseRecord
from piltools.datasets.specs import DATASET_KINDS, DATASETS, PERSON_CROP_MARGIN, DatasetSpec, get_spec
from piltools.datasets.torch_data import OFFSET_RADIUS, MultiPersonDataset, PoseDataset

__all__ = [
    "CorruptImageError", "DatasetError", "DatasetNotFoundError", "MalformedAnnotationError",
    "SizeMismatchError", "PersonAnnotation", "PoseRecord", "PoseDataset", "MultiPersonDataset",
    "load_lip", "load_mpii", "read_mpii_mat", "load_pascal", "person_records", "build_dataset",
    "DATASET_KINDS", "DATASETS", "DatasetSpec", "get_spec",
]


def build_dataset(
    kind: str,
    root: str | Path,
    split: str,
    train: bool,
    *,
    input_size: int = 256,
    stride: int = 4,
    sigma: float | None = None,
    convention: str = "reference",
    background: bool = False,
    seed: int = 0,
    preset: str | None = None,
    box_margin: float | None = None,
    multi_person: bool = True,
    offset_radius: float = OFFSET_RADIUS,
    mat_path: str | Path | None = None,
    verify: bool = False,
) -> PoseDataset | MultiPersonDataset:
    """Load a split of a dataset and wrap it in the matching torch dataset.

    Everything that depends on the kind (loader, augmentation preset, parsing
    classes, flip permutations, crop margin, single or multi-person samples)
    comes from its :class:`~piltools.datasets.specs.DatasetSpec`.

    Args:
        kind: a key of :data:`DATASETS` (``"lip"``, ``"mpii"``, ``"pascal"``).
        root: dataset root in the layout the loader documents.
        split: ``train``/``val`` (LIP, PASCAL) or ``train``/``valid`` (MPII; ``val`` accepted).
        train: True selects the kind's augmentation preset, False the ``eval`` preset.
        input_size: square input side.
        stride: input pixels per heatmap cell (8 VGG, 4 hourglass).
        sigma: heatmap Gaussian std (None: the convention's default).
        convention: heatmap convention, ``reference`` or ``newell``.
        background: append a background heatmap channel.
        seed: augmentation seed.
        preset: override the augmentation preset name.
        box_margin: override the crop margin (default: the spec's; 1.25 for people cut out one by one).
        multi_person: multi-person kinds only: whole images with all people (True) or one sample per person.
        offset_radius: multi-person samples: radius (input px) around a joint where offsets are supervised.
        mat_path: MPII only: the official annotation .mat for head boxes.
        verify: LIP/PASCAL: decode every image and label map in full at load time.

    Raises:
        InputError: an unknown kind (the message names the known ones).
    """
    spec = get_spec(kind)
    records = spec.loader(root, split, verify=verify, mat_path=mat_path)
    common: dict[str, Any] = dict(
        input_size=input_size, stride=stride, sigma=sigma, convention=convention, background=background,
        seed=seed, preset=preset or (spec.augment if train else "eval"), num_parsing=spec.num_parsing,
        flip_perm=spec.joint_flip_perm, parsing_flip_perm=spec.parsing_flip_perm)
    if spec.multi_person and multi_person:
        return MultiPersonDataset(records, box_margin=box_margin or spec.crop_margin,
                                  offset_radius=offset_radius, **common)
    if spec.multi_person:
        return PoseDataset(person_records(records), box_margin=box_margin or PERSON_CROP_MARGIN, **common)
    return PoseDataset(records, box_margin=box_margin or spec.crop_margin, **common)
