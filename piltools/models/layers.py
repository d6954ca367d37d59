"""Building blocks shared by the pose models: initialisation, the pre-activation
bottleneck residual, the parameter adapter and the factorised adaptive convolution.

The adaptive convolution (paper Sec. 3, after Bertinetto et al. 2016) is

    F^a = ReLU(BN(U * (theta~ *_c (V * F^P))))

with ``V`` and ``U`` static 1x1 convolutions (C x C, no bias) and ``theta~``
the per-sample depthwise kernels ``(N, C, k, k)`` predicted by the parameter
adapter from the parsing features. The per-sample depthwise convolution is one
grouped ``conv2d`` over the whole batch (:func:`depthwise_conv_grouped`);
:func:`depthwise_conv_loop` is the slow per-sample reference used only by the
tests and the benchmark.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def msra_init_(module: nn.Module) -> None:
    """MSRA (He et al. 2015) initialisation, in place, for every conv in ``module``.

    Convolutions get ``kaiming_normal_`` (fan-in, ReLU gain) and zero bias;
    batch-norm layers get weight 1 and bias 0.

    Args:
        module: the module whose sub-modules are initialised.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# Standard deviation of the output classifiers' initial weights.
HEAD_INIT_STD = 0.001


def head_init_(conv: nn.Conv2d, std: float = HEAD_INIT_STD) -> None:
    """Initialise an output classifier (1x1 heatmap or parsing head) near zero, in place.

    With MSRA init through a deep BN-free VGG16 the heads start with outputs in
    the hundreds, and the first few hundred steps are spent shrinking them; a
    near-zero start (as in Newell et al.'s and later heatmap regressors' final
    layers) begins from the all-zero heatmap instead.

    Args:
        conv: the classifier convolution.
        std: weight standard deviation; the bias is zeroed.
    """
    nn.init.normal_(conv.weight, std=std)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1) -> nn.Sequential:
    """``Conv(k, stride, 'same' padding) -> BN -> ReLU``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size; padding is ``kernel_size // 2``.
        stride: convolution stride.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Residual(nn.Module):
    """Pre-activation bottleneck residual unit (Newell et al. 2016).

    ``BN-ReLU-conv1x1(C/2) -> BN-ReLU-conv3x3(C/2) -> BN-ReLU-conv1x1(C)`` plus a
    skip connection (identity, or a 1x1 conv when the channel count changes).

    Args:
        in_channels: input channels.
        out_channels: output channels (must be even).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"Residual needs an even out_channels, got {out_channels}")
        mid = out_channels // 2
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(inplace=False), nn.Conv2d(in_channels, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, out_channels, 1),
        )
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


def _same_padding(kh: int, kw: int) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` zero padding that keeps H, W for a ``kh x kw`` kernel.

    Odd kernels get ``k // 2`` on both sides; an even kernel gets one more on the
    right/bottom.
    """
    return (kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2


def _check_kernels(features: Tensor, kernels: Tensor) -> None:
    if features.dim() != 4 or kernels.dim() != 4 or kernels.shape[:2] != features.shape[:2]:
        raise ValueError(
            "depthwise conv expects features (N, C, H, W) and kernels (N, C, k, k) with the same N, C; got "
            f"features {tuple(features.shape)} and kernels {tuple(kernels.shape)}"
        )


def depthwise_conv_grouped(features: Tensor, kernels: Tensor) -> Tensor:
    """Per-sample depthwise convolution as ONE grouped ``conv2d`` over the batch.

    Sample ``n``'s channel ``c`` is convolved with ``kernels[n, c]`` (zero
    'same' padding, no bias). Folding the batch into the channel axis turns
    the N different depthwise convolutions into a single convolution with
    ``groups = N * C``.

    Args:
        features: ``(N, C, H, W)``.
        kernels: ``(N, C, kh, kw)`` per-sample kernels.

    Returns:
        ``(N, C, H, W)``.
    """
    _check_kernels(features, kernels)
    n, c, h, w = features.shape
    kh, kw = kernels.shape[-2:]
    x = features.reshape(1, n * c, h, w)  # (N, C, H, W) -> (1, N*C, H, W)
    weight = kernels.reshape(n * c, 1, kh, kw)  # (N, C, kh, kw) -> (N*C, 1, kh, kw)
    if kh % 2 and kw % 2:
        y = F.conv2d(x, weight, padding=(kh // 2, kw // 2), groups=n * c)  # (1, N*C, H, W)
    else:
        y = F.conv2d(F.pad(x, _same_padding(kh, kw)), weight, groups=n * c)  # (1, N*C, H, W)
    return y.reshape(n, c, h, w)  # (1, N*C, H, W) -> (N, C, H, W)


def depthwise_conv_loop(features: Tensor, kernels: Tensor) -> Tensor:
    """Reference for :func:`depthwise_conv_grouped`: a Python loop over samples.

    Only for tests and the benchmark; models never call it.

    Args:
        features: ``(N, C, H, W)``.
        kernels: ``(N, C, kh, kw)``.

    Returns:
        ``(N, C, H, W)``.
    """
    _check_kernels(features, kernels)
    c = features.shape[1]
    kh, kw = kernels.shape[-2:]
    outputs = []
    for x, k in zip(features, kernels):  # x (C, H, W), k (C, kh, kw)
        x = F.pad(x[None], _same_padding(kh, kw))  # (1, C, H + kh - 1, W + kw - 1)
        outputs.append(F.conv2d(x, k[:, None], groups=c))  # k (C, 1, kh, kw) -> out (1, C, H, W)
    return torch.cat(outputs, dim=0)


class ParameterAdapter(nn.Module):
    """Parameter adapter K: parsing features ``(N, C, h, w)`` -> kernels ``(N, C, k, k)``.

    ``conv3x3/2 (no padding) -> ReLU -> max-pool 2 -> conv3x3 (pad 1) -> ReLU ->
    max-pool 2 -> conv3x3 (pad 1)``, C channels throughout (paper Sec. 3).
    The last conv is linear so kernels can be negative. For a 64x64 map:
    64 -> 31 -> 15 -> 15 -> 7 -> 7, i.e. 7x7 kernels.

    Args:
        channels: C, the parsing (and pose) feature channels.
        pools: how many of the two max-pools to apply (2 = paper; fewer gives
            larger kernels, useful for tiny inputs).
    """

    def __init__(self, channels: int, pools: int = 2) -> None:
        super().__init__()
        if pools not in (0, 1, 2):
            raise ValueError(f"adapter pools must be 0, 1 or 2, got {pools}")
        self.pools = pools
        layers: list[nn.Module] = [nn.Conv2d(channels, channels, 3, stride=2), nn.ReLU(inplace=True)]
        if pools >= 1:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        if pools >= 2:
            layers.append(nn.MaxPool2d(2))
        layers.append(nn.Conv2d(channels, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    @staticmethod
    def kernel_size(feature_size: int, pools: int = 2) -> int:
        """Side of the predicted kernels for a ``feature_size`` map: ``floor((s - 3) / 2) + 1`` then halved per pool.

        Args:
            feature_size: side of the parsing feature map (input size / stride).
            pools: number of max-pools in the adapter.
        """
        size = (feature_size - 3) // 2 + 1 if feature_size >= 3 else 0
        for _ in range(pools):
            size //= 2
        return size

    def forward(self, features: Tensor) -> Tensor:
        h, w = features.shape[-2:]
        if min(self.kernel_size(h, self.pools), self.kernel_size(w, self.pools)) < 1:
            raise ValueError(
                f"parameter adapter: a {h}x{w} parsing feature map gives an empty kernel with {self.pools} "
                "max-pools; use a larger input or fewer adapter_pools"
            )
        return self.body(features)


class AdaptiveConv(nn.Module):
    """Factorised adaptive convolution ``F^a = ReLU(BN(U * (theta~ *_c (V * F^P))))``.

    Args:
        channels: C; ``pre`` (V) and ``post`` (U) are C x C 1x1 convs without bias.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pre = nn.Conv2d(channels, channels, 1, bias=False)  # V
        self.post = nn.Conv2d(channels, channels, 1, bias=False)  # U
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, features: Tensor, kernels: Tensor) -> Tensor:
        """Args:
            features: pose features F^P ``(N, C, H, W)``.
            kernels: predicted kernels theta~ ``(N, C, k, k)``.

        Returns:
            F^a ``(N, C, H, W)`` (the caller adds it to F^P).
        """
        x = self.pre(features)
        x = depthwise_conv_grouped(x, kernels)
        return self.relu(self.bn(self.post(x)))
