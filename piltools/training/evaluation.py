"""Evaluation of a trained model on a validation split, in ORIGINAL image coordinates.

Predictions: final-stack heatmaps averaged over the configured scales and the
flip test (:func:`piltools.decoding.predict_heatmaps`), argmax with the
quarter-pixel shift (:func:`piltools.decoding.decode_heatmaps`), mapped back
through the inverse crop affine (:func:`piltools.decoding.to_original`).

Scoring is the dataset's evaluator (:attr:`DatasetSpec.evaluator
<piltools.datasets.specs.DatasetSpec>`, :mod:`piltools.datasets.evaluators`):
LIP PCKh matched by image name against the split's ground-truth CSV (a
LIP-format prediction CSV is written and scored when the evaluator has an
output folder), MPII PCKh with the head boxes.
- Parsing (models with a parsing branch, data with labels): mIoU and pixel
  accuracy from one confusion matrix over the split, measured in the network
  input crop (single scale, no flip). A parsing-only model
  (:class:`~piltools.models.parsing.ParsingOnlyModel`) gets this alone, with the
  IoU of each class named by the dataset's parsing labels
  (:func:`predict_parsing`, :func:`score_parsing`); no PCK.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from piltools.config import ExperimentConfig
from piltools.datasets.evaluators import LipPckhEvaluator, MpiiPckhEvaluator
from piltools.datasets.specs import get_spec
from piltools.decoding import decode_heatmaps, predict_heatmaps, to_original
from piltools.joints import IGNORE_LABEL
from piltools.metrics import confusion_matrix, parsing_scores
from piltools.training.builders import input_flip_perm, model_input


def size_multiple(model: nn.Module) -> int:
    """Input sides must be multiples of this: 64 for hourglass (stride 4 x 4 down-samplings), else the stride."""
    stride = int(model.stride)
    return 64 if stride == 4 else stride


@torch.no_grad()
def predict_split(model: nn.Module, loader: Any, cfg: ExperimentConfig, device: str, flip: bool,
                  scales: tuple[float, ...], with_parsing: bool) -> dict[str, Any]:
    """Predict every sample of ``loader``.

    Returns:
        ``{"names": [N], "pred": (N, K, 3) original-image x, y, score,
        "orig_joints": (N, K, 3), "head_box": (N, 4), "conf": (P, P) or None}``.
    """
    model.eval()
    num_joints = cfg.model.num_joints
    flip_perm = list(get_spec(cfg.data.kind).joint_flip_perm)
    names: list[str] = []
    preds, gts, boxes = [], [], []
    conf = None
    for batch in loader:
        images = batch["image"].to(device)
        if cfg.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        images = model_input(cfg, images, batch)
        hm = predict_heatmaps(model, images, flip_perm=flip_perm if flip else None,
                              scales=scales, size_multiple=size_multiple(model), input_flip_perm=input_flip_perm(cfg))
        coords = decode_heatmaps(hm, stride=model.stride, num_joints=num_joints).cpu()  # (N, K, 3) input px
        meta = batch["meta"]
        orig = to_original(coords[..., :2].double(), meta["affine"].double())  # (N, K, 2) original px
        preds.append(torch.cat([orig, coords[..., 2:].double()], dim=2).numpy())
        gts.append(meta["orig_joints"].double().numpy())
        boxes.append(meta["head_box"].double().numpy())
        names.extend(list(meta["name"]))
        if with_parsing and getattr(model, "has_parsing", False) and bool(batch["has_parsing"].any()):
            conf = _add_confusion(conf, model, images, batch, cfg.model.num_parsing)
    return {"names": names, "pred": np.concatenate(preds), "orig_joints": np.concatenate(gts),
            "head_box": np.concatenate(boxes), "conf": conf}


def _add_confusion(conf: np.ndarray | None, model: nn.Module, images: torch.Tensor, batch: dict[str, Any],
                   num_parsing: int) -> np.ndarray:
    """``conf`` plus the parsing confusion matrix of one batch (samples without labels ignored)."""
    label = model(images).parsing.argmax(dim=1).cpu().numpy()  # (N, H, W)
    target = batch["parsing"].numpy().copy()
    target[~batch["has_parsing"].numpy().astype(bool)] = IGNORE_LABEL
    c = confusion_matrix(label, target, num_classes=num_parsing, ignore=IGNORE_LABEL)
    return c if conf is None else conf + c


@torch.no_grad()
def predict_parsing(model: nn.Module, loader: Any, cfg: ExperimentConfig, device: str) -> dict[str, Any]:
    """Parsing predictions of every sample of ``loader`` (single scale, no flip), as one confusion matrix.

    Returns:
        ``{"n_images": N, "conf": (P, P) or None (no labelled sample)}``.
    """
    model.eval()
    conf = None
    n_images = 0
    for batch in loader:
        images = batch["image"].to(device)
        if cfg.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        n_images += images.shape[0]
        images = model_input(cfg, images, batch)
        if bool(batch["has_parsing"].any()):
            conf = _add_confusion(conf, model, images, batch, cfg.model.num_parsing)
    return {"n_images": n_images, "conf": conf}


def score_parsing(out: dict[str, Any], labels: tuple[str, ...]) -> dict[str, Any]:
    """Score what :func:`predict_parsing` returned.

    Args:
        out: predictions.
        labels: the parsing class names, id order (``get_spec(kind).parsing_labels``).

    Returns:
        ``{"n_images": N, "parsing": {"mIoU", "pixel_acc", "IoU": [per class], "IoU_by_class": {name: IoU}}}``
        (percent; a class absent from prediction and ground truth has IoU NaN; all NaN without labels).
    """
    conf = out["conf"] if out["conf"] is not None else np.zeros((len(labels), len(labels)))
    if conf.shape[0] != len(labels):
        raise ValueError(f"score_parsing: {conf.shape[0]} classes predicted but {len(labels)} labels named")
    scores = parsing_scores(conf)
    scores["IoU_by_class"] = dict(zip(labels, scores["IoU"]))
    return {"n_images": out["n_images"], "parsing": scores}


def score_predictions(out: dict[str, Any], evaluator: LipPckhEvaluator | MpiiPckhEvaluator) -> dict[str, Any]:
    """Score what :func:`predict_split` returned with a single-person evaluator.

    Args:
        out: predictions.
        evaluator: the dataset's evaluator (``get_spec(kind).evaluator(root=..., split=..., out_dir=...)``).

    Returns:
        ``{"n_images": N, **evaluator.evaluate()}`` (``"pck"`` and the dataset's table) with
        ``"parsing"`` (mIoU, pixel accuracy) where measured.
    """
    evaluator.reset()
    evaluator.process(out["names"], out["pred"], out["orig_joints"], out["head_box"])
    result: dict[str, Any] = {"n_images": len(out["names"]), **evaluator.evaluate()}
    if out.get("conf") is not None:
        result["parsing"] = parsing_scores(out["conf"])
    return result
