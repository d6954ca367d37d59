"""``python -m piltools bench model``: what the adaptive convolution and PIL cost, as ratios from one run.

Measurements (all in the same process, on CUDA when available, else CPU):

1. Grouped per-sample depthwise convolution (one ``conv2d`` with ``groups=N*C``)
   vs a Python loop over samples, batch 16, C=256, 64x64, 7x7 kernels: forward,
   and forward+backward; for the bare depthwise op and for the whole
   ``AdaptiveConv`` module (V, depthwise, U, BN, ReLU).
2. The adaptive convolution's share of a PIL training step
   (``HG-8s-1u-PIL(HG-1s-2u)``): TIME measured with module hooks on
   ``model.adaptive_conv`` (forward pre/post hooks + full backward pre/post
   hooks, wall clock, synchronised on CUDA), and FLOPs of the module counted
   in isolation (forward + backward at the step's shapes) with
   ``torch.utils.flop_counter.FlopCounterMode``.
3. One training step (forward, loss, backward, RMSProp step) of ``HG-8s-1u``
   vs ``HG-8s-1u-PIL(HG-1s-2u)`` at paper width (256 features, 256 input):
   time ratio next to the FLOP ratio (forward + backward FLOPs counted by
   ``FlopCounterMode``). The step is the training recipe of the Table 2
   experiments (``table2/hg-8s-1u`` and ``table2/hg-8s-1u-pil`` resolved at the
   ``paper`` scale, with the benchmark's width, input size and batch): the
   same model builder, loss (:func:`piltools.training.loop.forward_loss`, the
   config's beta and parsing classes) and optimiser (the config's RMSProp
   rate) as ``python -m piltools train``.

FLOPs: torch's built-in ``convolution_backward`` formula ignores ``groups`` for
the weight gradient (it over-counts a grouped conv's weight gradient by the
number of groups: x N*C for our depthwise conv), so every count here uses
:func:`conv_backward_flop_grouped` instead. Timings are medians over calls that
alternate between the two candidates after a warm-up, so load from other
processes on a shared machine hits both alike. Rows are appended to
``results/bench.csv`` (timestamp, machine, benchmark, setting, value, unit, note).
"""
from __future__ import annotations

import csv
import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

from piltools.config import ExperimentConfig
from piltools.experiments import get_experiment, with_changes
from piltools.models import AdaptiveConv, depthwise_conv_grouped, depthwise_conv_loop
from piltools.runs import describe_machine, machine_info
from piltools.training.builders import build_model, make_optimizer
from piltools.training.loop import forward_loss

CSV_COLUMNS = ("timestamp", "machine", "benchmark", "setting", "value", "unit", "note")
BASELINE_EXPERIMENT = "table2/hg-8s-1u"  # HG-8s-1u
PIL_EXPERIMENT = "table2/hg-8s-1u-pil"  # HG-8s-1u-PIL(HG-1s-2u)
RECIPE_SCALE = "paper"  # the scale whose training recipe (lr, beta) the step uses


@dataclass(frozen=True)
class BenchSizes:
    """Sizes of one benchmark run.

    Args:
        conv_batch, conv_channels, conv_size, conv_kernel: adaptive-conv comparison.
        conv_reps: timed repetitions of the adaptive-conv comparison.
        width, input_size, train_batch: training-step comparison (paper: 256, 256).
        adapter_pools: adapter max-pools (paper 2; fewer for tiny quick inputs).
        step_reps: timed training steps per model.
    """

    conv_batch: int = 16
    conv_channels: int = 256
    conv_size: int = 64
    conv_kernel: int = 7
    conv_reps: int = 10
    width: int = 256
    input_size: int = 256
    train_batch: int = 2
    adapter_pools: int = 2
    step_reps: int = 3


PAPER = BenchSizes()
QUICK = BenchSizes(conv_batch=4, conv_channels=32, conv_size=32, conv_reps=3, width=32, input_size=64,
                   train_batch=2, adapter_pools=1, step_reps=1)


def machine_description(device: torch.device) -> str:
    """The machine a benchmark runs on, with versions and thread count (:func:`piltools.runs.describe_machine`).

    Args:
        device: the device the benchmark runs on.
    """
    return describe_machine(machine_info(str(device)), versions=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def paired_median_times(fns: dict[str, Callable[[], object]], device: torch.device, reps: int,
                        warmup: int = 1) -> dict[str, float]:
    """Median wall time (seconds) of each function, timed in alternation.

    Interleaving the candidates (a, b, a, b, ...) exposes them to the same load
    on a shared machine, so their ratio is fairer than timing one after the other.

    Args:
        fns: name -> zero-argument function to time.
        device: synchronised before and after every call on CUDA.
        reps: timed calls per function.
        warmup: untimed calls per function first.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def conv_backward_flop_grouped(grad_out_shape: list[int], x_shape: list[int], w_shape: list[int], bias: object,
                               stride: object, padding: object, dilation: object, transposed: bool,
                               output_padding: object, groups: int, output_mask: list[bool],
                               out_shape: object = None, **kwargs: object) -> int:
    """FLOPs of ``aten.convolution_backward`` that respect ``groups``.

    torch's built-in formula counts the weight gradient as a dense conv over all
    input channels, ignoring ``groups``: for our grouped depthwise conv
    (groups = N*C) it over-counts by a factor N*C. Each requested gradient
    (input, weight) costs as many multiply-adds as the forward conv, whose
    count ``conv_flop_count`` gets right because ``w_shape[1]`` is C_in / groups.
    """
    forward = conv_flop_count(x_shape, w_shape, grad_out_shape, transposed=bool(transposed))
    return forward * (int(output_mask[0]) + int(output_mask[1]))


def flop_counter() -> FlopCounterMode:
    """A ``FlopCounterMode`` with the groups-aware convolution-backward formula."""
    return FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: conv_backward_flop_grouped})


def _loop_adaptive_conv(module: AdaptiveConv, features: Tensor, kernels: Tensor) -> Tensor:
    """``module``'s computation with the per-sample loop in place of the grouped conv (reference only)."""
    return module.relu(module.bn(module.post(depthwise_conv_loop(module.pre(features), kernels))))


def bench_grouped_vs_loop(sizes: BenchSizes, device: torch.device) -> list[tuple[str, str, float, str, str]]:
    """Rows (benchmark, setting, value, unit, note) comparing grouped and looped depthwise convs."""
    n, c, s, k = sizes.conv_batch, sizes.conv_channels, sizes.conv_size, sizes.conv_kernel
    x = torch.randn(n, c, s, s, device=device, requires_grad=True)
    w = torch.randn(n, c, k, k, device=device, requires_grad=True)
    module = AdaptiveConv(c).to(device).train()
    candidates = {
        "depthwise op": (lambda: depthwise_conv_grouped(x, w), lambda: depthwise_conv_loop(x, w)),
        "AdaptiveConv module": (lambda: module(x, w), lambda: _loop_adaptive_conv(module, x, w)),
    }
    rows = []
    for what, (grouped, looped) in candidates.items():
        for mode in ("forward", "forward+backward"):
            def run(fn: Callable[[], Tensor], mode: str = mode) -> None:
                if mode == "forward":
                    with torch.no_grad():
                        fn()
                else:
                    fn().square().mean().backward()
            medians = paired_median_times({"grouped": lambda: run(grouped), "loop": lambda: run(looped)},
                                          device, sizes.conv_reps)
            t_grouped, t_loop = medians["grouped"], medians["loop"]
            rows.append((
                "adaptive_conv_grouped_vs_loop",
                f"{what}, {mode}, N={n} C={c} {s}x{s} k={k}",
                t_loop / t_grouped,
                "x (loop time / grouped time)",
                f"grouped {t_grouped * 1e3:.2f} ms, loop {t_loop * 1e3:.2f} ms, medians of {sizes.conv_reps} alternated calls",
            ))
    return rows


def bench_config(experiment: str, sizes: BenchSizes) -> ExperimentConfig:
    """The experiment at the ``paper`` scale with the benchmark's width, adapter pools, input size and batch.

    Args:
        experiment: a named experiment, e.g. ``"table2/hg-8s-1u-pil"``.
        sizes: the benchmark sizes.
    """
    cfg = get_experiment(experiment, scale=RECIPE_SCALE)
    return with_changes(cfg, model={"width": sizes.width, "adapter_pools": sizes.adapter_pools},
                        data={"input_size": sizes.input_size}, train={"batch_size": sizes.train_batch})


def make_batch(cfg: ExperimentConfig, model: nn.Module, device: torch.device,
               channels_last: bool = False) -> dict[str, Tensor]:
    """A random training batch in the layout of the datasets' collated samples.

    Keys: ``image`` ``(B, 3, S, S)``, ``heatmaps`` ``(B, K', S/stride, S/stride)``,
    ``joint_mask`` ``(B, K)`` all ones, ``parsing`` ``(B, S, S)`` class ids below
    ``cfg.model.num_parsing``; B and S are the config's batch and input size.

    Args:
        cfg: the benchmark config (:func:`bench_config`).
        model: the model built from it (for the heatmap count and stride).
        device: where the tensors go.
        channels_last: the image in channels-last memory format (as the training loop passes it).
    """
    gen = torch.Generator().manual_seed(0)
    b, s, cells = cfg.train.batch_size, cfg.data.input_size, cfg.data.input_size // model.stride
    batch = {
        "image": torch.rand(b, 3, s, s, generator=gen) - 0.5,
        "heatmaps": torch.rand(b, model.num_heatmaps, cells, cells, generator=gen),
        "parsing": torch.randint(0, cfg.model.num_parsing, (b, s, s), generator=gen),
        "joint_mask": torch.ones(b, cfg.model.num_joints),
    }
    if channels_last:
        batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)
    return {key: value.to(device) for key, value in batch.items()}


def make_train_step(cfg: ExperimentConfig, model: nn.Module, device: torch.device, channels_last: bool = False,
                    foreach: bool = False) -> Callable[[], None]:
    """A closure running one training step: :func:`~piltools.training.loop.forward_loss`, backward, optimiser step.

    Args:
        cfg: the benchmark config (beta, learning rate, parsing loss on or off).
        model: the model built from ``cfg``, already on ``device`` (and in channels-last
            format if ``channels_last``).
        device: where the batch goes.
        channels_last: pass the image in channels-last format.
        foreach: the optimiser's multi-tensor (``foreach=True``) implementation instead of
            the per-parameter loop that :func:`~piltools.training.builders.make_optimizer` gives on CPU.
    """
    batch = make_batch(cfg, model, device, channels_last=channels_last)
    optimizer = make_optimizer(cfg, model)
    if foreach:
        for group in optimizer.param_groups:
            group["foreach"] = True
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        _, loss, _ = forward_loss(cfg, model, batch)
        loss.backward()
        optimizer.step()

    return step


def count_step_flops(step: Callable[[], None]) -> int:
    """Total FLOPs of one training step (forward + backward)."""
    counter = flop_counter()
    with counter:
        step()
    return counter.get_total_flops()


def isolated_adaptive_conv_flops(model: nn.Module, sizes: BenchSizes, device: torch.device) -> int:
    """Forward + backward FLOPs of ``model.adaptive_conv`` alone at the shapes of a training step.

    Counted in isolation because ``FlopCounterMode``'s per-module attribution of
    backward ops is unreliable when branches interleave in the autograd graph.
    """
    conv = model.adaptive_conv
    h = sizes.input_size // model.stride
    k = model.kernel_size(sizes.input_size)
    features = torch.randn(sizes.train_batch, conv.pre.in_channels, h, h, device=device, requires_grad=True)
    kernels = torch.randn(sizes.train_batch, conv.pre.in_channels, k, k, device=device, requires_grad=True)
    counter = flop_counter()
    with counter:
        conv(features, kernels).square().mean().backward()
    conv.zero_grad(set_to_none=True)
    return counter.get_total_flops()


class ModuleTimer:
    """Wall time spent inside one module's forward and backward, via hooks.

    Forward: pre-hook to forward hook. Backward: full backward pre-hook (gradient
    w.r.t. the output ready) to full backward hook (gradients w.r.t. the inputs
    computed). Both synchronise on CUDA.

    Args:
        module: the module to time.
        device: where it runs.
    """

    def __init__(self, module: nn.Module, device: torch.device) -> None:
        self.device = device
        self.forward_s = 0.0
        self.backward_s = 0.0
        self._start = 0.0
        self._handles = [
            module.register_forward_pre_hook(self._begin),
            module.register_forward_hook(self._end_forward),
            module.register_full_backward_pre_hook(self._begin),
            module.register_full_backward_hook(self._end_backward),
        ]

    def _begin(self, *args: object) -> None:
        _sync(self.device)
        self._start = time.perf_counter()

    def _end_forward(self, *args: object) -> None:
        _sync(self.device)
        self.forward_s += time.perf_counter() - self._start

    def _end_backward(self, *args: object) -> None:
        _sync(self.device)
        self.backward_s += time.perf_counter() - self._start

    def reset(self) -> None:
        self.forward_s = self.backward_s = 0.0

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def bench_training_step(sizes: BenchSizes, device: torch.device) -> list[tuple[str, str, float, str, str]]:
    """Rows for the adaptive conv's share of a PIL step and the HG-8s-1u vs PIL step ratios."""
    configs = [bench_config(name, sizes) for name in (BASELINE_EXPERIMENT, PIL_EXPERIMENT)]
    base, pil = (cfg.model.name for cfg in configs)
    setting = f"width={sizes.width} input={sizes.input_size} batch={sizes.train_batch}"
    print(f"  training steps of {base} and {pil} ({setting}) ...", flush=True)
    models, steps = {}, {}
    for cfg in configs:
        torch.manual_seed(0)
        models[cfg.model.name] = build_model(cfg).to(device)
        steps[cfg.model.name] = make_train_step(cfg, models[cfg.model.name], device)
    times = paired_median_times(steps, device, sizes.step_reps)
    flops = {name: count_step_flops(step) for name, step in steps.items()}

    # The adaptive conv's share: hooks on the module during (separate) PIL steps.
    step, model = steps[pil], models[pil]
    timer = ModuleTimer(model.adaptive_conv, device)
    step()  # warm the hooked path
    timer.reset()
    _sync(device)
    start = time.perf_counter()
    for _ in range(sizes.step_reps):
        step()
    _sync(device)
    hooked_step = (time.perf_counter() - start) / sizes.step_reps
    timer.remove()
    share = (timer.forward_s + timer.backward_s) / sizes.step_reps / hooked_step
    rows = [(
        "pil_adaptive_conv_time_share", f"{pil}, {setting}", 100.0 * share,
        "% of training step time",
        f"module hooks on model.adaptive_conv (forward pre/post + full backward pre/post); "
        f"forward {timer.forward_s / sizes.step_reps * 1e3:.1f} ms, backward "
        f"{timer.backward_s / sizes.step_reps * 1e3:.1f} ms per step of {hooked_step * 1e3:.0f} ms "
        f"(mean of {sizes.step_reps})",
    )]
    conv_flops = isolated_adaptive_conv_flops(model, sizes, device)
    rows.append((
        "pil_adaptive_conv_flop_share", f"{pil}, {setting}", 100.0 * conv_flops / flops[pil],
        "% of training step FLOPs",
        f"FlopCounterMode (groups-aware conv backward): AdaptiveConv fwd+bwd counted in isolation at the "
        f"step's shapes, {conv_flops / 1e9:.3f} of {flops[pil] / 1e9:.1f} GFLOP per step",
    ))
    rows.append((
        "pil_step_time_ratio", f"{pil} / {base}, {setting}", times[pil] / times[base],
        "x (time per training step)",
        f"{base} {times[base] * 1e3:.0f} ms, {pil} {times[pil] * 1e3:.0f} ms, "
        f"medians of {sizes.step_reps} alternated steps; fwd+loss+bwd+RMSProp",
    ))
    rows.append((
        "pil_step_flop_ratio", f"{pil} / {base}, {setting}", flops[pil] / flops[base],
        "x (FLOPs per training step)",
        f"{base} {flops[base] / 1e9:.1f} GFLOP, {pil} {flops[pil] / 1e9:.1f} GFLOP "
        "(FlopCounterMode with groups-aware conv backward, forward+backward)",
    ))
    return rows


def write_rows(out: str | Path, machine: str, rows: list[tuple[str, str, float, str, str]]) -> Path:
    """Append rows to the CSV at ``out`` (header written if the file is new or empty)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(CSV_COLUMNS)
        for bench, setting, value, unit, note in rows:
            writer.writerow((stamp, machine, bench, setting, f"{value:.4g}", unit, note))
    return path


def main(out: str | Path = "results/bench.csv", quick: bool = False) -> int:
    """Run the model benchmark, print the rows and append them to ``out``.

    Args:
        out: CSV to append to.
        quick: tiny sizes (a smoke check; numbers are not meaningful).
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = QUICK if quick else PAPER
    machine = machine_description(device)
    print(f"model benchmark on {machine}{' (quick)' if quick else ''}")
    print("  grouped vs looped adaptive conv ...", flush=True)
    rows = bench_grouped_vs_loop(sizes, device)
    rows += bench_training_step(sizes, device)
    for bench, setting, value, unit, note in rows:
        print(f"{bench:32s} {value:9.3f} {unit:32s} | {setting} | {note}")
    if quick:
        rows = [(bench, setting, value, unit, f"QUICK sizes, not meaningful; {note}") for bench, setting, value, unit, note in rows]
    path = write_rows(out, machine, rows)
    print(f"appended {len(rows)} rows to {path}")
    return 0
