"""The training engine's public face: cached, resumable, reproducible runs of named experiments.

``from piltools.training.engine import *`` gives exactly :data:`__all__`. The work is done in

- :mod:`piltools.training.runner`: where a run lives, the cache, resume, stale runs, many runs at once;
- :mod:`piltools.training.loop`: the epoch / step loop and its checkpoints;
- :mod:`piltools.training.builders`: model, datasets, optimiser, learning-rate schedule and loaders of a config;
- :mod:`piltools.training.rng`: seeding and the random states kept in checkpoints;
- :mod:`piltools.training.scoring`: which evaluation a run's model gets;
- :mod:`piltools.training.pool`: runs trained side by side in processes;

with the run directory's files (checkpoints, stale-run fingerprints) in :mod:`piltools.runs`.
"""
from __future__ import annotations

from piltools.runs import CheckpointError, CheckpointNotFoundError, RunResult, StaleRunWarning
from piltools.training.builders import build_datasets, build_model, lr_at
from piltools.training.loop import NonFiniteLossError
from piltools.training.runner import (
    evaluate_run,
    is_quiet,
    load_trained_model,
    run_config,
    run_dir_of,
    run_experiment,
    run_many,
)

__all__ = ["run_experiment", "run_many", "run_config", "evaluate_run", "load_trained_model", "run_dir_of",
           "build_model", "build_datasets", "lr_at", "is_quiet", "RunResult", "NonFiniteLossError", "CheckpointError",
           "CheckpointNotFoundError", "StaleRunWarning"]
