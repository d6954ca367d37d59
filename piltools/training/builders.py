"""What a config builds: the model, the datasets, the optimiser, the learning-rate schedule and the loaders.

Every function reads one :class:`~piltools.config.ExperimentConfig` (and the process's
:class:`~piltools.training.distributed.DistContext` where the device or the rank matters) and
nothing else, so the training loop and the final evaluation build the same things the same way.
"""
from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.data.distributed import DistributedSampler

from piltools.config import ExperimentConfig
from piltools.datasets import build_dataset
from piltools.datasets.specs import get_spec
from piltools.synthetic import difficulty_config, ensure_synthetic
from piltools.joints import IGNORE_LABEL
from piltools.models import create_model
from piltools.models.pil import oracle_flip_perm, oracle_input
from piltools.runs import resolve_path
from piltools.training import distributed as D


@contextlib.contextmanager
def cpu_threads(cfg: ExperimentConfig, ctx: D.DistContext) -> Iterator[None]:
    """Use ``cfg.train.cpu_threads`` torch threads on CPU for the block, then restore the previous count."""
    before = torch.get_num_threads()
    if not ctx.device.startswith("cuda") and cfg.train.cpu_threads is not None:
        torch.set_num_threads(cfg.train.cpu_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def build_model(cfg: ExperimentConfig) -> nn.Module:
    """The model of a config (weights initialised from the current torch RNG)."""
    return create_model(cfg.model.name, **cfg.model.overrides())


def prepare_data(cfg: ExperimentConfig, ctx: D.DistContext) -> Path:
    """The dataset root; generates the synthetic dataset once (rank 0) if the config asks for one."""
    root = resolve_path(cfg.data.root)
    if cfg.data.synthetic is not None:
        if ctx.is_main:
            s = cfg.data.synthetic
            ensure_synthetic(get_spec(cfg.data.kind).synthetic_kind, root, n_train=s.n_train, n_val=s.n_val, size=s.size,
                             seed=s.seed,
                             config=difficulty_config(s.difficulty))
        D.barrier(ctx)
    return root


def build_datasets(cfg: ExperimentConfig, model: nn.Module, ctx: D.DistContext) -> tuple[Dataset, Dataset]:
    """(train, val) torch datasets for a config; val is capped at ``data.max_val``."""
    root = prepare_data(cfg, ctx)
    common = dict(
        input_size=cfg.data.input_size,
        stride=int(model.stride),
        sigma=cfg.data.sigma,
        convention=cfg.data.convention,
        background=cfg.model.background,
        seed=cfg.seed,
    )
    common["offset_radius"] = cfg.data.offset_radius  # used by multi-person datasets only
    if cfg.data.mpii_mat is not None:  # validate() allows it only for a kind with a head-box file (MPII)
        common["mat_path"] = resolve_path(cfg.data.mpii_mat)
    train = build_dataset(cfg.data.kind, root, "train", True, preset=cfg.data.augment, **common)
    val = build_dataset(cfg.data.kind, root, "val", False, preset="eval", **common)
    if cfg.data.max_val is not None and len(val) > cfg.data.max_val:
        val = Subset(val, list(range(cfg.data.max_val)))
    return train, val


#: The submodule that is a model's parsing network (encoder + classifier), whose rate ``train.parsing_lr_mult`` scales.
PARSING_NETWORK = "parsing_encoder"


def param_groups(cfg: ExperimentConfig, model: nn.Module) -> list[dict[str, Any]]:
    """The trainable parameters of ``model`` as optimiser groups, each with its ``lr_scale`` (a multiple of the
    scheduled rate, :func:`lr_at`).

    One group at scale 1 when ``cfg.train.parsing_lr_mult`` is 1 (the paper's single rate). Otherwise the
    parameters of the parsing network (the ``parsing_encoder`` submodule of the PIL, fusion and parsing-only
    models) form a second group at scale ``parsing_lr_mult``; frozen (transferred) parameters are left out.
    """
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    mult = cfg.train.parsing_lr_mult
    if mult == 1.0:
        return [{"params": [p for _, p in trainable], "lr_scale": 1.0}]
    prefix = PARSING_NETWORK + "."
    rest = [p for name, p in trainable if not name.startswith(prefix)]
    parsing = [p for name, p in trainable if name.startswith(prefix)]
    return [g for g in ({"params": rest, "lr_scale": 1.0}, {"params": parsing, "lr_scale": mult}) if g["params"]]


def make_optimizer(cfg: ExperimentConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg.train.optimizer`` (paper: RMSProp with torch's defaults) over the trainable
    parameters of ``model``, in the groups of :func:`param_groups`; call :func:`set_lr` before each epoch."""
    if cfg.train.optimizer == "rmsprop":
        groups = param_groups(cfg, model)
        for group in groups:
            group["lr"] = cfg.train.lr * group["lr_scale"]
        return torch.optim.RMSprop(groups, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    raise ValueError(f"{cfg.name}: unknown optimizer {cfg.train.optimizer!r}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the scheduled rate ``lr``: each group gets ``lr`` times its ``lr_scale``."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def lr_at(cfg: ExperimentConfig, epoch: int) -> float:
    """Learning rate of a 0-based epoch: base x the multiplier of the last milestone reached."""
    mult = 1.0
    for milestone, m in zip(cfg.train.milestones, cfg.train.lr_multipliers):
        if epoch >= milestone:
            mult = m
    return cfg.train.lr * mult


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def train_loader(cfg: ExperimentConfig, dataset: Dataset, epoch: int, ctx: D.DistContext) -> DataLoader:
    """The loader of one epoch: its order is a pure function of (seed, epoch)."""
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)  # augmentation randomness = f(seed, epoch, index)
    per_process = cfg.train.batch_size // ctx.world_size
    if per_process < 1:
        raise ValueError(f"{cfg.name}: batch_size {cfg.train.batch_size} < world size {ctx.world_size}")
    if len(dataset) < cfg.train.batch_size:
        raise ValueError(f"{cfg.name}: {len(dataset)} training samples < batch_size {cfg.train.batch_size}")
    gen = torch.Generator()
    gen.manual_seed(cfg.seed * 1_000_003 + epoch)
    kwargs: dict[str, Any] = dict(batch_size=per_process, drop_last=True, num_workers=cfg.train.num_workers,
                                  worker_init_fn=_seed_worker, generator=gen,
                                  pin_memory=ctx.device.startswith("cuda"))
    if ctx.distributed:
        sampler = DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                     seed=cfg.seed, drop_last=True)
        sampler.set_epoch(epoch)
        return DataLoader(dataset, sampler=sampler, **kwargs)
    return DataLoader(dataset, shuffle=True, **kwargs)


def eval_loader(cfg: ExperimentConfig, dataset: Dataset, ctx: D.DistContext) -> DataLoader:
    """The validation loader: the split in order, batches of ``train.batch_size``, the last one partial."""
    return DataLoader(dataset, batch_size=cfg.train.batch_size, shuffle=False, drop_last=False,
                      num_workers=cfg.train.num_workers, worker_init_fn=_seed_worker,
                      pin_memory=ctx.device.startswith("cuda"))


def model_input(cfg: ExperimentConfig, images: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """What the model of ``cfg`` is called on for ``images`` (a batch's images, already on their device): the
    images themselves, or for an oracle-parsing model (``model.parsing_input == "oracle"``) the images followed
    by the one-hot of the batch's true parsing labels (:func:`~piltools.models.pil.oracle_input`; all zero for
    samples without labels)."""
    if cfg.model.parsing_input != "oracle":
        return images
    labels = batch["parsing"].to(images.device).clone()
    if "has_parsing" in batch:
        labels[~batch["has_parsing"].to(images.device).bool()] = IGNORE_LABEL
    x = oracle_input(images, labels, cfg.model.num_parsing)
    return x.contiguous(memory_format=torch.channels_last) if cfg.train.channels_last else x


def input_flip_perm(cfg: ExperimentConfig) -> list[int] | None:
    """The channel permutation of the model input of ``cfg`` under the flip test (None: the image's channels
    stay): an oracle input swaps its left / right parsing channels."""
    if cfg.model.parsing_input != "oracle":
        return None
    return oracle_flip_perm(get_spec(cfg.data.kind).parsing_flip_perm)


def to_device(batch: dict[str, Any], device: str, channels_last: bool) -> dict[str, Any]:
    """The batch's tensors on ``device`` (the image in channels-last layout if asked)."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if key == "image" and channels_last:
                value = value.contiguous(memory_format=torch.channels_last)
        out[key] = value
    return out
