"""Run orchestration: where a run lives, the cache, resume, retraining stale runs, many runs at once.

``run_experiment(name, scale, seed)`` resolves a named experiment
(:mod:`piltools.experiments`), finds its run directory (:func:`run_dir_of`) and

- returns the stored result at once if the run is complete (with a
  :class:`~piltools.runs.StaleRunWarning` if other code trained it; see
  :mod:`piltools.runs` for the stale-run policy);
- otherwise trains (:mod:`piltools.training.loop`), resuming from ``last.pt``
  if an earlier attempt was interrupted;
- keeps a record of the finished run (:mod:`piltools.records`: committed for
  ``cpu`` and ``paper`` runs), and with ``PILTOOLS_RECORDS=only`` returns the
  recorded result instead of training.

Multi-process: launched by ``torchrun``, every process trains its share of the
batch under DistributedDataParallel; rank 0 writes the run directory.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from piltools.config import ExperimentConfig
from piltools.errors import InputError
from piltools.experiments import get_experiment
from piltools.records import load_record, records_only, write_record
from piltools.runs import (
    CheckpointError,
    RunResult,
    StaleRunWarning,
    code_version,
    is_complete,
    load_result,
    replace_run,
    run_dir_for,
    staging_dir,
    warn_if_stale,
    write_code_record,
    write_json,
    write_text_atomic,
)
from piltools.training import distributed as D
from piltools.training.builders import build_datasets, build_model, cpu_threads
from piltools.training.loop import _evaluate_trained, _train, load_model_weights, read_checkpoint
from piltools.training.pool import parallel_waves
from piltools.training.scoring import final_eval


def is_quiet(quiet: bool | None) -> bool:
    """``quiet`` if given, else the environment variable ``PILTOOLS_QUIET=1``."""
    if quiet is not None:
        return bool(quiet)
    return os.environ.get("PILTOOLS_QUIET", "") not in ("", "0", "false", "False")


def source_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """The config of a run's source (:meth:`~piltools.config.ExperimentConfig.source_name` at the same scale and
    seed)."""
    name = cfg.source_name()
    if name is None:
        raise ValueError(f"{cfg.name} needs no other run (transfer_from and evaluate_from are None)")
    return get_experiment(name, cfg.scale, cfg.seed)


def run_dir_of(cfg: ExperimentConfig, out: str | Path = "results/runs", world_size: int = 1) -> Path:
    """The run directory of a config: a hash of the config and seed, the DDP world size and, for a transfer
    run or an evaluation of another run, the run id of its source (:func:`source_config`).

    Args:
        cfg: the resolved config.
        out: runs folder (relative paths are under the project root).
        world_size: processes training the run.
    """
    extra: dict[str, Any] = {"world_size": world_size}
    if cfg.transfer_from is not None:
        extra["transfer_source"] = run_dir_of(source_config(cfg), out, world_size).name
    if cfg.evaluate_from is not None:
        extra["evaluated_run"] = run_dir_of(source_config(cfg), out, world_size).name
    return run_dir_for(cfg, out, extra)


def run_experiment(name: str, scale: str = "cpu", seed: int = 0, out: str | Path = "results/runs",
                   quiet: bool | None = None, device: str | None = None, retrain_stale: bool = False,
                   restart: bool = False) -> RunResult:
    """Train (or load the cached result of) a named experiment.

    Args:
        name: experiment name, e.g. ``"table1/vgg16-pil"``.
        scale: ``"smoke"``, ``"cpu"`` or ``"paper"``.
        seed: training seed.
        out: runs folder (relative paths are under the project root).
        quiet: no progress bars (None: env ``PILTOOLS_QUIET``).
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available).
        retrain_stale: retrain the run (and its transfer source) if other code trained it.
        restart: train the run from scratch whatever its state (e.g. after a corrupt checkpoint).

    Returns:
        The :class:`~piltools.runs.RunResult` (``cached=True`` if nothing was trained).

    Raises:
        RecordNotFoundError: ``PILTOOLS_RECORDS=only`` and the run has no record.
    """
    return run_config(get_experiment(name, scale, seed), out=out, quiet=quiet, device=device,
                      retrain_stale=retrain_stale, restart=restart)


def run_config(cfg: ExperimentConfig, out: str | Path = "results/runs", quiet: bool | None = None,
               device: str | None = None, retrain_stale: bool = False, restart: bool = False) -> RunResult:
    """Train (or load) the run of a resolved config. See :func:`run_experiment`.

    A run that is replaced (``restart``, or ``retrain_stale`` on a stale run) trains in
    :func:`~piltools.runs.staging_dir` and takes the old directory's place only once finished; its record is
    replaced too. A finished run without a record gets one (:func:`~piltools.records.write_record`).
    """
    cfg.validate()
    ctx = D.init_from_env(device)
    if records_only():
        return load_record(cfg, run_dir_of(cfg, out, ctx.world_size).name)
    quiet = is_quiet(quiet) or not ctx.is_main
    source_dir = None
    if cfg.source_name() is not None:
        source = run_config(source_config(cfg), out=out, quiet=quiet, device=device, retrain_stale=retrain_stale)
        source_dir = source.run_dir
        read_checkpoint(source.config, source_dir)  # a damaged source checkpoint is named before training starts
        if cfg.evaluate_from is not None and source.config.model != cfg.model:
            raise InputError(f"{cfg.name}: evaluates the run of {cfg.evaluate_from}, whose model config differs "
                             f"({source.config.model} vs {cfg.model}); expected the same model")
    run_dir = run_dir_of(cfg, out, ctx.world_size)
    complete = is_complete(run_dir)
    if complete and not restart:
        result = load_result(run_dir)
        if not (retrain_stale and result.freshness == "stale"):
            warn_if_stale(run_dir, cfg)
            if ctx.is_main:
                write_record(run_dir)
            return result
    target = staging_dir(run_dir) if (complete or restart) else run_dir
    if ctx.is_main:
        if restart and target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        write_json(target / "config.json", cfg.to_dict())
        write_text_atomic(target / "version.txt", code_version() + "\n")
        write_code_record(target)
    D.barrier(ctx)
    with cpu_threads(cfg, ctx):
        (_evaluate_trained if cfg.evaluate_from is not None else _train)(cfg, target, ctx, quiet, source_dir)
    D.barrier(ctx)
    if target != run_dir and ctx.is_main:
        kept = replace_run(run_dir, target)
        if not quiet and kept is not None:
            print(f"[piltools] {cfg.name}: retrained {run_dir}; the replaced run is kept in {kept}", flush=True)
    if ctx.is_main:
        write_record(run_dir, replace=target != run_dir)
    D.barrier(ctx)
    return load_result(run_dir, cached=False)


def _run_without_stale_warnings(*args: Any) -> RunResult:
    """:func:`run_experiment` in a pool process; the parent warns about stale results (once, in order)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaleRunWarning)
        return run_experiment(*args)


def run_many(names: Iterable[str], scale: str = "cpu", seeds: Iterable[int] = (0,),
             out: str | Path = "results/runs", quiet: bool | None = None,
             device: str | None = None, jobs: int = 1, retrain_stale: bool = False) -> list[RunResult]:
    """:func:`run_experiment` for every (name, seed), names outer, seeds inner.

    Args:
        jobs: runs trained at once, each in its own process (the ``cpu`` scale
            trains with one torch thread, so ``jobs=2`` uses both cores of a
            2-core machine). Results come back in the (name, seed) order
            whatever the order they finish in; cached runs cost nothing either way.
        retrain_stale: retrain the runs that other code trained (see :func:`run_experiment`).
    """
    seeds = list(seeds)
    pairs = [(n, s) for n in names for s in seeds]
    if jobs <= 1 or len(pairs) <= 1 or records_only():  # rendering from records needs no processes
        return [run_experiment(n, scale, s, out=out, quiet=quiet, device=device, retrain_stale=retrain_stale)
                for n, s in pairs]
    quiet = True if quiet is None else quiet  # interleaved progress bars from several processes are unreadable
    # A transfer run loads its LIP-side source: every needed source trains in the first wave (beside the runs
    # that load nothing), the transfer runs in the second, so that two processes never train the same run
    # directory and no process waits while another trains a source.
    distinct = list(dict.fromkeys(pairs))  # each distinct (name, seed) once
    source_of = {(n, s): get_experiment(n, scale, s).source_name() for n, s in distinct}
    sources = sorted({(src, s) for (_, s), src in source_of.items() if src is not None}, key=str)
    first = sources + [p for p in distinct if source_of[p] is None and p not in sources]
    second = [p for p in distinct if source_of[p] is not None]
    waves = parallel_waves(_run_without_stale_warnings,
                           [[(n, scale, s, out, quiet, device, retrain_stale) for n, s in wave]
                            for wave in (first, second)], jobs)
    by_pair = dict(zip(first + second, waves[0] + waves[1]))
    results = [by_pair[pair] for pair in distinct]
    for result in results:
        warn_if_stale(result.run_dir, result.config)
    return [by_pair[pair] for pair in pairs]


def load_trained_model(cfg: ExperimentConfig, run_dir: Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The finished model of the run ``cfg`` in ``run_dir``, in eval mode on ``device``, and its checkpoint.

    Warns (:class:`~piltools.runs.StaleRunWarning`) when other code trained it.

    Raises:
        CheckpointNotFoundError: the run has no checkpoint (train it first).
        CheckpointError: the checkpoint is unreadable, belongs to another run, does not fit the model as this code
            builds it, or training has not finished.
    """
    state = read_checkpoint(cfg, run_dir)
    if int(state["epoch"]) < cfg.train.epochs:
        raise CheckpointError(f"{run_dir / 'last.pt'} holds epoch {int(state['epoch'])} of {cfg.train.epochs}: "
                              f"finish training first with `{cfg.command}`")
    warn_if_stale(run_dir, cfg)
    model = build_model(cfg).to(device)
    load_model_weights(model, state, cfg, run_dir)
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    return model.eval(), state


def evaluate_run(cfg: ExperimentConfig, out: str | Path = "results/runs", quiet: bool | None = None,
                 device: str | None = None) -> dict[str, Any]:
    """Re-run the final evaluation of a finished run from its checkpoint and rewrite ``eval.json``.

    Raises:
        CheckpointNotFoundError: the run has no checkpoint (train it first).
        CheckpointError: the checkpoint is unreadable, belongs to another run, does not fit the model as this code
            builds it, or training has not finished.
    """
    ctx = D.init_from_env(device)
    run_dir = run_dir_of(cfg, out, ctx.world_size)
    model, state = load_trained_model(cfg, run_dir, ctx.device)
    _, val_set = build_datasets(cfg, model, ctx)
    with cpu_threads(cfg, ctx):
        result = final_eval(cfg, model, val_set, run_dir, ctx, is_quiet(quiet))
    result["seconds_train"] = float(state.get("seconds_train", float("nan")))
    result["world_size"] = ctx.world_size
    write_json(run_dir / "eval.json", result)
    return result
