"""Evaluation of a trained model on a validation split, in ORIGINAL image coordinates.

Predictions: final-stack heatmaps averaged over the configured scales and the
flip test (:func:`piltools.decoding.predict_heatmaps`), argmax with the
quarter-pixel shift (:func:`piltools.decoding.decode_heatmaps`), mapped back
through the inverse crop affine (:func:`piltools.decoding.to_original`).

- LIP: a LIP-format prediction CSV (:func:`piltools.lipcsv.write_lip_csv`) is
  written and scored with :func:`piltools.metrics.lip_pckh` against the
  split's ground-truth CSV, matched by image name.
- MPII: :func:`piltools.metrics.mpii_pckh` with the head boxes.
- Parsing (models with a parsing branch, data with labels): mIoU and pixel
  accuracy from one confusion matrix over the split, measured in the network
  input crop (single scale, no flip).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from piltools.config import ExperimentConfig
from piltools.decoding import decode_heatmaps, predict_heatmaps, to_original
from piltools.joints import IGNORE_LABEL, JOINT_FLIP_PERM, PASCAL_JOINT_FLIP_PERM
from piltools.metrics import confusion_matrix, lip_pckh, mpii_pckh, parsing_scores


def flip_perm_for(kind: str) -> list[int]:
    """Joint flip permutation of a dataset kind."""
    return list(PASCAL_JOINT_FLIP_PERM) if kind == "pascal" else list(JOINT_FLIP_PERM)


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
    names: list[str] = []
    preds, gts, boxes = [], [], []
    conf = None
    for batch in loader:
        images = batch["image"].to(device)
        if cfg.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        hm = predict_heatmaps(model, images, flip_perm=flip_perm_for(cfg.data.kind) if flip else None,
                              scales=scales, size_multiple=size_multiple(model))
        coords = decode_heatmaps(hm, stride=model.stride, num_joints=num_joints).cpu()  # (N, K, 3) input px
        meta = batch["meta"]
        orig = to_original(coords[..., :2].double(), meta["affine"].double())  # (N, K, 2) original px
        preds.append(torch.cat([orig, coords[..., 2:].double()], dim=2).numpy())
        gts.append(meta["orig_joints"].double().numpy())
        boxes.append(meta["head_box"].double().numpy())
        names.extend(list(meta["name"]))
        if with_parsing and getattr(model, "has_parsing", False) and bool(batch["has_parsing"].any()):
            logits = model(images).parsing
            label = logits.argmax(dim=1).cpu().numpy()  # (N, H, W)
            target = batch["parsing"].numpy().copy()
            target[~batch["has_parsing"].numpy().astype(bool)] = IGNORE_LABEL
            c = confusion_matrix(label, target, num_classes=cfg.model.num_parsing, ignore=IGNORE_LABEL)
            conf = c if conf is None else conf + c
    return {"names": names, "pred": np.concatenate(preds), "orig_joints": np.concatenate(gts),
            "head_box": np.concatenate(boxes), "conf": conf}


def score_predictions(cfg: ExperimentConfig, out: dict[str, Any], gt_csv: Path | None = None,
                      csv_path: Path | None = None) -> dict[str, Any]:
    """Score what :func:`predict_split` returned.

    Args:
        cfg: the experiment config (dataset kind).
        out: predictions.
        gt_csv: LIP ground-truth CSV of the split (LIP only).
        csv_path: where to write the LIP-format prediction CSV (LIP only; None = do not write).

    Returns:
        ``{"pck": overall, "n_images": N, ...}`` with ``"lip_pckh"`` (LIP) or
        ``"mpii_pckh"`` (MPII) tables and ``"parsing"`` where measured.
    """
    result: dict[str, Any] = {"n_images": len(out["names"])}
    if cfg.data.kind == "lip":
        from piltools.lipcsv import LipRow, read_lip_csv, write_lip_csv

        if gt_csv is None:
            raise ValueError("score_predictions: LIP scoring needs the ground-truth CSV")
        pred = {n: p[:, :2] for n, p in zip(out["names"], out["pred"])}
        if csv_path is not None:
            write_lip_csv(csv_path, [LipRow.from_coords(n, p) for n, p in pred.items()])
            pred = {n: row.joints[:, :2] for n, row in read_lip_csv(csv_path).items()}  # score what was written
            result["predictions_csv"] = csv_path.name
        gt_rows = read_lip_csv(gt_csv)
        missing = [n for n in pred if n not in gt_rows]
        if missing:
            raise ValueError(f"{gt_csv}: no ground truth for predicted images {missing[:5]}")
        gt = {n: gt_rows[n].joints for n in pred}  # the evaluated subset, matched by name
        table = lip_pckh(pred, gt)
        result["lip_pckh"] = table
        result["pck"] = table["PCK"]
    elif cfg.data.kind == "mpii":
        if not np.isfinite(out["head_box"]).all(axis=1).any():
            raise ValueError(f"{cfg.data.root}: the MPII validation entries have no head boxes, so PCKh is "
                             "undefined; give each entry a 'head_box' or set data.mpii_mat to the official .mat")
        table = mpii_pckh(out["pred"][..., :2], out["orig_joints"], out["head_box"])
        result["mpii_pckh"] = table
        result["pck"] = table["Total"]
    else:
        raise ValueError(
            "single-person scoring of PASCAL-Person-Part is not defined; Table 5 experiments build the "
            "model with offset_head=True and are scored by multi-person mAP (piltools.training.multiperson)")
    if out.get("conf") is not None:
        result["parsing"] = parsing_scores(out["conf"])
    return result
