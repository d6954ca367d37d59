"""Training, evaluation and transfer of the named experiments.

Public API (what the notebooks call)::

    from piltools.training import run_experiment, run_many
    result = run_experiment("table1/vgg16-pil", scale="cpu", seed=0)
    result.eval["lip_pckh"]["PCK"], result.metrics_frame()

:mod:`~piltools.training.engine` is the public face (the same names); behind it
:mod:`~piltools.training.runner` (cache, resume, stale runs), :mod:`~piltools.training.loop`,
:mod:`~piltools.training.builders`, :mod:`~piltools.training.rng`,
:mod:`~piltools.training.scoring` and :mod:`~piltools.training.pool`;
:mod:`~piltools.training.evaluation` (predictions in original coordinates and
their scores), :mod:`~piltools.training.transfer` (paper Sec. 4.4),
:mod:`~piltools.training.distributed` (torchrun / DDP).
"""
from piltools.training.engine import *  # noqa: F403 (the public API, listed in engine.__all__)
from piltools.training.engine import __all__
