"""One :class:`DatasetSpec` per dataset: everything that differs between LIP, MPII and PASCAL-Person-Part.

Code that needs to know something about a dataset kind asks its spec
(``get_spec(cfg.data.kind).num_joints``, ``.joint_flip_perm``, ``.multi_person``,
``.evaluator(...)``) instead of comparing the kind with a string. The
registry :data:`DATASETS` is a plain dict; :data:`DATASET_KINDS` is its keys.

    >>> spec = get_spec("pascal")
    >>> spec.num_joints, spec.multi_person, spec.default_root
    (14, True, 'data/pascal_person_part')

Joint sides (``"left"``, ``"right"``, ``"centre"``) come from the joint names
(``l_*`` / ``r_*``), as MMPose's dataset infos give every keypoint a side; they
pick the drawing colours (:data:`SIDE_COLOURS`). MPII has no parsing labels of
its own: its models keep LIP's 20-class parsing head (the transferred PIL of
paper Sec. 4.4 is trained on LIP), so its spec lists LIP's labels with
``has_parsing_labels=False``.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from piltools.datasets.evaluators import Evaluator, LipPckhEvaluator, MpiiPckhEvaluator, MultiPersonApEvaluator
from piltools.datasets.lip import load_lip
from piltools.datasets.mpii import load_mpii
from piltools.datasets.pascal import load_pascal
from piltools.datasets.records import PoseRecord
from piltools.errors import InputError
from piltools.joints import (
    JOINT_FLIP_PERM,
    JOINT_NAMES,
    LIP_PARSING_FLIP_PERM,
    LIP_PARSING_LABELS,
    PASCAL_JOINT_FLIP_PERM,
    PASCAL_JOINT_NAMES,
    PASCAL_PART_LABELS,
    PASCAL_SKELETON,
    SKELETON,
    flip_permutation,
)

Colour = tuple[int, int, int]

#: RGB drawing colour of a joint (and of a limb whose two joints share the side) by body side.
SIDE_COLOURS: dict[str, Colour] = {"left": (40, 220, 40), "right": (230, 40, 230), "centre": (255, 220, 0)}


def joint_side(name: str) -> str:
    """``"left"`` for ``l_*`` names, ``"right"`` for ``r_*``, else ``"centre"``."""
    return {"l_": "left", "r_": "right"}.get(name[:2], "centre")


def voc_palette(num: int = 256) -> tuple[Colour, ...]:
    """The PASCAL VOC colour map: entry i spreads the bits of i over R, G, B (high bits first)."""
    palette = []
    for i in range(num):
        value, r, g, b = i, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette.append((r, g, b))
    return tuple(palette)


#: LIP parsing colours, hand-picked so that left/right parts differ clearly.
LIP_PALETTE: tuple[Colour, ...] = (
    (0, 0, 0),        # 0 background
    (128, 0, 0),      # 1 hat
    (255, 0, 0),      # 2 hair
    (0, 85, 0),       # 3 glove
    (170, 0, 51),     # 4 sunglasses
    (255, 85, 0),     # 5 upper clothes
    (0, 0, 85),       # 6 dress
    (0, 119, 221),    # 7 coat
    (85, 85, 0),      # 8 socks
    (0, 85, 85),      # 9 pants
    (85, 51, 0),      # 10 jumpsuits
    (52, 86, 128),    # 11 scarf
    (0, 128, 0),      # 12 skirt
    (0, 0, 255),      # 13 face
    (51, 170, 221),   # 14 left arm
    (0, 255, 255),    # 15 right arm
    (85, 255, 170),   # 16 left leg
    (170, 255, 85),   # 17 right leg
    (255, 255, 0),    # 18 left shoe
    (255, 170, 0),    # 19 right shoe
)
#: The standard PASCAL VOC palette (the one the part PNGs carry); its first 7 entries colour the part ids.
VOC_PALETTE: tuple[Colour, ...] = voc_palette(256)


def _load_lip(root: str | Path, split: str, *, verify: bool = False,
              mat_path: str | Path | None = None) -> list[PoseRecord]:
    _no_mat("lip", mat_path)
    return load_lip(root, split, verify=verify)


def _load_mpii(root: str | Path, split: str, *, verify: bool = False,
               mat_path: str | Path | None = None) -> list[PoseRecord]:
    return load_mpii(root, split, mat_path=mat_path)  # the JSON entries have no per-file check to verify


def _load_pascal(root: str | Path, split: str, *, verify: bool = False,
                 mat_path: str | Path | None = None) -> list[PoseRecord]:
    _no_mat("pascal", mat_path)
    return load_pascal(root, split, verify=verify)


def _no_mat(kind: str, mat_path: str | Path | None) -> None:
    if mat_path is not None:
        raise InputError(f"mat_path {mat_path}: only MPII reads head boxes from an annotation .mat, "
                         f"not {kind}; leave it unset (data.mpii_mat: null)")


@dataclass(frozen=True)
class DatasetSpec:
    """What piltools knows about one dataset.

    Args:
        kind: registry key (``"lip"``, ``"mpii"``, ``"pascal"``).
        joint_names: joints in annotation order (the heatmap channel order).
        joint_flip_perm: ``perm[k]`` = the joint that joint ``k`` becomes in a mirrored image.
        parsing_labels: parsing class names of the model's parsing head, id order.
        parsing_flip_perm: the same for parsing ids (identity when no label has a side).
        has_parsing_labels: the dataset has parsing maps to train and score on.
        skeleton: limbs as pairs of joint indices.
        parsing_palette: RGB colour per parsing id.
        loader: ``loader(root, split, *, verify=False, mat_path=None) -> list[PoseRecord]``.
        augment: name of the training augmentation preset (:data:`piltools.datasets.transforms.PRESETS`).
        default_root: where the real data lives, relative to the project root.
        head_box_file: real data only: the annotation file with the head boxes PCKh needs, or None.
        multi_person: samples are whole images with every person (offset head, mAP).
        crop_margin: default crop side = 200 x scale x margin (multi-person records describe the image).
        synthetic_kind: name of the synthetic generator's layout for this dataset.
        evaluator: ``evaluator(root=..., split=..., out_dir=...)`` builds the dataset's evaluator.
    """

    kind: str
    joint_names: tuple[str, ...]
    joint_flip_perm: tuple[int, ...]
    parsing_labels: tuple[str, ...]
    parsing_flip_perm: tuple[int, ...]
    has_parsing_labels: bool
    skeleton: tuple[tuple[int, int], ...]
    parsing_palette: tuple[Colour, ...]
    loader: Callable[..., list[PoseRecord]]
    augment: str
    default_root: str
    head_box_file: str | None
    multi_person: bool
    crop_margin: float
    synthetic_kind: str
    evaluator: Callable[..., Evaluator]

    @property
    def num_joints(self) -> int:
        """K, the number of joints (heatmap channels without background)."""
        return len(self.joint_names)

    @property
    def num_parsing(self) -> int:
        """Parsing classes of the model's parsing head."""
        return len(self.parsing_labels)

    @property
    def joint_sides(self) -> tuple[str, ...]:
        """``"left"`` / ``"right"`` / ``"centre"`` per joint."""
        return tuple(joint_side(n) for n in self.joint_names)

    @property
    def joint_colours(self) -> tuple[Colour, ...]:
        """RGB drawing colour per joint (by side)."""
        return tuple(SIDE_COLOURS[s] for s in self.joint_sides)


#: Crop margin of single-person samples (LIP, MPII, and PASCAL people cut out one by one).
PERSON_CROP_MARGIN = 1.25

DATASETS: dict[str, DatasetSpec] = {
    "lip": DatasetSpec(
        kind="lip", joint_names=JOINT_NAMES, joint_flip_perm=tuple(JOINT_FLIP_PERM),
        parsing_labels=LIP_PARSING_LABELS, parsing_flip_perm=tuple(LIP_PARSING_FLIP_PERM),
        has_parsing_labels=True, skeleton=SKELETON, parsing_palette=LIP_PALETTE, loader=_load_lip,
        augment="lip", default_root="data/lip", head_box_file=None, multi_person=False,
        crop_margin=PERSON_CROP_MARGIN, synthetic_kind="lip", evaluator=LipPckhEvaluator,
    ),
    "mpii": DatasetSpec(
        kind="mpii", joint_names=JOINT_NAMES, joint_flip_perm=tuple(JOINT_FLIP_PERM),
        parsing_labels=LIP_PARSING_LABELS, parsing_flip_perm=tuple(LIP_PARSING_FLIP_PERM),
        has_parsing_labels=False, skeleton=SKELETON, parsing_palette=LIP_PALETTE, loader=_load_mpii,
        augment="mpii", default_root="data/mpii", head_box_file="data/mpii/mpii_human_pose_v1_u12_1.mat",
        multi_person=False, crop_margin=PERSON_CROP_MARGIN, synthetic_kind="mpii", evaluator=MpiiPckhEvaluator,
    ),
    "pascal": DatasetSpec(
        kind="pascal", joint_names=PASCAL_JOINT_NAMES, joint_flip_perm=tuple(PASCAL_JOINT_FLIP_PERM),
        parsing_labels=PASCAL_PART_LABELS, parsing_flip_perm=tuple(flip_permutation(len(PASCAL_PART_LABELS), ())),
        has_parsing_labels=True, skeleton=PASCAL_SKELETON, parsing_palette=VOC_PALETTE[:len(PASCAL_PART_LABELS)],
        loader=_load_pascal, augment="pascal", default_root="data/pascal_person_part", head_box_file=None,
        multi_person=True, crop_margin=1.0, synthetic_kind="pascal", evaluator=MultiPersonApEvaluator,
    ),
}
DATASET_KINDS: tuple[str, ...] = tuple(DATASETS)


def get_spec(kind: str) -> DatasetSpec:
    """The spec of a dataset kind.

    Raises:
        InputError: an unknown kind; the message names the known ones (closest first).
    """
    if kind not in DATASETS:
        close = difflib.get_close_matches(str(kind), DATASET_KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(f"unknown dataset kind {kind!r}{hint}; known kinds: {', '.join(DATASET_KINDS)}")
    return DATASETS[kind]


def spec_for_joints(num_joints: int) -> DatasetSpec:
    """The first registered spec with ``num_joints`` joints (LIP for 16, PASCAL for 14).

    For code handed bare joint arrays (drawing, a dataset built without a flip
    permutation). Every spec with the same joint count shares joint names, so
    the choice does not matter.

    Raises:
        InputError: no dataset has that many joints.
    """
    for spec in DATASETS.values():
        if spec.num_joints == num_joints:
            return spec
    counts = sorted({f"{s.num_joints} ({s.kind})" for s in DATASETS.values()})
    raise InputError(f"no dataset has {num_joints} joints; expected {' or '.join(counts)}")
