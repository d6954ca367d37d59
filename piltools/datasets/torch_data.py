"""torch Datasets: records -> augmented tensors, heatmap targets and metadata.

:class:`PoseDataset` (single person; LIP, MPII, PASCAL persons) returns::

    image        float32 (3, S, S)     RGB, pixel/255 - 0.5
    heatmaps     float32 (K', S/s, S/s) piltools.targets.gaussian_heatmaps (K' = K [+1 background])
    joint_mask   float32 (K,)          1 = annotated and inside the input
    joints       float32 (K, 3)        input coordinates x, y, valid (NaN where missing)
    occluded     bool (K,)
    parsing      int64 (S, S)          ids; 255 = ignore (everywhere when no labels)
    has_parsing  bool tensor ()
    meta         name (str), index (int), affine float32 (2, 3) original -> input pixels,
                 orig_joints float32 (K, 3) as annotated, head_box float32 (4,) (NaN if none),
                 center float32 (2,), scale float32 (), flip bool tensor ()

With a flip, ``joints[k]`` is ``orig_joints[flip_perm[k]]`` moved by ``affine``.
:class:`MultiPersonDataset` (PASCAL) returns the same keys except ``joints`` /
``occluded``, plus ``people_joints`` (MAX_PEOPLE, K, 3) (padding rows all
missing), ``num_people``, ``offsets`` (2K, h, w) and ``offset_mask`` (K, h, w),
see its docstring. Both collate with torch's default collate.

Each sample's augmentation is drawn from :func:`transforms.sample_rng` (seed,
epoch, index), so it is the same whichever DataLoader worker loads it; call
:meth:`set_epoch` before each epoch (the new value reaches the workers because
they are re-created per epoch unless ``persistent_workers=True``).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from piltools.datasets.errors import CorruptImageError, DatasetError, SizeMismatchError
from piltools.datasets.imageio import read_label_map, read_rgb_image
from piltools.datasets.records import PoseRecord, person_center_scale
from piltools.datasets.transforms import Augmented, augment, get_preset, normalize, sample_params, sample_rng
from piltools.datasets.specs import spec_for_joints
from piltools.errors import InputError
from piltools.joints import IGNORE_LABEL, NUM_LIP_PARSING, NUM_PASCAL_PARTS
from piltools.targets import gaussian_heatmaps

MAX_PEOPLE = 16
#: Radius (input pixels) around a joint where multi-person offsets are supervised (``data.offset_radius``).
OFFSET_RADIUS = 14.0


class _AugmentedDataset(Dataset):
    """Shared reading and augmentation of :class:`PoseDataset` and :class:`MultiPersonDataset`."""

    def __init__(
        self,
        records: Sequence[PoseRecord],
        *,
        input_size: int,
        stride: int,
        preset: str,
        sigma: float | None,
        convention: str,
        background: bool,
        num_parsing: int,
        flip_perm: Sequence[int] | None,
        parsing_flip_perm: Sequence[int] | None,
        seed: int,
        box_margin: float,
    ) -> None:
        if not records:
            raise DatasetError("a dataset needs at least one record")
        if input_size % stride:
            raise ValueError(f"input_size {input_size} is not a multiple of stride {stride}")
        self.records = list(records)
        self.num_joints = self.records[0].num_joints
        self.input_size = int(input_size)
        self.stride = int(stride)
        self.preset_name = preset
        self.preset = get_preset(preset)
        self.sigma = sigma
        self.convention = convention
        self.background = bool(background)
        self.num_parsing = int(num_parsing)
        if flip_perm is None or parsing_flip_perm is None:
            spec = spec_for_joints(self.num_joints)
            if parsing_flip_perm is None and spec.num_parsing != self.num_parsing:
                raise InputError(f"no default parsing flip permutation for {self.num_parsing} classes with "
                                 f"{self.num_joints} joints ({spec.kind} has {spec.num_parsing}); "
                                 "pass parsing_flip_perm")
            flip_perm = spec.joint_flip_perm if flip_perm is None else flip_perm
            parsing_flip_perm = spec.parsing_flip_perm if parsing_flip_perm is None else parsing_flip_perm
        self.flip_perm = list(flip_perm)
        self.parsing_flip_perm = list(parsing_flip_perm)
        self.seed = int(seed)
        self.box_margin = float(box_margin)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentations the next samples use."""
        self.epoch = int(epoch)

    @property
    def heatmap_size(self) -> int:
        return self.input_size // self.stride

    def _read(self, record: PoseRecord) -> tuple[np.ndarray, np.ndarray | None]:
        image = read_rgb_image(record.image_path)
        if record.parsing_path is None:
            return image, None
        parsing = read_label_map(record.parsing_path)
        if parsing.shape != image.shape[:2]:
            raise SizeMismatchError(f"{record.source or record.name}: parsing map {record.parsing_path} "
                                    f"is {parsing.shape} (H, W) but image {record.image_path} is "
                                    f"{image.shape[:2]}")
        bad = (parsing >= self.num_parsing) & (parsing != IGNORE_LABEL)
        if bad.any():
            raise CorruptImageError(f"label map {record.parsing_path} holds ids "
                                    f"{sorted(np.unique(parsing[bad]).tolist())}; expected 0-"
                                    f"{self.num_parsing - 1} or {IGNORE_LABEL} (ignore)")
        return image, parsing

    def _augment(self, index: int, record: PoseRecord, image: np.ndarray, parsing: np.ndarray | None,
                 joints: np.ndarray, occluded: np.ndarray) -> tuple[Augmented, np.ndarray, float]:
        """Augment one sample; returns (result, centre, scale) of the crop."""
        if record.center is None or record.scale is None:
            center, scale = person_center_scale(joints=record.joints, parsing=parsing,
                                                image_hw=image.shape[:2])
        else:
            center, scale = np.asarray(record.center, dtype=np.float64), float(record.scale)
        params = sample_params(self.preset, sample_rng(self.seed, self.epoch, index), self.input_size)
        aug = augment(image=image, parsing=parsing, joints=joints, occluded=occluded, center=center,
                      scale=scale, input_size=self.input_size, params=params, flip_perm=self.flip_perm,
                      parsing_flip_perm=self.parsing_flip_perm, box_margin=self.box_margin)
        return aug, center, scale

    def _heatmaps(self, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gaussian_heatmaps(joints, (self.heatmap_size, self.heatmap_size), self.stride,
                                 sigma=self.sigma, convention=self.convention,  # type: ignore[arg-type]
                                 background=self.background)

    def _common(self, index: int, record: PoseRecord, aug: Augmented, center: np.ndarray,
                scale: float) -> dict[str, Any]:
        if aug.parsing is None:
            parsing = torch.full((self.input_size, self.input_size), IGNORE_LABEL, dtype=torch.int64)
        else:
            parsing = torch.from_numpy(aug.parsing.astype(np.int64))
        head_box = record.head_box if record.head_box is not None else np.full(4, np.nan)
        return {
            "image": normalize(aug.image),
            "parsing": parsing,
            "has_parsing": torch.tensor(aug.parsing is not None),
            "meta": {
                "name": record.name,
                "index": index,
                "affine": torch.from_numpy(aug.affine.astype(np.float32)),
                "head_box": torch.from_numpy(np.asarray(head_box, dtype=np.float32)),
                "center": torch.from_numpy(np.asarray(center, dtype=np.float32)),
                "scale": torch.tensor(float(scale), dtype=torch.float32),
                "flip": torch.tensor(bool(aug.flip)),
            },
        }


class PoseDataset(_AugmentedDataset):
    """Single-person samples (module docstring lists the returned dict).

    Args:
        records: loader records (``load_lip``, ``load_mpii``, ``pascal.person_records``).
        input_size: square input side S.
        stride: input pixels per heatmap cell (8 VGG, 4 hourglass).
        preset: augmentation preset: ``lip``, ``pascal``, ``mpii`` or ``eval``.
        sigma: heatmap Gaussian std (None: the convention's default).
        convention: heatmap convention, ``reference`` or ``newell``.
        background: append a background heatmap channel.
        num_parsing: number of parsing classes (20 LIP, 7 PASCAL); ids above are an error.
        flip_perm: left/right joint permutation (None: that of the dataset spec with this
            joint count, :func:`piltools.datasets.specs.spec_for_joints`).
        parsing_flip_perm: left/right parsing id permutation (None: that spec's; then
            ``num_parsing`` must be the spec's).
        seed: augmentation seed.
        box_margin: crop side = 200 * scale * box_margin (before the augmentation zoom).
    """

    def __init__(
        self,
        records: Sequence[PoseRecord],
        *,
        input_size: int = 256,
        stride: int = 4,
        preset: str = "eval",
        sigma: float | None = None,
        convention: str = "reference",
        background: bool = False,
        num_parsing: int = NUM_LIP_PARSING,
        flip_perm: Sequence[int] | None = None,
        parsing_flip_perm: Sequence[int] | None = None,
        seed: int = 0,
        box_margin: float = 1.25,
    ) -> None:
        super().__init__(records, input_size=input_size, stride=stride, preset=preset, sigma=sigma,
                         convention=convention, background=background, num_parsing=num_parsing,
                         flip_perm=flip_perm, parsing_flip_perm=parsing_flip_perm, seed=seed,
                         box_margin=box_margin)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        image, parsing = self._read(record)
        aug, center, scale = self._augment(index, record, image, parsing, record.joints, record.occluded)
        heatmaps, mask = self._heatmaps(aug.joints)
        sample = self._common(index, record, aug, center, scale)
        sample.update({
            "heatmaps": torch.from_numpy(heatmaps),
            "joint_mask": torch.from_numpy(mask),
            "joints": torch.from_numpy(aug.joints.astype(np.float32)),
            "occluded": torch.from_numpy(aug.occluded),
        })
        sample["meta"]["orig_joints"] = torch.from_numpy(record.joints.astype(np.float32))
        return sample


class MultiPersonDataset(_AugmentedDataset):
    """Multi-person samples (PASCAL): targets of every person of the image.

    Returned, besides the common keys (module docstring):

    - ``heatmaps`` (K', h, w): per-joint maximum over people of their Gaussians.
    - ``joint_mask`` (K,): all ones: every person of the image is annotated, so a
      joint type nobody shows has an all-zero target that is still supervised.
    - ``people_joints`` (max_people, K, 3) input coordinates, padding rows missing;
      ``people_occluded`` (max_people, K) bool; ``num_people`` int64 ().
    - ``offsets`` (2K, h, w) float32: channels (2k, 2k+1) = (dx, dy) from heatmap
      cell centre to the centroid of the person owning joint k there, in input
      pixels divided by ``offset_norm`` (= input size, so values are about in
      [-1, 1]; multiply by ``sample["offset_norm"]`` for pixels). Defined within
      ``offset_radius`` input pixels of each visible joint; where two people's
      joints k compete, the nearer joint wins. The centroid is the mean of the
      person's annotated joints mapped by the affine (including joints that fall
      outside the crop, so truncation does not move it).
    - ``offset_mask`` (K, h, w) float32: 1 where ``offsets`` is defined.

    Args:
        records: image records from ``load_pascal``.
        input_size, stride, preset, sigma, convention, background, num_parsing, flip_perm,
            parsing_flip_perm, seed: as :class:`PoseDataset`.
        box_margin: crop side = 200 * scale * box_margin; PASCAL records describe the
            whole image, so 1.0 fits the image to the input.
        max_people: rows of ``people_joints``; an image with more people is an error.
        offset_radius: radius (input pixels) around a joint where offsets are supervised.
    """

    def __init__(
        self,
        records: Sequence[PoseRecord],
        *,
        input_size: int = 256,
        stride: int = 4,
        preset: str = "eval",
        sigma: float | None = None,
        convention: str = "reference",
        background: bool = False,
        num_parsing: int = NUM_PASCAL_PARTS,
        flip_perm: Sequence[int] | None = None,
        parsing_flip_perm: Sequence[int] | None = None,
        seed: int = 0,
        box_margin: float = 1.0,
        max_people: int = MAX_PEOPLE,
        offset_radius: float = OFFSET_RADIUS,
    ) -> None:
        super().__init__(records, input_size=input_size, stride=stride, preset=preset, sigma=sigma,
                         convention=convention, background=background, num_parsing=num_parsing,
                         flip_perm=flip_perm, parsing_flip_perm=parsing_flip_perm, seed=seed,
                         box_margin=box_margin)
        self.max_people = int(max_people)
        self.offset_radius = float(offset_radius)
        for record in self.records:
            if len(record.people) > self.max_people:
                raise DatasetError(f"{record.source or record.name}: {len(record.people)} people, more "
                                   f"than max_people={self.max_people}; raise max_people")

    def _offsets(self, people: list[np.ndarray], centroids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        size, k_num = self.heatmap_size, self.num_joints
        cells = np.arange(size) * self.stride + self.stride / 2 - 0.5  # cell centres, input px
        gx, gy = np.meshgrid(cells, cells)  # (h, w) each
        offsets = np.zeros((2 * k_num, size, size), dtype=np.float32)
        mask = np.zeros((k_num, size, size), dtype=np.float32)
        best = np.full((k_num, size, size), np.inf)
        for joints, centroid in zip(people, centroids):
            for k in np.flatnonzero(joints[:, 2] > 0):
                d2 = (gx - joints[k, 0]) ** 2 + (gy - joints[k, 1]) ** 2  # (h, w)
                win = (d2 <= self.offset_radius ** 2) & (d2 < best[k])
                best[k][win] = d2[win]
                mask[k][win] = 1.0
                offsets[2 * k][win] = (centroid[0] - gx[win]) / self.input_size
                offsets[2 * k + 1][win] = (centroid[1] - gy[win]) / self.input_size
        return offsets, mask

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        image, parsing = self._read(record)
        k_num = self.num_joints
        n_people = len(record.people)
        stacked = np.zeros((n_people, k_num, 3))  # (P, K, 3) original joints
        stacked_occ = np.zeros((n_people, k_num), dtype=bool)
        for p_index, person in enumerate(record.people):
            stacked[p_index] = person.joints
            stacked_occ[p_index] = person.occluded
        aug, center, scale = self._augment(index, record, image, parsing, stacked, stacked_occ)
        people = list(aug.joints)  # P x (K, 3) input coordinates
        centroids = []
        for person in record.people:
            valid = person.joints[:, 2] > 0
            moved = person.joints[valid, :2] @ aug.affine[:, :2].T + aug.affine[:, 2]  # (n, 2)
            centroids.append(moved.mean(axis=0) if len(moved) else np.full(2, np.nan))
        hm_list = [self._heatmaps(j)[0] for j in people]
        heatmaps = (np.max(np.stack(hm_list), axis=0) if hm_list
                    else self._heatmaps(np.zeros((k_num, 3)))[0])
        if self.background and hm_list:
            heatmaps[-1] = 1.0 - heatmaps[:k_num].max(axis=0)
        offsets, offset_mask = self._offsets(people, centroids)
        people_joints = np.full((self.max_people, k_num, 3), np.nan, dtype=np.float32)
        people_joints[:, :, 2] = 0.0
        people_occ = np.zeros((self.max_people, k_num), dtype=bool)
        orig = people_joints.copy()
        people_joints[:n_people] = aug.joints
        people_occ[:n_people] = aug.occluded
        orig[:n_people] = stacked
        sample = self._common(index, record, aug, center, scale)
        sample.update({
            "heatmaps": torch.from_numpy(heatmaps.astype(np.float32)),
            "joint_mask": torch.ones(k_num, dtype=torch.float32),
            "people_joints": torch.from_numpy(people_joints),
            "people_occluded": torch.from_numpy(people_occ),
            "num_people": torch.tensor(n_people, dtype=torch.int64),
            "offsets": torch.from_numpy(offsets),
            "offset_mask": torch.from_numpy(offset_mask),
            "offset_norm": torch.tensor(float(self.input_size), dtype=torch.float32),
        })
        sample["meta"]["orig_joints"] = torch.from_numpy(orig)
        return sample

