"""Which evaluation a run's model gets: the final evaluation, the per-epoch quick validation and the
Fig. 4 training accuracy, dispatched on the config (single- or multi-person, LIP ground-truth CSV).

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
from piltools.datasets.lip import lip_paths
from piltools.decoding import decode_heatmaps
from piltools.metrics import pck_accuracy
from piltools.runs import code_version, resolve_path
from piltools.training import distributed as D
from piltools.training import evaluation as E
from piltools.training import multiperson as MP
from piltools.training.builders import eval_loader as _eval_loader


def _gt_csv(cfg: ExperimentConfig) -> Path | None:
    if cfg.data.kind != "lip":
        return None
    return lip_paths(resolve_path(cfg.data.root), "val")[2]


def _final_eval(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, run_dir: Path,
                ctx: D.DistContext, quiet: bool) -> dict[str, Any]:
    t0 = time.time()
    if cfg.model.offset_head:
        result = _multi_person_eval(cfg, model, val_set, ctx, flip=cfg.train.eval_flip)
    else:
        out = E.predict_split(model, _eval_loader(cfg, val_set, ctx), cfg, ctx.device, flip=cfg.train.eval_flip,
                              scales=tuple(cfg.train.eval_scales), with_parsing=True)
        result = E.score_predictions(cfg, out, gt_csv=_gt_csv(cfg),
                                     csv_path=run_dir / "predictions_val.csv" if cfg.data.kind == "lip" else None)
    result.update({
        "experiment": cfg.name, "table": cfg.table, "row": cfg.row, "scale": cfg.scale, "seed": cfg.seed,
        "run_id": run_dir.name, "model": cfg.model.name, "eval_flip": cfg.train.eval_flip,
        "eval_scales": list(cfg.train.eval_scales), "seconds_eval": time.time() - t0,
        "code_version": code_version(),
    })
    if not quiet:
        print(f"[piltools] {cfg.name} ({cfg.scale}, seed {cfg.seed}): PCK {result['pck']:.2f} "
              f"on {result['n_images']} images -> {run_dir}", flush=True)
    return result


def _multi_person_eval(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, ctx: D.DistContext,
                       flip: bool) -> dict[str, Any]:
    if tuple(cfg.train.eval_scales) != (1.0,):
        raise NotImplementedError(f"{cfg.name}: multi-person evaluation supports eval_scales=(1.0,) only, "
                                  f"got {cfg.train.eval_scales}")
    base = val_set.dataset if isinstance(val_set, Subset) else val_set
    res = MP.evaluate_multi_person(model, _eval_loader(cfg, val_set, ctx), base.records, cfg.model.num_joints,
                                   cfg.data.input_size, ctx.device,
                                   E.flip_perm_for(cfg.data.kind) if flip else None)
    res["pck"] = res["mAP"]  # the table's headline number (Table 5 reports mAP)
    return res


def _quick_val(cfg: ExperimentConfig, model: nn.Module, val_set: Dataset, ctx: D.DistContext) -> float:
    if cfg.model.offset_head:
        return float(_multi_person_eval(cfg, model, val_set, ctx, flip=False)["mAP"])
    out = E.predict_split(model, _eval_loader(cfg, val_set, ctx), cfg, ctx.device, flip=False, scales=(1.0,),
                          with_parsing=False)
    return float(E.score_predictions(cfg, out, gt_csv=_gt_csv(cfg), csv_path=None)["pck"])


def _train_accuracy(cfg: ExperimentConfig, final: torch.Tensor, batch: dict[str, Any], stride: int) -> tuple[int, int]:
    """(hits, counted) of the Fig. 4 training accuracy on one batch."""
    pred = decode_heatmaps(final, stride=stride, num_joints=cfg.model.num_joints).cpu().numpy()  # (N, K, 3)
    joints = batch["joints"].detach().cpu().double().numpy().copy()  # (N, K, 3) input px
    joints[..., 2] = batch["joint_mask"].detach().cpu().numpy()  # only joints inside the crop count
    acc, _ = pck_accuracy(pred[..., :2], joints, cfg.data.input_size / 10.0, cfg.train.train_acc_threshold)
    counted = int((joints[..., 2] > 0).sum())
    return (0 if math.isnan(acc) else int(round(acc * counted))), counted
