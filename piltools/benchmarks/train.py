"""``python -m piltools bench train``: what one training step of every model costs at a scale.

For every distinct model of the named experiments at ``--scale`` (each resolved
with :func:`piltools.experiments.get_experiment`), one training step as the
training loop runs it: the config's model builder, its batch size and input
size, :func:`piltools.losses.total_loss` with its beta, RMSProp at its
learning rate, channels-last as the config says, ``cfg.train.cpu_threads``
torch threads on CPU. Reported per model: images/s, ms/step (median of the timed
steps after a warm-up), forward+backward GFLOP per step (``FlopCounterMode``
with the groups-aware convolution backward of :mod:`piltools.benchmarks.model`),
GFLOP/s and their share of the fp32 matmul peak measured in the same run
(a 1024x1024 matmul loop at the same thread count). The share can pass 100%:
on one thread oneDNN's 3x3 convolutions (most of VGG16's FLOPs) run faster
than MKL's square fp32 matmul.

Two variants of the step:

- ``today``: the training loop as it is (per-parameter RMSProp loop, glibc's
  default allocator settings).
- ``tuned``: RMSProp's multi-tensor ``foreach`` implementation, and
  :func:`retain_freed_memory` (freed tensor memory stays in the process instead
  of going back to the kernel, which otherwise zero-fills fresh pages on every
  step). Both keep the numbers bit-identical: same ops, same order.

``--compare`` times both variants of every model, each in fresh processes
(the allocator setting is process-wide and one-way), alternating
today / tuned over ``rounds`` rounds so that load from other processes hits
both alike, and adds a ``train_step_speedup`` row: the ratio of the median
CPU times per step (today / tuned), which a shared machine's load distorts far
less than wall time (quoted next to it).
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from piltools.benchmarks.model import count_step_flops, machine_description, make_train_step, write_rows
from piltools.config import ExperimentConfig
from piltools.errors import InputError
from piltools.experiments import get_experiment, list_experiments
from piltools.models import resolve_name
from piltools.training.builders import build_model

VARIANTS = ("today", "tuned")
MATMUL_SIZE = 1024
# glibc mallopt parameters (malloc.h): M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 1 << 30  # allocations below 1 GiB come from the heap, and up to 1 GiB of free heap is kept


def retain_freed_memory() -> bool:
    """Keep freed memory in the process (glibc): no mmap/munmap per large tensor, no heap trimming.

    By default glibc serves large blocks with fresh ``mmap`` pages and trims the
    heap when its top is free, so every training step page-faults tens of
    megabytes of zero-filled pages back in. Raising the mmap and trim thresholds
    keeps that memory mapped. Process-wide and not undone; it changes no
    computed value. Returns False (and does nothing) where glibc's ``mallopt``
    is unavailable.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))


@dataclass(frozen=True)
class ModelCase:
    """One model to benchmark: its name and the experiment whose config (batch, lr, beta...) the step uses.

    Args:
        model: the registry name, e.g. ``"HG-8s-1u-PIL(HG-1s-2u)"``.
        experiment: the first named experiment (in :func:`list_experiments` order) that trains it.
    """

    model: str
    experiment: str


def model_cases(scale: str, models: list[str] | None = None) -> list[ModelCase]:
    """One :class:`ModelCase` per distinct model of the named experiments, in experiment order.

    Args:
        scale: the experiments' scale (``smoke``, ``cpu``, ``paper``).
        models: keep only these (paper names or slugs); None keeps all.

    Raises:
        InputError: a name in ``models`` is no registered model, or no experiment trains it.
    """
    cases: dict[str, ModelCase] = {}
    for name in list_experiments():
        model = get_experiment(name, scale).model.name
        cases.setdefault(model, ModelCase(model, name))
    if models is None:
        return list(cases.values())
    chosen = []
    for name in models:
        try:
            model = resolve_name(name)
        except ValueError as err:
            raise InputError(f"--models: {err}") from None
        if model not in cases:
            raise InputError(f"--models: no named experiment trains {model!r}; trained ones: {', '.join(cases)}")
        chosen.append(cases[model])
    return chosen


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` torch intra-op threads for the block (None: leave as is), then restore the count."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def step_threads(cfg: ExperimentConfig, threads: int | None) -> int | None:
    """The thread count of a step: ``threads`` if given, else the config's ``cpu_threads``."""
    return threads if threads is not None else cfg.train.cpu_threads


def build_step(cfg: ExperimentConfig, variant: str) -> tuple[nn.Module, Callable[[], None]]:
    """``(model, step)``: the config's model (seeded 0, channels-last as the config says) and a step closure.

    Args:
        cfg: the experiment config.
        variant: ``"today"`` or ``"tuned"`` (see the module docstring); ``tuned``
            also calls :func:`retain_freed_memory` for this process.
    """
    if variant not in VARIANTS:
        raise InputError(f"--variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    if variant == "tuned":
        retain_freed_memory()
    torch.manual_seed(0)
    model = build_model(cfg)
    if cfg.train.channels_last:
        model.to(memory_format=torch.channels_last)
    step = make_train_step(cfg, model, torch.device("cpu"), channels_last=cfg.train.channels_last,
                           foreach=variant == "tuned")
    return model, step


def time_steps(step: Callable[[], None], steps: int, warmup: int = 2) -> list[tuple[float, float]]:
    """``(wall, cpu)`` seconds of each of ``steps`` calls of ``step`` after ``warmup`` untimed ones.

    The CPU time is this thread's (user + system, page faults included): on a
    shared machine it leaves out the time spent waiting for a core, which the
    wall time does not. With one torch thread it is the whole step's work.
    """
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.thread_time()
        step()
        times.append((time.perf_counter() - wall, time.thread_time() - cpu))
    return times


def median_ms(times: list[tuple[float, float]]) -> tuple[float, float]:
    """Median ``(wall, cpu)`` milliseconds of :func:`time_steps` results."""
    return (1e3 * statistics.median(t[0] for t in times), 1e3 * statistics.median(t[1] for t in times))


def time_case(experiment: str, scale: str, variant: str, steps: int,
              threads: int | None) -> list[tuple[float, float]]:
    """Step wall times of one experiment's model in one variant (run in a fresh process by ``--compare``)."""
    cfg = get_experiment(experiment, scale)
    with torch_threads(step_threads(cfg, threads)):
        _, step = build_step(cfg, variant)
        return time_steps(step, steps)


def matmul_peak_gflops(threads: int | None, reps: int = 10) -> float:
    """fp32 GFLOP/s of a ``MATMUL_SIZE`` square matmul (best of ``reps`` after a warm-up) at ``threads`` threads."""
    n = MATMUL_SIZE
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(n, n, generator=gen), torch.rand(n, n, generator=gen)
    out = torch.empty(n, n)
    with torch_threads(threads):
        torch.mm(a, b, out=out)
        best = min(_timed(lambda: torch.mm(a, b, out=out)) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass
class CaseResult:
    """Measurements of one model.

    Args:
        case: the model and its experiment.
        setting: batch, input size, threads, memory format, variant (for the CSV).
        batch_size: images per step.
        ms: median wall ms per step of ``variant``.
        cpu_ms: median CPU ms per step of ``variant`` (see :func:`time_steps`).
        flops: forward+backward FLOPs of one step.
        compare_ms: ``{variant: (median wall ms, median CPU ms)}`` from fresh processes (``--compare`` only).
    """

    case: ModelCase
    setting: str
    batch_size: int
    ms: float
    cpu_ms: float
    flops: int
    compare_ms: dict[str, tuple[float, float]] | None = None


def bench_case(case: ModelCase, scale: str, variant: str, steps: int, threads: int | None, compare: bool,
               rounds: int = 2) -> CaseResult:
    """Time (in this process) and count one model's step; with ``compare``, time both variants in fresh processes."""
    cfg = get_experiment(case.experiment, scale)
    n_threads = step_threads(cfg, threads)
    with torch_threads(n_threads):
        _, step = build_step(cfg, variant)
        ms, cpu_ms = median_ms(time_steps(step, steps))
        flops = count_step_flops(step)
    layout = "channels_last" if cfg.train.channels_last else "contiguous"
    setting = (f"{case.model} ({case.experiment}, {scale}), batch {cfg.train.batch_size}, input {cfg.data.input_size}, "
               f"{n_threads or torch.get_num_threads()} thread(s), {layout}")
    compare_ms = None
    if compare:
        times: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        context = multiprocessing.get_context("spawn")
        for _ in range(rounds):
            for v in VARIANTS:
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                    times[v] += pool.submit(time_case, case.experiment, scale, v, steps, threads).result()
        compare_ms = {v: median_ms(ts) for v, ts in times.items()}
    return CaseResult(case, setting, cfg.train.batch_size, ms, cpu_ms, flops, compare_ms)


def result_rows(result: CaseResult, variant: str, steps: int, peak: float) -> list[tuple[str, str, float, str, str]]:
    """CSV rows (benchmark, setting, value, unit, note) of one model."""
    gflops = result.flops / 1e9
    rate = gflops / (result.ms / 1e3)
    rows = [
        ("train_step_throughput", f"{result.setting}, {variant}", result.batch_size / (result.ms / 1e3), "images/s",
         f"{result.ms:.1f} ms/step wall ({result.cpu_ms:.1f} ms CPU), median of {steps} steps after 2 warm-up; "
         "fwd+loss+bwd+RMSProp"),
        ("train_step_gflops", f"{result.setting}, {variant}", rate, "GFLOP/s (forward+backward)",
         f"{gflops:.3f} GFLOP/step (FlopCounterMode, groups-aware conv backward) at {result.ms:.1f} ms/step = "
         f"{100 * rate / peak:.1f}% of the {MATMUL_SIZE}x{MATMUL_SIZE} fp32 matmul peak {peak:.1f} GFLOP/s"),
    ]
    if result.compare_ms is not None:
        (today_wall, today_cpu), (tuned_wall, tuned_cpu) = result.compare_ms["today"], result.compare_ms["tuned"]
        rows.append(("train_step_speedup", f"{result.setting}, tuned / today", today_cpu / tuned_cpu,
                     "x (today CPU ms / tuned CPU ms)",
                     f"CPU ms today {today_cpu:.1f}, tuned {tuned_cpu:.1f}; wall ms today {today_wall:.1f}, tuned "
                     f"{tuned_wall:.1f} (x{today_wall / tuned_wall:.2f}): medians of {steps} steps x 2 fresh processes "
                     "per variant, alternated; tuned = RMSProp foreach + retained freed memory"))
    return rows


def main(scale: str = "cpu", models: list[str] | None = None, steps: int = 5, variant: str = "today",
         threads: int | None = None, compare: bool = False, out: str | Path = "results/bench.csv",
         quick: bool = False) -> int:
    """Run the training-step benchmark, print the rows and append them to ``out``.

    Args:
        scale: the experiments' scale.
        models: model names or slugs (None: every model the scale's experiments train).
        steps: timed steps per model.
        variant: ``today`` or ``tuned`` (timed in this process).
        threads: torch threads (None: each config's ``cpu_threads``).
        compare: also time both variants in fresh processes and add a speedup row.
        out: CSV to append to.
        quick: one timed step and the first model only (a smoke check).

    Raises:
        InputError: bad ``models``, ``variant``, ``steps`` or ``threads``.
    """
    if variant not in VARIANTS:
        raise InputError(f"--variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    if steps < 1:
        raise InputError(f"--steps: expected a positive number of timed steps, got {steps}")
    if threads is not None and threads < 1:
        raise InputError(f"--threads: expected a positive thread count, got {threads}")
    cases = model_cases(scale, models)
    if quick:
        cases, steps = cases[:1], 1
    first_threads = step_threads(get_experiment(cases[0].experiment, scale), threads)
    with torch_threads(first_threads):
        machine = machine_description(torch.device("cpu"))
        peak = matmul_peak_gflops(first_threads)
    print(f"train-step benchmark on {machine}: {len(cases)} model(s) at scale {scale!r}, "
          f"matmul peak {peak:.1f} GFLOP/s", flush=True)
    rows = [("matmul_peak", f"{MATMUL_SIZE}x{MATMUL_SIZE} fp32 torch.mm", peak, "GFLOP/s",
             f"best of 10 after a warm-up, {first_threads or torch.get_num_threads()} thread(s)")]
    for case in cases:
        result = bench_case(case, scale, variant, steps, threads, compare)
        case_rows = result_rows(result, variant, steps, peak)
        for bench, setting, value, unit, note in case_rows:
            print(f"{bench:22s} {value:9.2f} {unit:26s} | {setting} | {note}", flush=True)
        rows += case_rows
    if quick:
        rows = [(bench, setting, value, unit, f"QUICK, not meaningful; {note}")
                for bench, setting, value, unit, note in rows]
    path = write_rows(out, machine, rows)
    print(f"appended {len(rows)} rows to {path}")
    return 0
