"""Training, evaluation and transfer of the named experiments.

Public API (what the notebooks call)::

    from piltools.training import run_experiment, run_many
    result = run_experiment("table1/vgg16-pil", scale="cpu", seed=0)
    result.eval["lip_pckh"]["PCK"], result.metrics_frame()

Modules: :mod:`~piltools.training.engine` (the loop, caching, resume),
:mod:`~piltools.training.evaluation` (predictions in original coordinates and
their scores), :mod:`~piltools.training.transfer` (Sec. 4.4),
:mod:`~piltools.training.distributed` (torchrun / DDP).
"""
from piltools.runs import RunResult
from piltools.training.engine import (
    NonFiniteLossError,
    evaluate_run,
    run_config,
    run_experiment,
    run_many,
    summary_row,
)

__all__ = ["RunResult", "NonFiniteLossError", "run_experiment", "run_many", "run_config", "evaluate_run",
           "summary_row"]
