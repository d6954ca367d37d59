"""Run plans: which of the notebooks' runs are trained already, how long the rest will take, and training them.

The runs each notebook needs come from :data:`piltools.collection.NOTEBOOKS`.
:func:`make_plan` resolves the notebooks' runs at a scale, lists each
distinct run once (with the notebooks that share it; a transfer run's source
counts as a needed run), marks the complete ones (and whether code other than
today's trained them, see :mod:`piltools.runs`), and estimates the rest on this
machine:

    run time = steps per epoch x epochs x step time + evaluation estimate

where the step time is measured (:func:`measure_step_seconds`: a few real
training steps of the config's model, at the config's thread count), once per
distinct (machine, model, config), and cached in ``<runs>/.step_times.json``
(:class:`StepTimes`). The evaluation estimate counts the forward passes of the
per-epoch quick validation and of the final evaluation (flip test, scales),
each at :data:`FORWARD_SHARE` of a training step. The wall time for ``jobs``
runs at a time follows the order :func:`train_plan` trains in
(:func:`piltools.training.run_many`: transfer sources first, then the rest,
each process taking the next run as it frees up).

``python -m piltools plan`` prints a plan; ``python -m piltools reproduce``
prints it, trains it (:func:`train_plan`, one progress bar over all runs) and
then executes the notebooks, which find their runs cached.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from piltools.collection import NOTEBOOKS, needed_runs, notebook_prefix
from piltools.config import ExperimentConfig
from piltools.errors import InputError
from piltools.experiments import SCALES, get_experiment
from piltools.runs import RunResult, is_complete, read_metrics, resolve_path, run_freshness, write_json
from piltools.training import distributed as D
from piltools.training.builders import build_datasets, build_model, cpu_threads, make_optimizer, to_device, train_loader
from piltools.training.loop import forward_loss
from piltools.training.runner import run_dir_of, run_many

#: Training steps timed per distinct model (after one untimed warm-up step); the median is kept.
MEASURED_STEPS = 5
#: Cost of one evaluation forward pass of a batch as a share of a training step (forward + backward + update):
#: the backward pass costs about twice the forward.
FORWARD_SHARE = 1.0 / 3.0
STEP_TIMES_FILE = ".step_times.json"


# ----------------------------------------------------------------------------
# step times
# ----------------------------------------------------------------------------
def measure_step_seconds(cfg: ExperimentConfig, steps: int) -> float:
    """Median wall seconds of one training step of ``cfg``'s model on this machine, over ``steps`` timed steps.

    Each step is the training loop's: a batch of the config's training split (built, and for synthetic data
    generated, as for training), forward and loss (:func:`piltools.training.loop.forward_loss`), backward and the
    optimiser's update, at ``cfg.train.cpu_threads`` torch threads on CPU. One untimed warm-up step comes first.

    Args:
        cfg: the run's config (its seed does not matter).
        steps: timed steps (at most one epoch's worth).
    """
    ctx = D.DistContext(device=_device())
    amp = ctx.device.startswith("cuda") and cfg.train.amp
    with cpu_threads(cfg, ctx):
        torch.manual_seed(0)
        model = build_model(cfg).to(ctx.device)
        if cfg.train.channels_last:
            model.to(memory_format=torch.channels_last)
        train_set, _ = build_datasets(cfg, model, ctx)
        optimizer = make_optimizer(cfg, model)
        model.train()
        times = []
        loader = train_loader(cfg, train_set, 0, ctx)
        batches = iter(loader)
        for _ in range(min(steps + 1, len(loader))):
            start = time.perf_counter()
            batch = to_device(next(batches), ctx.device, cfg.train.channels_last)
            _, loss, _ = forward_loss(cfg, model, batch, amp)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ctx.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:] or times)


def _device() -> str:
    """Where runs train when no device is asked for: CUDA when available."""
    return "cuda:0" if torch.cuda.is_available() else "cpu"


def machine_key() -> str:
    """This machine as the step-time cache knows it: host, cores, device and torch version."""
    device = _device()
    if device.startswith("cuda"):
        device += f" {torch.cuda.get_device_name(0)}"
    return f"{socket.gethostname()} {device} ({os.cpu_count()} cores), torch {torch.__version__}"


def step_key(cfg: ExperimentConfig) -> str:
    """The step-time cache key of a config: :func:`machine_key`, the model name and a hash of what a step's
    cost depends on (the model section, the data kind, input and augmentation, the batch, threads, layout)."""
    d = cfg.to_dict()
    costs = {
        "model": d["model"],
        "data": {k: d["data"][k] for k in ("kind", "input_size", "augment", "synthetic")},
        "train": {k: d["train"][k] for k in ("batch_size", "cpu_threads", "channels_last", "amp", "parsing_loss",
                                              "optimizer", "num_workers")},
    }
    digest = hashlib.sha256(json.dumps(costs, sort_keys=True).encode()).hexdigest()[:12]
    return f"{machine_key()} | {cfg.model.name} | {digest}"


class StepTimes:
    """Measured step times, cached per (machine, model, config) in a JSON file.

    Args:
        path: the cache file (``<runs>/.step_times.json``); created on the first measurement.
        steps: timed steps of a new measurement.
    """

    def __init__(self, path: Path, steps: int = MEASURED_STEPS) -> None:
        self.path = path
        self.steps = steps
        self.measured: list[str] = []  # model names measured by this object
        self.used: set[str] = set()  # keys looked up (measured or read from the file)
        self.entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            entries = json.loads(self.path.read_text())
            if not isinstance(entries, dict) or not all(isinstance(e.get("seconds"), (int, float))
                                                        for e in entries.values()):
                raise ValueError("expected an object of {\"seconds\": ...} entries")
        except (ValueError, AttributeError) as exc:
            raise InputError(f"step-time cache {self.path}: unreadable ({exc}); delete it and the step times are "
                             "measured again") from None
        return entries

    def seconds(self, cfg: ExperimentConfig) -> float:
        """The step time of ``cfg`` on this machine: cached, else measured now and cached."""
        key = step_key(cfg)
        self.used.add(key)
        if key not in self.entries:
            print(f"[plan] measuring {self.steps} training steps of {cfg.model.name} ({cfg.name}, {cfg.scale}) ...",
                  flush=True)
            self.entries[key] = {"seconds": measure_step_seconds(cfg, self.steps), "steps": self.steps,
                                 "experiment": cfg.name,
                                 "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self.measured.append(cfg.model.name)
            write_json(self.path, self.entries)
        return float(self.entries[key]["seconds"])


# ----------------------------------------------------------------------------
# estimates
# ----------------------------------------------------------------------------
def split_sizes(cfg: ExperimentConfig) -> tuple[int, int]:
    """(training samples, validation samples evaluated) of a config: from its synthetic parameters, else by
    reading the real dataset's index."""
    synthetic = cfg.data.synthetic
    if synthetic is not None:
        n_train, n_val = synthetic.n_train, synthetic.n_val
    else:
        ctx = D.DistContext(device="cpu")
        train_set, val_set = build_datasets(cfg, build_model(cfg), ctx)
        n_train, n_val = len(train_set), len(val_set)
    if cfg.data.max_val is not None:
        n_val = min(n_val, cfg.data.max_val)
    return n_train, n_val


@dataclass(frozen=True)
class RunEstimate:
    """Estimated seconds of what is left of one run.

    Args:
        step_seconds: measured seconds of one training step.
        steps_per_epoch: training steps of one epoch.
        epochs: epochs left to train.
        forward_passes: evaluation forward passes of a batch left (quick validations and the final evaluation).
    """

    step_seconds: float
    steps_per_epoch: int
    epochs: int
    forward_passes: int

    @property
    def train_seconds(self) -> float:
        """steps per epoch x epochs x step time."""
        return self.steps_per_epoch * self.epochs * self.step_seconds

    @property
    def eval_seconds(self) -> float:
        """forward passes x :data:`FORWARD_SHARE` x step time."""
        return self.forward_passes * FORWARD_SHARE * self.step_seconds

    @property
    def seconds(self) -> float:
        """Training plus evaluation."""
        return self.train_seconds + self.eval_seconds


def estimate_run(cfg: ExperimentConfig, step_seconds: float, epochs_done: int = 0,
                 sizes: tuple[int, int] | None = None) -> RunEstimate:
    """What is left of the run ``cfg`` after ``epochs_done`` epochs, at ``step_seconds`` per training step.

    Args:
        cfg: the run's config.
        step_seconds: measured seconds of one training step.
        epochs_done: epochs already trained (an interrupted run resumes after them).
        sizes: (training, validation) samples, default :func:`split_sizes`.
    """
    n_train, n_val = split_sizes(cfg) if sizes is None else sizes
    batch, epochs = cfg.train.batch_size, cfg.train.epochs
    if cfg.evaluate_from is not None:  # evaluates another run's model: nothing trains
        epochs_done = epochs
    steps = n_train // batch  # the training loader drops the last partial batch
    if cfg.train.steps_per_epoch is not None:
        steps = min(steps, cfg.train.steps_per_epoch)
    val_batches = math.ceil(n_val / batch)
    quick_vals = sum(1 for e in range(epochs_done + 1, epochs + 1) if e % cfg.train.val_every == 0 or e == epochs)
    final = (2 if cfg.train.eval_flip else 1) * len(cfg.train.eval_scales)
    final *= 2 if cfg.train.eval_kernels == "shuffled" else 1  # its own kernels' pass, then the shuffled one
    if cfg.evaluate_from is not None:
        quick_vals = 0
    return RunEstimate(step_seconds=step_seconds, steps_per_epoch=steps, epochs=max(epochs - epochs_done, 0),
                       forward_passes=val_batches * (quick_vals + final))


def wall_seconds(waves: Sequence[Sequence[float]], jobs: int) -> float:
    """Wall seconds of runs of the given durations, ``jobs`` at a time, wave after wave; within a wave each
    run starts, in order, as soon as a process is free (as :func:`piltools.training.pool.parallel_waves`)."""
    now = 0.0
    for wave in waves:
        free = [now] * max(jobs, 1)
        for seconds in wave:
            first = free.index(min(free))
            free[first] += seconds
        now = max(free)
    return now


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"7.5 min"`` or ``"2 h 05 min"``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


# ----------------------------------------------------------------------------
# the plan
# ----------------------------------------------------------------------------
@dataclass
class PlannedRun:
    """One distinct run of a plan.

    Args:
        config: the resolved config.
        run_dir: its run directory.
        notebooks: prefixes of the notebooks that need it.
        epochs_done: epochs trained so far (``config.train.epochs`` once complete).
        complete: the run directory holds a finished run.
        freshness: ``"current"``, ``"stale"`` or ``"unknown"`` for a complete run (:func:`piltools.runs.run_freshness`),
            else None.
        is_source: another needed run is transferred from it (it trains in the first wave).
        estimate: what is left to train, None for a complete run.
    """

    config: ExperimentConfig
    run_dir: Path
    notebooks: list[str]
    epochs_done: int = 0
    complete: bool = False
    freshness: str | None = None
    is_source: bool = False
    estimate: RunEstimate | None = None

    @property
    def key(self) -> tuple[str, int]:
        """(experiment, seed)."""
        return self.config.name, self.config.seed

    @property
    def seconds(self) -> float:
        """Estimated seconds left (0 for a complete run)."""
        return 0.0 if self.estimate is None else self.estimate.seconds

    @property
    def status(self) -> str:
        """``"done"``, ``"done, STALE"``, ``"resume at epoch k"`` or ``"to train"``."""
        if self.complete:
            return "done, STALE" if self.freshness == "stale" else "done"
        if self.epochs_done:
            return f"resume at epoch {self.epochs_done + 1}"
        return "to train"


@dataclass
class Plan:
    """The runs of some notebooks at a scale: what is done, what is left, how long the rest takes.

    Args:
        scale: the scale.
        notebooks: the notebooks' prefixes, in order.
        runs: each distinct run once, in training order within each notebook (transfer sources first).
        jobs: runs trained at once.
        out: runs folder.
        step_times: the step-time cache used (None when nothing was left to estimate).
    """

    scale: str
    notebooks: list[str]
    runs: list[PlannedRun]
    jobs: int
    out: str | Path = "results/runs"
    step_times: StepTimes | None = field(default=None, repr=False)

    def runs_of(self, prefix: str | None = None) -> list[PlannedRun]:
        """The runs the notebook ``prefix`` needs (all runs when None)."""
        return [r for r in self.runs if prefix is None or prefix in r.notebooks]

    def to_train(self, prefix: str | None = None) -> list[PlannedRun]:
        """The runs that are not complete."""
        return [r for r in self.runs_of(prefix) if not r.complete]

    def training_seconds(self, prefix: str | None = None) -> float:
        """Estimated seconds of training and evaluation left, one run after the other."""
        return sum(r.seconds for r in self.runs_of(prefix))

    def batches(self, prefix: str | None = None) -> list[tuple[list[str], list[int]]]:
        """The ``(experiments, seeds)`` calls of :func:`piltools.training.run_many` that train the runs: the
        experiments needed with the same seeds grouped together, the longest first (so that with several runs
        at a time the short ones fill in at the end; the results do not depend on the order)."""
        seeds_of: dict[str, list[int]] = {}
        cost: dict[str, float] = {}
        for run in self.runs_of(prefix):
            seeds_of.setdefault(run.config.name, []).append(run.config.seed)
            cost[run.config.name] = cost.get(run.config.name, 0.0) + run.seconds
        groups: dict[tuple[int, ...], list[str]] = {}
        for name in sorted(seeds_of, key=lambda n: -cost[n]):  # stable: equal costs keep the notebook's order
            groups.setdefault(tuple(seeds_of[name]), []).append(name)
        return [(names, list(seeds)) for seeds, names in groups.items()]

    def wall_seconds(self, prefix: str | None = None, runs: Iterable[PlannedRun] | None = None) -> float:
        """Estimated wall seconds with :attr:`jobs` runs at a time, trained as :func:`train_plan` does
        (per :meth:`batches` call: the transfer sources and the runs that load nothing, then the transfer runs).

        Args:
            prefix: one notebook's runs only (as if it were reproduced alone); None: all.
            runs: only these of them (e.g. the unfinished ones); default all.
        """
        chosen = {r.key for r in (self.runs_of(prefix) if runs is None else runs)}
        by_key = {r.key: r for r in self.runs}
        total = 0.0
        for names, seeds in self.batches(prefix):
            batch = [by_key[(n, s)] for n in names for s in seeds if (n, s) in chosen]
            first = [r for r in batch if r.is_source] + [
                r for r in batch if not r.is_source and r.config.source_name() is None]
            second = [r for r in batch if r.config.source_name() is not None]
            total += wall_seconds([[r.seconds for r in first], [r.seconds for r in second]], self.jobs)
        return total

    def lines(self, titles: dict[str, str] | None = None) -> list[str]:
        """The plan as text: per notebook its runs not listed before, its totals; then the overall totals.

        Args:
            titles: a display name per prefix (e.g. the notebook file name); default the registry's title.
        """
        titles = titles or {}
        out = [f"plan at scale={self.scale}: {len(self.notebooks)} notebook(s), {len(self.runs)} distinct runs "
               f"under {resolve_path(self.out)}; estimates on {machine_key()}, {self.jobs} run(s) at a time"]
        width = max((len(r.config.name) for r in self.runs), default=10)
        listed: set[tuple[str, int]] = set()
        for prefix in self.notebooks:
            runs = self.runs_of(prefix)
            earlier = sum(1 for r in runs if r.key in listed)
            out.append("")
            out.append(f"{prefix}  {titles.get(prefix, NOTEBOOKS[prefix].title)}")
            for run in runs:
                if run.key in listed:
                    continue
                listed.add(run.key)
                out.append("  " + self._run_line(run, width))
            left = self.to_train(prefix)
            out.append(f"  {prefix}: {len(runs)} runs ({len(runs) - len(left)} done), "
                       f"~{format_duration(self.training_seconds(prefix))} of training left, "
                       f"~{format_duration(self.wall_seconds(prefix))} wall with --jobs {self.jobs}"
                       + (f" ({earlier} of them listed above)" if earlier else ""))
        left = self.to_train()
        out.append("")
        out.append(f"total: {len(self.runs)} distinct runs, {len(self.runs) - len(left)} done, {len(left)} to train: "
                   f"~{format_duration(self.training_seconds())} of training, "
                   f"~{format_duration(self.wall_seconds())} wall with --jobs {self.jobs} "
                   f"(each run {self._threads()})")
        if self.step_times is not None:
            st = self.step_times
            out.append(f"step times of {len(st.used)} model(s): {len(st.measured)} measured now, "
                       f"{len(st.used) - len(st.measured)} from the cache {st.path}")
        return out

    def _threads(self) -> str:
        threads = {r.config.train.cpu_threads for r in self.runs}
        if threads == {1}:
            return "on one thread"
        return "at the config's threads" if None not in threads else "at torch's default threads"

    def _run_line(self, run: PlannedRun, width: int) -> str:
        cfg = run.config
        shared = [p for p in run.notebooks if p in self.notebooks]
        note = f"  shared by {', '.join(shared)}" if len(shared) > 1 else ""
        if run.is_source:
            note += "  (transfer source)"
        if run.estimate is None:
            return f"{cfg.name:<{width}}  seed {cfg.seed}  {run.status:<18}{run.run_dir.name}{note}"
        e = run.estimate
        return (f"{cfg.name:<{width}}  seed {cfg.seed}  {run.status:<18}~{format_duration(e.seconds)} "
                f"({e.steps_per_epoch} steps x {e.epochs} epochs x {e.step_seconds:.3f} s + eval "
                f"{format_duration(e.eval_seconds)}){note}")


def default_jobs(scale: str) -> int:
    """Runs trained at once by default: one per core at scales whose runs use one thread, else one."""
    return (os.cpu_count() or 1) if SCALES[scale].cpu_threads == 1 else 1


def make_plan(notebooks: Sequence[str], scale: str, jobs: int, out: str | Path = "results/runs") -> Plan:
    """The plan of the notebooks' runs at ``scale``, estimated for ``jobs`` runs at a time.

    Step times of the models still to train are measured on this machine once and cached in
    ``<out>/.step_times.json``.

    Args:
        notebooks: notebook prefixes, file names or paths (:func:`notebook_prefix`).
        scale: ``"smoke"``, ``"cpu"`` or ``"paper"``.
        jobs: runs trained at once (at least 1).
        out: runs folder (relative to the project root).

    Raises:
        InputError: an unregistered notebook, or ``jobs`` < 1.
    """
    if jobs < 1:
        raise InputError(f"--jobs {jobs}: expected at least 1 run at a time")
    prefixes = list(dict.fromkeys(notebook_prefix(n) for n in notebooks))
    runs: dict[tuple[str, int], PlannedRun] = {}
    for prefix in prefixes:
        for name, seed in needed_runs(prefix, scale):
            if (name, seed) not in runs:
                cfg = get_experiment(name, scale, seed)
                runs[(name, seed)] = PlannedRun(config=cfg, run_dir=run_dir_of(cfg, out), notebooks=[])
            runs[(name, seed)].notebooks.append(prefix)
    sources = {(r.config.source_name(), r.config.seed) for r in runs.values()}
    step_times = None
    for run in runs.values():
        run.is_source = run.key in sources
        run.complete = is_complete(run.run_dir)
        if run.complete:
            run.freshness = run_freshness(run.run_dir)
            run.epochs_done = run.config.train.epochs
            continue
        metrics = run.run_dir / "metrics.csv"
        run.epochs_done = len(read_metrics(metrics)) if metrics.is_file() else 0
        if step_times is None:
            step_times = StepTimes(resolve_path(out) / STEP_TIMES_FILE)
        run.estimate = estimate_run(run.config, step_times.seconds(run.config), run.epochs_done)
    return Plan(scale=scale, notebooks=prefixes, runs=list(runs.values()), jobs=jobs, out=out, step_times=step_times)


# ----------------------------------------------------------------------------
# training a plan
# ----------------------------------------------------------------------------
class _RunsBar:
    """One progress bar over a plan's runs, advanced by a thread that watches the run directories complete.

    Its ETA is the plan's wall-time estimate of the unfinished runs, counted down between completions. When
    stderr is not a terminal (a log file, CI) it is redrawn only when a run completes, not every poll.
    """

    def __init__(self, plan: Plan, poll_seconds: float) -> None:
        self.plan = plan
        self.poll_seconds = poll_seconds
        self.todo = plan.to_train()
        self.done: set[tuple[str, int]] = set()
        self.changed = time.time()
        self.left = plan.wall_seconds()
        self.interactive = sys.stderr.isatty()
        self.drawn = False
        self.bar = tqdm(total=len(plan.runs), initial=len(plan.runs) - len(self.todo), unit="run",
                        desc=f"{plan.scale} runs", dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs "
                                   "[{elapsed} elapsed{postfix}]")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "_RunsBar":
        self.update()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.update()
        self.bar.close()

    def _watch(self) -> None:
        while not self.stop.wait(self.poll_seconds):
            self.update()

    def update(self) -> None:
        """Count the runs completed since the last call; refresh the count and the ETA."""
        finished = {r.key for r in self.todo if r.key not in self.done and is_complete(r.run_dir)}
        if finished:
            self.done |= finished
            self.changed = time.time()
            self.left = self.plan.wall_seconds(runs=[r for r in self.todo if r.key not in self.done])
            self.bar.update(len(finished))
        elif not self.interactive and self.drawn:
            return  # nothing new to write into a log
        self.drawn = True
        left = max(self.left - (time.time() - self.changed), 0.0) if len(self.done) < len(self.todo) else 0.0
        self.bar.set_postfix_str(f"ETA ~{format_duration(left)}", refresh=True)


def train_plan(plan: Plan, poll_seconds: float = 2.0) -> list[RunResult]:
    """Train every unfinished run of ``plan``, :attr:`Plan.jobs` at a time, under one progress bar over all runs.

    Trains through :func:`piltools.training.run_many`, one call per :meth:`Plan.batches` entry (complete runs
    are returned from the cache, stale ones are reported and kept).

    Args:
        plan: from :func:`make_plan`.
        poll_seconds: how often the bar looks for newly completed run directories.

    Returns:
        The results of every run of the plan, batch by batch.
    """
    results: list[RunResult] = []
    with _RunsBar(plan, poll_seconds):
        for names, seeds in plan.batches():
            results += run_many(names, plan.scale, seeds, out=plan.out, quiet=True, jobs=plan.jobs)
    return results
