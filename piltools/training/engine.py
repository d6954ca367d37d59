"""Training engine: cached, resumable, reproducible runs of named experiments.

``run_experiment(name, scale, seed)`` resolves a named experiment
(:mod:`piltools.experiments`), finds its run directory (a hash of the resolved
config and seed, :mod:`piltools.runs`) and

- returns the stored result at once if the run is complete;
- otherwise trains, resuming from ``last.pt`` if an earlier attempt was
  interrupted. Checkpoints are written after every epoch with the model,
  optimiser, per-epoch metrics and the torch / numpy / python RNG states, and
  the data order and augmentation of an epoch are pure functions of
  (seed, epoch), so a resumed run ends with the same metrics as an
  uninterrupted one (on the same machine and thread count).

Per step: forward, ``L = sum over stacks MSE(heatmaps) + beta * CE(parsing)``
(:func:`piltools.losses.total_loss`; intermediate supervision over all stacks),
RMSProp step. Per epoch: the step learning-rate schedule, training accuracy
(Fig. 4: PCK of the decoded training-batch heatmaps against the targets'
joints within ``train_acc_threshold * input_size / 10`` px, Newell's training
accuracy), a quick validation PCK (single scale, no flip), ``metrics.csv``.
At the end: the full evaluation (:mod:`piltools.training.evaluation`).

A non-finite loss raises :class:`NonFiniteLossError` naming the epoch and step;
the last good checkpoint is left in place.

Multi-process: launched by ``torchrun``, every process trains its share of the
batch under DistributedDataParallel; rank 0 writes the run directory.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from piltools.config import ExperimentConfig
from piltools.decoding import decode_heatmaps
from piltools.experiments import get_experiment
from piltools.losses import offset_loss, total_loss
from piltools.metrics import pck_accuracy
from piltools.runs import (
    RunResult,
    code_version,
    is_complete,
    load_checkpoint,
    load_result,
    machine_info,
    resolve_path,
    run_dir_for,
    save_checkpoint,
    write_json,
    write_metrics,
    write_text_atomic,
)
from piltools.training import distributed as D
from piltools.training import evaluation as E
from piltools.training import multiperson as MP
from piltools.training import transfer as T

CHECKPOINT = "last.pt"
CHECKPOINT_FORMAT = 1


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def is_quiet(quiet: bool | None) -> bool:
    """``quiet`` if given, else the environment variable ``PILTOOLS_QUIET=1``."""
    if quiet is not None:
        return bool(quiet)
    return os.environ.get("PILTOOLS_QUIET", "") not in ("", "0", "false", "False")


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def run_experiment(name: str, scale: str = "cpu", seed: int = 0, out: str | Path = "results/runs",
                   quiet: bool | None = None, device: str | None = None) -> RunResult:
    """Train (or load the cached result of) a named experiment.

    Args:
        name: experiment name, e.g. ``"table1/vgg16-pil"``.
        scale: ``"smoke"``, ``"cpu"`` or ``"paper"``.
        seed: training seed.
        out: runs folder (relative paths are under the project root).
        quiet: no progress bars (None: env ``PILTOOLS_QUIET``).
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available).

    Returns:
        The :class:`~piltools.runs.RunResult` (``cached=True`` if nothing was trained).
    """
    return run_config(get_experiment(name, scale, seed), out=out, quiet=quiet, device=device)


def run_many(names: Iterable[str], scale: str = "cpu", seeds: Iterable[int] = (0,),
             out: str | Path = "results/runs", quiet: bool | None = None,
             device: str | None = None, jobs: int = 1) -> list[RunResult]:
    """:func:`run_experiment` for every (name, seed), names outer, seeds inner.

    Args:
        jobs: runs trained at once, each in its own process (the ``cpu`` scale
            trains with one torch thread, so ``jobs=2`` uses both cores of a
            2-core machine). Results come back in the (name, seed) order
            whatever the order they finish in; cached runs cost nothing either way.
    """
    seeds = list(seeds)
    pairs = [(n, s) for n in names for s in seeds]
    if jobs <= 1 or len(pairs) <= 1:
        return [run_experiment(n, scale, s, out=out, quiet=quiet, device=device) for n, s in pairs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    quiet = True if quiet is None else quiet  # interleaved progress bars from several processes are unreadable
    # A transfer run trains its LIP-side source first; train every needed source in a first wave so that two
    # processes never train the same run directory.
    sources = sorted({(get_experiment(n, scale, s).transfer_from, s) for n, s in pairs} - {(None, s) for s in seeds},
                     key=str)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for f in [pool.submit(run_experiment, n, scale, s, out, quiet, device) for n, s in sources]:
            f.result()
        futures = {}
        for pair in dict.fromkeys(pairs):  # each distinct (name, seed) once
            futures[pair] = pool.submit(run_experiment, pair[0], scale, pair[1], out, quiet, device)
        return [futures[pair].result() for pair in pairs]


def run_config(cfg: ExperimentConfig, out: str | Path = "results/runs", quiet: bool | None = None,
               device: str | None = None) -> RunResult:
    """Train (or load) the run of a resolved config. See :func:`run_experiment`."""
    cfg.validate()
    ctx = D.init_from_env(device)
    quiet = is_quiet(quiet) or not ctx.is_main
    extra: dict[str, Any] = {"world_size": ctx.world_size}
    source_dir = None
    if cfg.transfer_from is not None:
        source = run_experiment(cfg.transfer_from, cfg.scale, cfg.seed, out=out, quiet=quiet, device=device)
        extra["transfer_source"] = source.run_id
        source_dir = source.run_dir
    run_dir = run_dir_for(cfg, out, extra)
    if is_complete(run_dir):
        return load_result(run_dir)
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", cfg.to_dict())
        write_text_atomic(run_dir / "version.txt", code_version() + "\n")
        write_json(run_dir / "machine.json", machine_info(ctx.device, ctx.world_size))
    with _cpu_threads(cfg, ctx):
        _train(cfg, run_dir, ctx, quiet, source_dir)
    D.barrier(ctx)
    return load_result(run_dir, cached=False)


def evaluate_run(cfg: ExperimentConfig, out: str | Path = "results/runs", quiet: bool | None = None,
                 device: str | None = None) -> dict[str, Any]:
    """Re-run the final evaluation of a finished run from its checkpoint and rewrite ``eval.json``.

    Raises:
        FileNotFoundError: the run has no checkpoint (train it first).
    """
    ctx = D.init_from_env(device)
    extra: dict[str, Any] = {"world_size": ctx.world_size}
    if cfg.transfer_from is not None:
        src = run_dir_for(get_experiment(cfg.transfer_from, cfg.scale, cfg.seed), out, {"world_size": ctx.world_size})
        extra["transfer_source"] = src.name
    run_dir = run_dir_for(cfg, out, extra)
    ckpt = run_dir / CHECKPOINT
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt} not found: train first with `{cfg.command}`")
    state = load_checkpoint(ckpt)
    if int(state["epoch"]) < cfg.train.epochs:
        raise RuntimeError(f"{ckpt} holds epoch {int(state['epoch'])} of {cfg.train.epochs}: finish training first")
    model = build_model(cfg).to(ctx.device)
    model.load_state_dict(state["model"])
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    _, val_set = build_datasets(cfg, model, ctx)
    with _cpu_threads(cfg, ctx):
        result = _final_eval(cfg, model, val_set, run_dir, ctx, is_quiet(quiet))
    result["seconds_train"] = float(state.get("seconds_train", float("nan")))
    result["world_size"] = ctx.world_size
    write_json(run_dir / "eval.json", result)
    return result


# ----------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------
@contextlib.contextmanager
def _cpu_threads(cfg: ExperimentConfig, ctx: D.DistContext) -> Iterator[None]:
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
    from piltools.models import create_model

    return create_model(cfg.model.name, **cfg.model.overrides())


def prepare_data(cfg: ExperimentConfig, ctx: D.DistContext) -> Path:
    """The dataset root; generates the synthetic dataset once (rank 0) if the config asks for one."""
    root = resolve_path(cfg.data.root)
    if cfg.data.synthetic is not None:
        if ctx.is_main:
            from piltools.synthetic import difficulty_config, ensure_synthetic

            s = cfg.data.synthetic
            ensure_synthetic(cfg.data.kind, root, n_train=s.n_train, n_val=s.n_val, size=s.size, seed=s.seed,
                             config=difficulty_config(s.difficulty))
        D.barrier(ctx)
    return root


def build_datasets(cfg: ExperimentConfig, model: nn.Module, ctx: D.DistContext) -> tuple[Dataset, Dataset]:
    """(train, val) torch datasets for a config; val is capped at ``data.max_val``."""
    from piltools.datasets import build_dataset

    root = prepare_data(cfg, ctx)
    common = dict(
        input_size=cfg.data.input_size,
        stride=int(model.stride),
        sigma=cfg.data.sigma,
        convention=cfg.data.convention,
        background=cfg.model.background,
        seed=cfg.seed,
    )
    if cfg.data.kind == "mpii" and cfg.data.mpii_mat is not None:
        common["mat_path"] = resolve_path(cfg.data.mpii_mat)
    train = build_dataset(cfg.data.kind, root, "train", True, preset=cfg.data.augment, **common)
    val = build_dataset(cfg.data.kind, root, "val", False, preset="eval", **common)
    if cfg.data.max_val is not None and len(val) > cfg.data.max_val:
        val = Subset(val, list(range(cfg.data.max_val)))
    return train, val


def make_optimizer(cfg: ExperimentConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg.train.optimizer`` (paper: RMSProp with torch's defaults)."""
    if cfg.train.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    raise ValueError(f"{cfg.name}: unknown optimizer {cfg.train.optimizer!r}")


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


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": int(np_state[2]),
        "numpy_has_gauss": int(np_state[3]),
        "numpy_cached_gauss": float(np_state[4]),
        "python": torch.tensor(list(py_state[1]), dtype=torch.int64),
        "python_version": int(py_state[0]),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(state["numpy_pos"]),
                         int(state["numpy_has_gauss"]), float(state["numpy_cached_gauss"])))
    random.setstate((int(state["python_version"]), tuple(int(v) for v in state["python"].tolist()), None))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _train_loader(cfg: ExperimentConfig, dataset: Dataset, epoch: int, ctx: D.DistContext) -> DataLoader:
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
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                     seed=cfg.seed, drop_last=True)
        sampler.set_epoch(epoch)
        return DataLoader(dataset, sampler=sampler, **kwargs)
    return DataLoader(dataset, shuffle=True, **kwargs)


def _eval_loader(cfg: ExperimentConfig, dataset: Dataset, ctx: D.DistContext) -> DataLoader:
    return DataLoader(dataset, batch_size=cfg.train.batch_size, shuffle=False, drop_last=False,
                      num_workers=cfg.train.num_workers, worker_init_fn=_seed_worker,
                      pin_memory=ctx.device.startswith("cuda"))


def _to_device(batch: dict[str, Any], device: str, channels_last: bool) -> dict[str, Any]:
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if key == "image" and channels_last:
                value = value.contiguous(memory_format=torch.channels_last)
        out[key] = value
    return out


def _gt_csv(cfg: ExperimentConfig) -> Path | None:
    if cfg.data.kind != "lip":
        return None
    from piltools.datasets.lip import lip_paths

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


# ----------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------
def _train(cfg: ExperimentConfig, run_dir: Path, ctx: D.DistContext, quiet: bool, source_dir: Path | None) -> None:
    from tqdm.auto import tqdm

    _seed_everything(cfg.seed)
    model = build_model(cfg)
    if source_dir is not None:
        T.load_transferred(model, source_dir / CHECKPOINT)
    use_cuda = ctx.device.startswith("cuda")
    channels_last = cfg.train.channels_last
    amp = use_cuda and cfg.train.amp
    model.to(ctx.device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    train_set, val_set = build_datasets(cfg, model, ctx)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(cfg, params)
    if not cfg.train.parsing_loss and getattr(model, "has_parsing", False) and source_dir is None:
        raise ValueError(f"{cfg.name}: parsing_loss is off but the parsing branch would train without "
                         "supervision; only transferred (frozen) parsing branches may skip it")

    ckpt_path = run_dir / CHECKPOINT
    rows: list[dict[str, Any]] = []
    start_epoch = 0
    seconds_train = 0.0
    if ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if state.get("format") != CHECKPOINT_FORMAT or state.get("run_id") != run_dir.name:
            raise RuntimeError(f"{ckpt_path} belongs to another run or format "
                               f"({state.get('run_id')}, format {state.get('format')})")
        model.load_state_dict(state["model"])
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
        for group in optimizer.param_groups:
            group["lr"] = lr
        net.train()
        if source_dir is not None:
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
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=amp):
                out = net(batch["image"])
            if not cfg.train.parsing_loss:
                out.parsing = None  # MPII: no parsing labels (Sec. 4.4)
            loss, parts = total_loss(out, batch, beta=cfg.train.beta)
            if cfg.model.offset_head:
                loss = loss + cfg.train.offset_weight * offset_loss(out.offsets, batch["offsets"],
                                                                       batch["offset_mask"])
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
            if "joints" in batch:  # single-person batches (multi-person ones have people_joints)
                h, c = _train_accuracy(cfg, out.final.float(), batch, stride)
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
            val_pck = _quick_val(cfg, model, val_set, ctx)
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
                print(f"[piltools] {cfg.name} epoch {epoch + 1}/{cfg.train.epochs}: loss {loss_m:.5f} "
                      f"train_acc {train_acc:.1f} val_pck {val_pck:.1f} lr {lr:.2e} ({seconds:.1f} s)", flush=True)
        D.barrier(ctx)

    if ctx.is_main:
        if not rows:
            raise RuntimeError(f"{cfg.name}: no epochs were trained (epochs={cfg.train.epochs})")
        write_metrics(run_dir / "metrics.csv", rows)
        result = _final_eval(cfg, model, val_set, run_dir, ctx, quiet)
        result["seconds_train"] = seconds_train
        result["world_size"] = ctx.world_size
        write_json(run_dir / "eval.json", result)
    D.barrier(ctx)


def summary_row(result: RunResult) -> dict[str, Any]:
    """One flat row per run for results tables (``results/README.md`` schema).

    Columns: ``experiment, model, scale, seed``, the LIP PCKh columns ``Head, Sho., Elb., Wri., Hip,
    Knee, Ank., U.Body, PCK`` (for MPII the official columns, ``Total`` also copied to ``PCK``; for
    multi-person ``mAP`` copied to ``PCK``), ``n_images, run_id, code_version, machine, seconds``
    (training wall time), then ``parsing_mIoU`` where the model parses (Table 3).
    """
    ev = result.eval
    row: dict[str, Any] = {"experiment": result.config.name, "model": result.config.model.name,
                           "scale": result.config.scale, "seed": result.config.seed}
    table = ev.get("lip_pckh") or ev.get("mpii_pckh") or {}
    for key in ("Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank.", "U.Body"):
        row[key] = table.get(key, float("nan"))
    row["PCK"] = ev.get("pck", float("nan"))
    row["n_images"] = ev.get("n_images")
    row["run_id"] = result.run_id
    version = result.run_dir / "version.txt"
    row["code_version"] = version.read_text().strip() if version.is_file() else "unknown"
    machine_file = result.run_dir / "machine.json"
    machine = json.loads(machine_file.read_text()) if machine_file.is_file() else {}
    row["machine"] = (f"{machine.get('host', 'unknown')} {machine.get('device', '?')} "
                      f"({machine.get('cpu_count', '?')} cores)")
    row["seconds"] = ev.get("seconds_train", float("nan"))
    if "parsing" in ev:
        row["parsing_mIoU"] = ev["parsing"]["mIoU"]
    if "mAP" in ev:
        row["mAP"] = ev["mAP"]
    return row


__all__ = ["run_experiment", "run_many", "run_config", "evaluate_run", "build_model", "build_datasets", "lr_at",
           "NonFiniteLossError", "summary_row", "is_quiet", "JOINT_FLIP_PERM", "LIP_PARSING_FLIP_PERM"]
