"""The grouped per-sample depthwise convolution against a per-sample loop (float64)."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from piltools.benchmarks.model import flop_counter
from piltools.models.layers import AdaptiveConv, ParameterAdapter, depthwise_conv_grouped, depthwise_conv_loop

torch.set_num_threads(1)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm().clamp_min(1e-300))


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("k", [3, 7])
def test_grouped_equals_loop_with_gradients(batch: int, k: int) -> None:
    gen = torch.Generator().manual_seed(100 * batch + k)
    x = torch.randn(batch, 4, 9, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(batch, 4, k, k, dtype=torch.float64, generator=gen, requires_grad=True)
    upstream = torch.randn(batch, 4, 9, 11, dtype=torch.float64, generator=gen)

    y_grouped = depthwise_conv_grouped(x, w)
    gx_g, gw_g = torch.autograd.grad((y_grouped * upstream).sum(), (x, w))
    y_loop = depthwise_conv_loop(x, w)
    gx_l, gw_l = torch.autograd.grad((y_loop * upstream).sum(), (x, w))

    assert y_grouped.shape == x.shape
    assert rel_err(y_grouped, y_loop) < 1e-10
    assert rel_err(gx_g, gx_l) < 1e-10
    assert rel_err(gw_g, gw_l) < 1e-10


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("k", [3, 7])
def test_adaptive_conv_module_matches_loop_reference(batch: int, k: int) -> None:
    """F^a = ReLU(BN(U (theta * (V F)))) and its gradients w.r.t. F, theta, U, V, via both paths."""
    torch.manual_seed(batch * 10 + k)
    module = AdaptiveConv(6).double().train()
    x = torch.randn(batch, 6, 8, 8, dtype=torch.float64, requires_grad=True)
    kernels = torch.randn(batch, 6, k, k, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(batch, 6, 8, 8, dtype=torch.float64)
    wrt = (x, kernels, module.post.weight, module.pre.weight)

    out = module(x, kernels)
    grads = torch.autograd.grad((out * upstream).sum(), wrt)
    # The same computation written out with the per-sample loop.
    ref = module.relu(module.bn(module.post(depthwise_conv_loop(module.pre(x), kernels))))
    ref_grads = torch.autograd.grad((ref * upstream).sum(), wrt)

    assert rel_err(out, ref) < 1e-10
    for g, r in zip(grads, ref_grads):
        assert rel_err(g, r) < 1e-10


def test_samples_use_only_their_own_kernels() -> None:
    # Changing sample 1's kernels must leave sample 0's output untouched (a wrong
    # reshape would mix samples and channels).
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    y = depthwise_conv_grouped(x, w)
    w2 = w.clone()
    w2[1] += 1.0
    y2 = depthwise_conv_grouped(x, w2)
    assert torch.equal(y[0], y2[0])
    assert not torch.allclose(y[1], y2[1])


def test_delta_kernels_identity_and_shift() -> None:
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    delta = torch.zeros(2, 3, 3, 3, dtype=torch.float64)
    delta[..., 1, 1] = 1.0  # centre tap: identity
    assert torch.equal(depthwise_conv_grouped(x, delta), x)
    shift = torch.zeros(2, 3, 3, 3, dtype=torch.float64)
    shift[..., 1, 2] = 1.0  # cross-correlation tap at dx=+1: out[..., u] = x[..., u+1], zero past the border
    y = depthwise_conv_grouped(x, shift)
    assert torch.equal(y[..., :-1], x[..., 1:])
    assert torch.equal(y[..., -1], torch.zeros_like(y[..., -1]))


def test_even_kernels_keep_size_and_match_loop() -> None:
    x = torch.randn(3, 2, 7, 6, dtype=torch.float64)
    w = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    y = depthwise_conv_grouped(x, w)
    assert y.shape == x.shape
    assert rel_err(y, depthwise_conv_loop(x, w)) < 1e-10


def test_mismatched_kernels_raise() -> None:
    with pytest.raises(ValueError, match="kernels"):
        depthwise_conv_grouped(torch.randn(2, 3, 5, 5), torch.randn(2, 4, 3, 3))


@pytest.mark.parametrize(("size", "pools", "expected"), [
    (64, 2, 7),   # paper, HG at 256 input: 64 -> 31 -> 15 -> 7
    (32, 2, 3),   # VGG16 at 256 input: 32 -> 15 -> 7 -> 3
    (16, 1, 3),   # 16 -> 7 -> 3
    (8, 0, 3),    # 8 -> 3
])
def test_adapter_kernel_size_formula_and_output(size: int, pools: int, expected: int) -> None:
    assert ParameterAdapter.kernel_size(size, pools) == expected
    adapter = ParameterAdapter(4, pools=pools)
    assert adapter(torch.randn(2, 4, size, size)).shape == (2, 4, expected, expected)


def test_adapter_too_small_map_raises() -> None:
    with pytest.raises(ValueError, match="adapter_pools"):
        ParameterAdapter(4, pools=2)(torch.randn(1, 4, 8, 8))


def test_benchmark_flop_formula_respects_groups() -> None:
    # torch's built-in convolution_backward formula ignores groups for the weight
    # gradient; the benchmark's replacement must give 2 x forward for a depthwise
    # conv: forward = 2 (mul+add) * 8 channels * 10*10 outputs * 3*3 taps = 14400.
    x = torch.randn(1, 8, 10, 10, requires_grad=True)
    w = torch.randn(8, 1, 3, 3, requires_grad=True)
    counts = {}
    for name, counter in (("groups-aware", flop_counter()), ("built-in", FlopCounterMode(display=False))):
        with counter:
            torch.nn.functional.conv2d(x, w, padding=1, groups=8).sum().backward()
        counts[name] = counter.get_total_flops()
    # forward + input gradient + weight gradient, each 14400
    assert counts["groups-aware"] == 3 * 14400
    # torch's own formula: the weight gradient counted as a dense conv over the 8 groups -> 8 x 14400
    assert counts["built-in"] == 14400 + 14400 + 8 * 14400
