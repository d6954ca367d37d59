"""Which runs each numbered notebook needs: the collection's registry.

:data:`NOTEBOOKS` maps a notebook's file-name prefix (``"01"`` for
``notebooks/01_table1_vgg16_ablation.ipynb``) to the named experiments and seeds
it reads; :func:`needed_runs` resolves them at a scale (a transfer run's source
counts as a needed run). What they cost and how they are trained is
:mod:`piltools.planning`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from piltools.errors import InputError
from piltools.experiments import get_experiment, list_experiments, table3_controls, table3_experiments

#: Scales at which a notebook trains all its seeds; at the others (``smoke`` for CI, ``paper`` with its GPU days
#: per run) it trains the first seed only, as the notebooks' ``SEEDS`` say.
ALL_SEEDS_SCALES: tuple[str, ...] = ("cpu",)


@dataclass(frozen=True)
class NotebookRuns:
    """The runs one notebook reads: every experiment with every seed.

    Args:
        title: what the notebook reproduces.
        experiments: named experiments (:func:`piltools.experiments.list_experiments`), in the notebook's order;
            or a function of the scale giving them (Table 3, whose pose network is a scale value).
        seeds: training seeds at the ``cpu`` scale (see :data:`ALL_SEEDS_SCALES`).
        needs_checkpoints: the notebook runs the trained models themselves (not only their recorded
            numbers), so it cannot be rendered from the committed run records (``make render`` skips it).
    """

    title: str
    experiments: tuple[str, ...] | Callable[[str], tuple[str, ...]]
    seeds: tuple[int, ...] = (0, 1, 2)
    needs_checkpoints: bool = False

    def experiments_at(self, scale: str) -> tuple[str, ...]:
        """The experiments the notebook reads at ``scale``."""
        return self.experiments(scale) if callable(self.experiments) else self.experiments

    def seeds_at(self, scale: str) -> tuple[int, ...]:
        """The seeds trained at ``scale``: all of them at :data:`ALL_SEEDS_SCALES`, else the first."""
        return self.seeds if scale in ALL_SEEDS_SCALES else self.seeds[:1]


def _named(prefix: str) -> tuple[str, ...]:
    """The experiments whose names start with ``prefix`` (e.g. ``"table1/"``), in paper order."""
    return tuple(name for name in list_experiments() if name.startswith(prefix))


def _table3_runs(scale: str) -> tuple[str, ...]:
    """Notebook 03's runs: Table 3 at ``scale``, its controls, and its four parsing networks trained alone (the
    reference for the PIL models' parsing branches)."""
    alone = tuple(f"calib/parsing-hg-1s-{units}u" for units in (1, 2, 4, 8))
    return (*table3_experiments(scale), *table3_controls(), *alone)


#: Notebook file-name prefix -> the runs it needs (sources of transfer and evaluation runs are added by
#: :func:`needed_runs`).
NOTEBOOKS: dict[str, NotebookRuns] = {
    # 01 also reads the parsing network of its rows trained alone (the reference for its parsing branches)
    "01": NotebookRuns("Table 1: VGG16 ablation on LIP", _named("table1/") + ("calib/parsing-vgg16",)),
    # 02 also reads the parsing networks of its PIL rows trained alone: HG-1s-1u (first row), HG-1s-2u (the others)
    "02": NotebookRuns("Table 2: hourglass baselines and PIL on LIP",
                       _named("table2/") + ("calib/parsing-hg-1s-1u", "calib/parsing-hg-1s-2u")),
    "03": NotebookRuns("Table 3: depth of the parsing net, with its controls", _table3_runs),
    # 04 also reads its control beyond the paper: the same PIL with a random, frozen parsing encoder and adapter
    "04": NotebookRuns("Table 6 / Fig. 4: MPII with the PIL transferred from LIP, and a random frozen PIL",
                       ("mpii/hg-8s-1u", "mpii/hg-8s-1u-pil-transfer", "mpii/hg-8s-1u-pil-random")),
    "05": NotebookRuns("Table 5: multi-person PASCAL-Person-Part", ("table5/baseline", "table5/pil")),
    "06": NotebookRuns("HG-1s-1u with and without PIL, one seed", ("table2/hg-1s-1u", "table2/hg-1s-1u-pil"),
                       seeds=(0,), needs_checkpoints=True),
}


def numbered_notebooks(folder: str | Path, only: Sequence[str] | None = None) -> list[Path]:
    """The numbered notebooks ``NN_*.ipynb`` of ``folder``, sorted; with ``only``, those whose names start with
    one of its prefixes."""
    paths = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
    return paths


def notebook_prefix(notebook: str) -> str:
    """The registered prefix of a notebook given as a prefix (``"01"``), a file name or a path.

    Raises:
        InputError: no prefix of :data:`NOTEBOOKS` starts the name.
    """
    name = Path(notebook).name
    for prefix in NOTEBOOKS:
        if name.startswith(prefix):
            return prefix
    known = ", ".join(f"{p} ({runs.title})" for p, runs in NOTEBOOKS.items())
    raise InputError(f"notebook {notebook!r}: no registered notebook has that prefix; expected a name starting "
                     f"with one of {known}")


def needed_runs(prefix: str, scale: str) -> list[tuple[str, int]]:
    """The (experiment, seed) pairs the notebook ``prefix`` needs at ``scale``: each run's source first (transfer
    source or evaluated run, :meth:`~piltools.config.ExperimentConfig.source_name`),
    then the notebook's own runs, experiments outer and seeds inner, each pair once."""
    entry = NOTEBOOKS[notebook_prefix(prefix)]
    pairs: list[tuple[str, int]] = []
    for name in entry.experiments_at(scale):
        for seed in entry.seeds_at(scale):
            source = get_experiment(name, scale, seed).source_name()
            if source is not None:
                pairs.append((source, seed))
            pairs.append((name, seed))
    return list(dict.fromkeys(pairs))


