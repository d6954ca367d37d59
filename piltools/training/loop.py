"""The training loop of one run: epochs, steps, per-epoch metrics and checkpoints.

Per step: forward, ``L = sum over stacks MSE(heatmaps) + beta * CE(parsing)``
(:func:`piltools.losses.total_loss`; intermediate supervision over all stacks;
``L = CE(parsing)`` for a parsing-only model), RMSProp step. Per epoch: the step
learning-rate schedule, training accuracy (Fig. 4: PCK of the decoded
training-batch heatmaps against the targets' joints within
``train_acc_threshold * input_size / 10`` px, Newell's training accuracy; NaN
for a parsing-only model), a quick validation PCK (single scale, no flip; for a
parsing-only model its parsing mIoU, written in the ``val_pck`` column), ``metrics.csv`` and
the checkpoint ``last.pt`` (model, optimiser, per-epoch rows, RNG states). Before the first step
``machine.json`` records the machine as the run uses it (its torch threads, its data's fingerprint). The
data order and augmentation of an epoch are pure functions of (seed, epoch), so
a resumed run ends with the same metrics as an uninterrupted one (on the same
machine and thread count). At the end: the final evaluation
(:mod:`piltools.training.scoring`), ``eval.json``.

A non-finite loss raises :class:`NonFiniteLossError` naming the epoch and step;
the last good checkpoint is left in place.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from piltools.config import ExperimentConfig, load_config
from piltools.datasets.specs import get_spec
from piltools.losses import offset_loss, total_loss
from piltools.models.output import PoseOutput
from piltools.runs import (
    MACHINE_FILE,
    CheckpointError,
    load_checkpoint,
    machine_info,
    resolve_path,
    save_checkpoint,
    write_json,
    write_metrics,
)
from piltools.synthetic.ensure import dataset_fingerprint
from piltools.training import distributed as D
from piltools.training import transfer as T
from piltools.training.builders import build_datasets, build_model, lr_at, make_optimizer, model_input, set_lr
from piltools.training.builders import to_device as _to_device
from piltools.training.builders import train_loader as _train_loader
from piltools.training.rng import rng_state as _rng_state
from piltools.training.rng import seed_everything as _seed_everything
from piltools.training.rng import set_rng_state as _set_rng_state
from piltools.training.scoring import final_eval, is_parsing_only, quick_val, train_accuracy

CHECKPOINT = "last.pt"
CHECKPOINT_FORMAT = 1


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def forward_loss(cfg: ExperimentConfig, net: nn.Module, batch: dict[str, Any],
                 amp: bool = False) -> tuple[PoseOutput, torch.Tensor, dict[str, float]]:
    """One training step's forward pass and loss, as every training step computes them.

    ``L = sum over stacks MSE(heatmaps) + beta * CE(parsing)`` (:func:`piltools.losses.total_loss`; no parsing
    term where ``train.parsing_loss`` is off; ``CE(parsing)`` alone for a parsing-only model),
    plus ``train.offset_weight`` x the centroid-offset loss on multi-person data.

    Args:
        cfg: the run's config.
        net: the model (or its DDP wrapper).
        batch: a collated batch already on the model's device.
        amp: bfloat16 autocast (CUDA only).

    Returns:
        ``(output, loss, parts)`` with ``parts`` the loss terms as floats (``"heatmap"``, ``"parsing"``).
    """
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
        out = net(model_input(cfg, batch["image"], batch))
    if not cfg.train.parsing_loss:
        out.parsing = None  # MPII: no parsing labels (Sec. 4.4)
    loss, parts = total_loss(out, batch, beta=cfg.train.beta)
    if get_spec(cfg.data.kind).multi_person:
        loss = loss + cfg.train.offset_weight * offset_loss(out.offsets, batch["offsets"], batch["offset_mask"])
    return out, loss, parts


def _restart_hint(cfg: ExperimentConfig) -> str:
    """How to train ``cfg``'s run again from scratch."""
    return f"add --restart to `{cfg.command}`" if cfg.command else "call run_config(cfg, restart=True)"


def read_checkpoint(cfg: ExperimentConfig, run_dir: Path) -> dict[str, Any]:
    """The checkpoint of the run ``cfg`` in ``run_dir``, checked to be readable and to belong to that run.

    Raises:
        CheckpointNotFoundError: no ``last.pt`` (the message says how to train the run).
        CheckpointError: ``last.pt`` is unreadable or was written for another run or format; the
            message names the file and the fix (train the run again with ``--restart``).
    """
    path = run_dir / CHECKPOINT
    restart = _restart_hint(cfg)
    try:
        state = load_checkpoint(path)
    except FileNotFoundError as exc:
        train = f"`{cfg.command}`" if cfg.command else "run_config(cfg)"
        raise type(exc)(f"{exc}: train {cfg.name} (seed {cfg.seed}) first with {train}") from None
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; to train the run again from scratch, {restart}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or state.get("run_id") != run_dir.name:
        owner = (state.get("run_id"), state.get("format")) if isinstance(state, dict) else (None, None)
        raise CheckpointError(f"{path} belongs to run {owner[0]} (format {owner[1]}), not to run {run_dir.name} "
                              f"(format {CHECKPOINT_FORMAT}) of {cfg.name}; to replace it by training this run, "
                              f"{restart}")
    return state


def load_model_weights(model: nn.Module, state: dict[str, Any], cfg: ExperimentConfig, run_dir: Path) -> None:
    """Load the model weights of ``state`` (:func:`read_checkpoint`) into ``model``, built for ``cfg`` by this code.

    Raises:
        CheckpointError: the weights do not fit the model (code that builds it otherwise trained the run); the
            message names the file, the first mismatched weights and the fix.
    """
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        ours, theirs = set(model.state_dict()), set(state["model"])
        if ours != theirs:
            what = f"missing {sorted(ours - theirs)[:3]}, unexpected {sorted(theirs - ours)[:3]}"
        else:  # same names, another shape: torch's last line names the weight
            what = str(exc).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{run_dir / CHECKPOINT} does not fit {cfg.model.name} as this code builds it "
                              f"({what}): other code trained it; to train the run again from scratch, "
                              f"{_restart_hint(cfg)}") from None


def write_machine_record(cfg: ExperimentConfig, run_dir: Path, ctx: D.DistContext) -> None:
    """Write ``run_dir/machine.json`` (:func:`~piltools.runs.machine_info`) from inside the run: with the
    torch threads the run trains with and, for synthetic data (already generated), the data's fingerprint."""
    data = dataset_fingerprint(resolve_path(cfg.data.root)) if cfg.data.synthetic is not None else None
    write_json(run_dir / MACHINE_FILE, machine_info(ctx.device, ctx.world_size, dataset_sha256=data))


def _train(cfg: ExperimentConfig, run_dir: Path, ctx: D.DistContext, quiet: bool, source_dir: Path | None) -> None:
    _seed_everything(cfg.seed)
    model = build_model(cfg)
    if source_dir is not None:
        T.load_transferred(model, source_dir / CHECKPOINT)
    elif cfg.train.freeze_pil:
        T.freeze(model)  # the untrained parsing encoder and adapter stay as initialised
    use_cuda = ctx.device.startswith("cuda")
    channels_last = cfg.train.channels_last
    amp = use_cuda and cfg.train.amp
    model.to(ctx.device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    train_set, val_set = build_datasets(cfg, model, ctx)
    if ctx.is_main:
        write_machine_record(cfg, run_dir, ctx)
    optimizer = make_optimizer(cfg, model)
    frozen = source_dir is not None or cfg.train.freeze_pil
    if not cfg.train.parsing_loss and getattr(model, "has_parsing", False) and not frozen:
        raise ValueError(f"{cfg.name}: parsing_loss is off but the parsing branch would train without "
                         "supervision; only frozen (transferred or train.freeze_pil) parsing branches may skip it")

    ckpt_path = run_dir / CHECKPOINT
    rows: list[dict[str, Any]] = []
    start_epoch = 0
    seconds_train = 0.0
    if ckpt_path.is_file():
        state = read_checkpoint(cfg, run_dir)
        load_model_weights(model, state, cfg, run_dir)
        optimizer.load_state_dict(state["optimizer"])
        rows = [dict(r) for r in state["rows"]]
        start_epoch = int(state["epoch"])
        seconds_train = float(state["seconds_train"])
        _set_rng_state(state["rng"])
        if not quiet:
            print(f"[piltools] resuming {cfg.name} from epoch {start_epoch} ({ckpt_path})", flush=True)

    net: nn.Module = model
    if ctx.distributed:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[ctx.local_rank] if use_cuda else None)
    stride = int(model.stride)

    for epoch in range(start_epoch, cfg.train.epochs):
        t0 = time.time()
        lr = lr_at(cfg, epoch)
        set_lr(optimizer, lr)
        net.train()
        if frozen:
            T.keep_frozen_in_eval(model)
        loader = _train_loader(cfg, train_set, epoch, ctx)
        steps = len(loader) if cfg.train.steps_per_epoch is None else min(len(loader), cfg.train.steps_per_epoch)
        sums = np.zeros(3)  # loss, heatmap, parsing (summed over steps)
        hits = counted = 0
        images_seen = 0
        bar = tqdm(total=steps, desc=f"{cfg.name} {epoch + 1}/{cfg.train.epochs}", disable=quiet, leave=False,
                   unit="step")
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            batch = _to_device(batch, ctx.device, channels_last)
            out, loss, parts = forward_loss(cfg, net, batch, amp)
            value = float(loss.detach())
            if not math.isfinite(value):
                kept = f"the last good checkpoint {ckpt_path} is kept" if ckpt_path.is_file() else \
                    "no checkpoint was written yet"
                bar.close()
                raise NonFiniteLossError(f"{cfg.name} ({cfg.scale}, seed {cfg.seed}): non-finite loss {value} at "
                                         f"epoch {epoch + 1} step {step + 1}; {kept}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sums += (value, parts["heatmap"], parts["parsing"])
            if "joints" in batch and not out.parsing_only:  # single-person pose batches (multi-person ones
                # have people_joints; a parsing-only model predicts no joints)
                h, c = train_accuracy(cfg, out.final.float(), batch, stride)
                hits, counted = hits + h, counted + c
            images_seen += batch["image"].shape[0]
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4g}", img_s=f"{images_seen / max(time.time() - t0, 1e-9):.1f}")
        bar.close()
        if steps == 0:
            raise ValueError(f"{cfg.name}: epoch {epoch + 1} has no training steps")
        loss_m, hm_m, ps_m, hits_t, counted_t = D.mean_over_processes(
            ctx, [*(sums / steps).tolist(), float(hits), float(counted)])
        train_acc = 100.0 * hits_t / counted_t if counted_t > 0 else float("nan")
        val_pck = float("nan")
        if ctx.is_main and ((epoch + 1) % cfg.train.val_every == 0 or epoch + 1 == cfg.train.epochs):
            val_pck = quick_val(cfg, model, val_set, ctx)
        seconds = time.time() - t0
        seconds_train += seconds
        rows.append({"epoch": epoch + 1, "loss": loss_m, "heatmap_loss": hm_m, "parsing_loss": ps_m,
                     "train_acc": train_acc, "val_pck": val_pck, "lr": lr, "seconds": seconds})
        if ctx.is_main:
            save_checkpoint(ckpt_path, {
                "format": CHECKPOINT_FORMAT, "run_id": run_dir.name, "epoch": epoch + 1,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "rows": rows,
                "seconds_train": seconds_train, "rng": _rng_state(),
            })
            write_metrics(run_dir / "metrics.csv", rows)
            if not quiet:
                val_name = "val_mIoU" if is_parsing_only(model) else "val_pck"
                print(f"[piltools] {cfg.name} epoch {epoch + 1}/{cfg.train.epochs}: loss {loss_m:.5f} "
                      f"train_acc {train_acc:.1f} {val_name} {val_pck:.1f} lr {lr:.2e} ({seconds:.1f} s)", flush=True)
        D.barrier(ctx)

    if ctx.is_main:
        if not rows:
            raise RuntimeError(f"{cfg.name}: no epochs were trained (epochs={cfg.train.epochs})")
        write_metrics(run_dir / "metrics.csv", rows)
        result = final_eval(cfg, model, val_set, run_dir, ctx, quiet)
        result["seconds_train"] = seconds_train
        result["world_size"] = ctx.world_size
        write_json(run_dir / "eval.json", result)
    D.barrier(ctx)


def _evaluate_trained(cfg: ExperimentConfig, run_dir: Path, ctx: D.DistContext, quiet: bool,
                      source_dir: Path) -> None:
    """A run that trains nothing: the final evaluation (with ``cfg``'s evaluation settings) of the model of the
    finished run in ``source_dir`` (``cfg.evaluate_from``); ``metrics.csv`` has no epoch rows."""
    _seed_everything(cfg.seed)
    model = build_model(cfg)
    source = load_config(source_dir / "config.json")
    load_model_weights(model, read_checkpoint(source, source_dir), source, source_dir)
    model.to(ctx.device)
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    _, val_set = build_datasets(cfg, model, ctx)
    if ctx.is_main:
        write_machine_record(cfg, run_dir, ctx)
        write_metrics(run_dir / "metrics.csv", [])
        result = final_eval(cfg, model, val_set, run_dir, ctx, quiet)
        result["seconds_train"] = 0.0
        result["world_size"] = ctx.world_size
        result["evaluated_run"] = source_dir.name
        write_json(run_dir / "eval.json", result)
    D.barrier(ctx)
