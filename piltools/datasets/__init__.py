"""Datasets: real-format loaders (LIP, MPII, PASCAL-Person-Part), augmentation, torch datasets.

Loaders turn a dataset root into a list of :class:`~piltools.datasets.records.PoseRecord`
(no pixels read); :class:`PoseDataset` / :class:`MultiPersonDataset` read, augment
and build targets per sample. The synthetic datasets (``piltools.datasets.synthetic``)
are written in the same on-disk layouts and read by the same loaders.

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
from piltools.datasets.torch_data import MultiPersonDataset, PoseDataset
from piltools.joints import NUM_LIP_PARSING, NUM_PASCAL_PARTS

DATASET_KINDS = ("lip", "mpii", "pascal")

__all__ = [
    "CorruptImageError", "DatasetError", "DatasetNotFoundError", "MalformedAnnotationError",
    "SizeMismatchError", "PersonAnnotation", "PoseRecord", "PoseDataset", "MultiPersonDataset",
    "load_lip", "load_mpii", "read_mpii_mat", "load_pascal", "person_records", "build_dataset",
    "DATASET_KINDS",
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
    mat_path: str | Path | None = None,
    verify: bool = False,
) -> PoseDataset | MultiPersonDataset:
    """Load a split of a dataset and wrap it in the matching torch dataset.

    Args:
        kind: ``"lip"``, ``"mpii"`` or ``"pascal"``.
        root: dataset root in the layout the loader documents.
        split: ``train``/``val`` (LIP, PASCAL) or ``train``/``valid`` (MPII; ``val`` accepted).
        train: True selects the kind's paper augmentation preset, False the ``eval`` preset.
        input_size: square input side.
        stride: input pixels per heatmap cell (8 VGG, 4 hourglass).
        sigma: heatmap Gaussian std (None: the convention's default).
        convention: heatmap convention, ``reference`` or ``newell``.
        background: append a background heatmap channel.
        seed: augmentation seed.
        preset: override the augmentation preset name.
        box_margin: override the crop margin (default 1.25 single person, 1.0 multi-person).
        multi_person: PASCAL only: whole images with all people (True) or one sample per person.
        mat_path: MPII only: the official annotation .mat for head boxes.
        verify: LIP/PASCAL: check every file's header at load time.
    """
    common: dict[str, Any] = dict(input_size=input_size, stride=stride, sigma=sigma,
                                  convention=convention, background=background, seed=seed)
    if kind == "lip":
        records = load_lip(root, split, verify=verify)
        return PoseDataset(records, preset=preset or ("lip" if train else "eval"),
                           num_parsing=NUM_LIP_PARSING, box_margin=box_margin or 1.25, **common)
    if kind == "mpii":
        records = load_mpii(root, split, mat_path=mat_path)
        return PoseDataset(records, preset=preset or ("mpii" if train else "eval"),
                           num_parsing=NUM_LIP_PARSING, box_margin=box_margin or 1.25, **common)
    if kind == "pascal":
        records = load_pascal(root, split, verify=verify)
        chosen = preset or ("pascal" if train else "eval")
        if multi_person:
            return MultiPersonDataset(records, preset=chosen, num_parsing=NUM_PASCAL_PARTS,
                                      box_margin=box_margin or 1.0, **common)
        return PoseDataset(person_records(records), preset=chosen, num_parsing=NUM_PASCAL_PARTS,
                           box_margin=box_margin or 1.25, **common)
    raise ValueError(f"unknown dataset kind {kind!r}; expected one of {DATASET_KINDS}")
