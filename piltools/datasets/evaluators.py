"""Dataset evaluators: collect a split's predictions batch by batch, then score them once.

Every evaluator has the same life cycle (the shape of detectron2's
``DatasetEvaluator``): :meth:`reset`, :meth:`process` once per batch of
predictions, :meth:`evaluate` -> a dict holding the headline number ``"pck"``
(PCK / PCKh / mAP, whatever the dataset's paper table reports) and the
paper-style table. They are built by :attr:`DatasetSpec.evaluator
<piltools.datasets.specs.DatasetSpec>` with the same keywords for every
dataset, ``(root=..., split=..., out_dir=...)``, and wrap the pure functions of
:mod:`piltools.metrics`.

- :class:`LipPckhEvaluator`: single person, LIP PCKh table
  (:func:`piltools.metrics.lip_pckh`) matched by image name against the
  split's ground-truth CSV.
- :class:`MpiiPckhEvaluator`: single person, MPII PCKh table with head boxes
  (:func:`piltools.metrics.mpii_pckh`).
- :class:`MultiPersonApEvaluator`: multi-person mAP
  (:func:`piltools.metrics.multi_person_ap`, reference distance from the
  person boxes, :func:`piltools.metrics.box_reference_distance`).

Coordinates are ORIGINAL image pixels (docs/conventions.md, Pixels).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from piltools.datasets.lip import lip_paths
from piltools.errors import InputError
from piltools.lipcsv import LipRow, read_lip_csv, write_lip_csv
from piltools.metrics import box_reference_distance, lip_pckh, mpii_auc, mpii_pckh, multi_person_ap


class _SinglePersonEvaluator:
    """Collects ``(names, pred, gt, head_box)`` batches of single-person predictions."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every processed batch."""
        self._names: list[str] = []
        self._pred: list[np.ndarray] = []
        self._gt: list[np.ndarray] = []
        self._head_box: list[np.ndarray] = []

    def process(self, names: Sequence[str], pred: np.ndarray, gt: np.ndarray, head_box: np.ndarray) -> None:
        """Add one batch.

        Args:
            names: N image names.
            pred: ``(N, K, 3)`` predicted x, y, score in original pixels.
            gt: ``(N, K, 3)`` annotated x, y, valid in original pixels.
            head_box: ``(N, 4)`` head boxes x1, y1, x2, y2 (NaN where none).
        """
        self._names.extend(names)
        self._pred.append(np.asarray(pred, dtype=np.float64))
        self._gt.append(np.asarray(gt, dtype=np.float64))
        self._head_box.append(np.asarray(head_box, dtype=np.float64))

    def _arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        if not self._pred:
            raise InputError(f"{type(self).__name__}: no predictions were processed; call process() first")
        return self._names, np.concatenate(self._pred), np.concatenate(self._gt), np.concatenate(self._head_box)


class LipPckhEvaluator(_SinglePersonEvaluator):
    """LIP PCKh, predictions matched to the split's ground-truth CSV by image name.

    Args:
        root: LIP dataset root (the ground truth is the split's pose CSV, :func:`lip_paths`).
        split: ``"val"`` or ``"train"``.
        out_dir: write the predictions as ``predictions_<split>.csv`` (LIP format) here and score
            what was written (the file's rounding included); None = score the arrays, write nothing.
    """

    def __init__(self, *, root: str | Path, split: str = "val", out_dir: Path | None = None) -> None:
        self.gt_csv = lip_paths(root, split)[2]
        self.csv_path = None if out_dir is None else Path(out_dir) / f"predictions_{split}.csv"
        super().__init__()

    def evaluate(self) -> dict[str, Any]:
        """``{"predictions_csv" (when written), "lip_pckh": table, "pck": table["PCK"]}``."""
        names, pred_arr, _, _ = self._arrays()
        result: dict[str, Any] = {}
        pred = {n: p[:, :2] for n, p in zip(names, pred_arr)}
        if self.csv_path is not None:
            write_lip_csv(self.csv_path, [LipRow.from_coords(n, p) for n, p in pred.items()])
            pred = {n: row.joints[:, :2] for n, row in read_lip_csv(self.csv_path).items()}
            result["predictions_csv"] = self.csv_path.name
        gt_rows = read_lip_csv(self.gt_csv)
        missing = [n for n in pred if n not in gt_rows]
        if missing:
            raise InputError(f"{self.gt_csv}: no ground truth for predicted images {missing[:5]}")
        gt = {n: gt_rows[n].joints for n in pred}  # the evaluated subset, matched by name
        table = lip_pckh(pred, gt)
        result["lip_pckh"] = table
        result["pck"] = table["PCK"]
        return result


class MpiiPckhEvaluator(_SinglePersonEvaluator):
    """MPII PCKh with head boxes (pelvis and thorax not scored).

    Args:
        root: MPII dataset root (named in the error when no entry has a head box).
        split: the evaluated split (kept for the same keywords as every evaluator).
        out_dir: unused: MPII scoring writes no file.
    """

    def __init__(self, *, root: str | Path, split: str = "val", out_dir: Path | None = None) -> None:
        self.root = str(root)
        self.split = split
        super().__init__()

    def evaluate(self) -> dict[str, Any]:
        """``{"mpii_pckh": table, "pck": table["Total"], "auc": the official AUC of the PCKh curve over the
        thresholds 0 .. 0.5}`` (:func:`~piltools.metrics.mpii_pckh`, :func:`~piltools.metrics.mpii_auc`)."""
        _, pred, gt, head_box = self._arrays()
        if not np.isfinite(head_box).all(axis=1).any():
            raise InputError(f"{self.root}: the MPII {self.split} entries have no head boxes, so PCKh is "
                             "undefined; give each entry a 'head_box' or set data.mpii_mat to the official .mat")
        table = mpii_pckh(pred[..., :2], gt, head_box)
        return {"mpii_pckh": table, "pck": table["Total"], "auc": mpii_auc(pred[..., :2], gt, head_box)}


class MultiPersonApEvaluator:
    """Multi-person joint mAP (paper Sec. 4.3, Table 5).

    Args:
        root: dataset root (kept for the same keywords as every evaluator).
        split: the evaluated split.
        out_dir: unused: mAP scoring writes no file.
    """

    def __init__(self, *, root: str | Path, split: str = "val", out_dir: Path | None = None) -> None:
        self.root = str(root)
        self.split = split
        self.reset()

    def reset(self) -> None:
        """Forget every processed image."""
        self._preds: list[np.ndarray] = []
        self._gts: list[np.ndarray] = []
        self._refs: list[np.ndarray] = []

    def process(self, people: Sequence[np.ndarray], gt_people: Sequence[np.ndarray],
                boxes: Sequence[np.ndarray]) -> None:
        """Add one batch of images.

        Args:
            people: per image ``(P_i, K, 3)`` predicted x, y, score in original pixels.
            gt_people: per image ``(G_i, K, 3)`` annotated x, y, valid.
            boxes: per image ``(G_i, 4)`` person boxes x1, y1, x2, y2 (reference distance).
        """
        if not len(people) == len(gt_people) == len(boxes):
            raise InputError(f"MultiPersonApEvaluator.process: {len(people)} predictions, {len(gt_people)} "
                             f"ground truths and {len(boxes)} box sets; expected one of each per image")
        for p, g, b in zip(people, gt_people, boxes):
            self._preds.append(p)
            self._gts.append(g)
            self._refs.append(box_reference_distance(np.asarray(b, dtype=np.float64)))

    def evaluate(self) -> dict[str, Any]:
        """``{"mAP", "AP": per joint, "n_images", "n_predicted_people", "pck": mAP}``."""
        scores = multi_person_ap(self._preds, self._gts, self._refs)
        return {"mAP": scores["mAP"], "AP": scores["AP"], "n_images": len(self._preds),
                "n_predicted_people": int(sum(len(p) for p in self._preds)), "pck": scores["mAP"]}


Evaluator = LipPckhEvaluator | MpiiPckhEvaluator | MultiPersonApEvaluator
