"""Which evaluation a run's model gets: the final evaluation, the per-epoch quick validation and the
Fig. 4 training accuracy, dispatched on the dataset's spec (single- or multi-person) and scored by its evaluator.
A parsing-only model (``model.parsing_only``) is scored on parsing alone: mIoU, pixel accuracy and per-class IoU
at the end, mIoU per epoch (no PCK).

The predictions and their scores themselves are computed by :mod:`piltools.training.evaluation`
and :mod:`piltools.training.multiperson`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from piltools.config import ExperimentConfig
from piltools.datasets.specs import get_spec
from piltools.decoding import decode_heatmaps
from piltools.metrics import pck_accuracy
from piltools.models.pil import ShuffledKernels
from piltools.runs import code_version, resolve_path
from piltools.training import distributed as D
from piltools.training import evaluation as E
from piltools.training import multiperson as MP
from piltools.training.builders import eval_loader


def final_eval(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, run_dir: Path,
               ctx: D.DistContext, quiet: bool) -> dict[str, Any]:
    """The final evaluation of a trained model (the config's flip test and scales) by its dataset's evaluator."""
    t0 = time.time()
    spec = get_spec(cfg.data.kind)
    if is_parsing_only(model):
        result = E.score_parsing(E.predict_parsing(model, eval_loader(cfg, val_set, ctx), cfg, ctx.device),
                                 spec.parsing_labels)
    elif spec.multi_person:
        result = multi_person_eval(cfg, model, val_set, ctx, flip=cfg.train.eval_flip)
    else:
        scored = ShuffledKernels(model) if cfg.train.eval_kernels == "shuffled" else model
        out = E.predict_split(scored, eval_loader(cfg, val_set, ctx), cfg, ctx.device, flip=cfg.train.eval_flip,
                              scales=tuple(cfg.train.eval_scales), with_parsing=True)
        evaluator = spec.evaluator(root=resolve_path(cfg.data.root), split="val", out_dir=run_dir)
        result = E.score_predictions(out, evaluator)
    result.update({
        "experiment": cfg.name, "table": cfg.table, "row": cfg.row, "scale": cfg.scale, "seed": cfg.seed,
        "run_id": run_dir.name, "model": cfg.model.name,
        # what the numbers were measured with: parsing is scored at one scale without flip
        "eval_flip": cfg.train.eval_flip and not is_parsing_only(model),
        "eval_scales": [1.0] if is_parsing_only(model) else list(cfg.train.eval_scales),
        "eval_kernels": cfg.train.eval_kernels,
        "seconds_eval": time.time() - t0,
        "code_version": code_version(),
    })
    if not quiet:
        score = (f"parsing mIoU {result['parsing']['mIoU']:.2f}" if is_parsing_only(model)
                 else f"PCK {result['pck']:.2f}")
        print(f"[piltools] {cfg.name} ({cfg.scale}, seed {cfg.seed}): {score} "
              f"on {result['n_images']} images -> {run_dir}", flush=True)
    return result


def is_parsing_only(model: nn.Module) -> bool:
    """Whether ``model`` is a parsing network alone (:class:`~piltools.models.parsing.ParsingOnlyModel`)."""
    return bool(getattr(model, "parsing_only", False))


def multi_person_eval(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, ctx: D.DistContext,
                      flip: bool) -> dict[str, Any]:
    """Multi-person mAP of a model with an offset head (NMS, grouping, scoring as the config says)."""
    if tuple(cfg.train.eval_scales) != (1.0,):
        raise NotImplementedError(f"{cfg.name}: multi-person evaluation supports eval_scales=(1.0,) only, "
                                  f"got {cfg.train.eval_scales}")
    base = val_set.dataset if isinstance(val_set, Subset) else val_set
    spec = get_spec(cfg.data.kind)
    evaluator = spec.evaluator(root=resolve_path(cfg.data.root), split="val", out_dir=None)
    return MP.evaluate_multi_person(model, eval_loader(cfg, val_set, ctx), base.records, cfg.model.num_joints,
                                    cfg.data.input_size, ctx.device, list(spec.joint_flip_perm) if flip else None,
                                    evaluator, threshold=cfg.train.eval_peak_threshold,
                                    radius=cfg.train.eval_group_radius * cfg.data.input_size)


def quick_val(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, ctx: D.DistContext) -> float:
    """The per-epoch validation number: single scale, no flip (PCK, mAP for multi-person data, parsing mIoU
    for a parsing-only model)."""
    spec = get_spec(cfg.data.kind)
    if is_parsing_only(model):
        out = E.predict_parsing(model, eval_loader(cfg, val_set, ctx), cfg, ctx.device)
        return float(E.score_parsing(out, spec.parsing_labels)["parsing"]["mIoU"])
    if spec.multi_person:
        return float(multi_person_eval(cfg, model, val_set, ctx, flip=False)["mAP"])
    out = E.predict_split(model, eval_loader(cfg, val_set, ctx), cfg, ctx.device, flip=False, scales=(1.0,),
                          with_parsing=False)
    evaluator = spec.evaluator(root=resolve_path(cfg.data.root), split="val", out_dir=None)
    return float(E.score_predictions(out, evaluator)["pck"])


def train_accuracy(cfg: ExperimentConfig, final: torch.Tensor, batch: dict[str, Any], stride: int) -> tuple[int, int]:
    """(hits, counted) of the Fig. 4 training accuracy on one batch."""
    pred = decode_heatmaps(final, stride=stride, num_joints=cfg.model.num_joints).cpu().numpy()  # (N, K, 3)
    joints = batch["joints"].detach().cpu().double().numpy().copy()  # (N, K, 3) input px
    joints[..., 2] = batch["joint_mask"].detach().cpu().numpy()  # only joints inside the crop count
    acc, _ = pck_accuracy(pred[..., :2], joints, cfg.data.input_size / 10.0, cfg.train.train_acc_threshold)
    counted = int((joints[..., 2] > 0).sum())
    return (0 if math.isnan(acc) else int(round(acc * counted))), counted
