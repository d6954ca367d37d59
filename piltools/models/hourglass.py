"""Stacked hourglass ``HG-ms-nu`` (Newell et al. 2016): m stacks, n residual units per location.

Stem: 7x7/2 conv + BN + ReLU (width/4 channels), residual width/4 -> width/2,
max-pool 2, residual width/2 -> width/2, residual width/2 -> width (paper width
256: 64 -> 128 -> 128 -> 256). Stride 4. Each stack: hourglass (4 down-samplings)
-> 1x1 conv + BN + ReLU (the stack's feature F) -> 1x1 head; the next stack's
input is ``x + 1x1(F) + 1x1(head output)`` (intermediate supervision on every
stack), the layout of the paper's HG baselines (Table 2).
"""
from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from piltools.models.layers import Residual, conv_bn_relu, head_init_, msra_init_


def residual_units(channels: int, num_units: int) -> nn.Sequential:
    """``num_units`` :class:`Residual` blocks at constant ``channels``."""
    return nn.Sequential(*[Residual(channels, channels) for _ in range(num_units)])


class Hourglass(nn.Module):
    """One hourglass of ``depth`` down-samplings with ``num_units`` residuals at every location.

    Args:
        depth: number of max-pool down-samplings (4 in the paper).
        channels: feature channels (constant inside the hourglass).
        num_units: residual units per location (the "u" of HG-ms-nu).
    """

    def __init__(self, depth: int, channels: int, num_units: int) -> None:
        super().__init__()
        if depth < 1 or num_units < 1:
            raise ValueError(f"Hourglass needs depth >= 1 and num_units >= 1, got {depth}, {num_units}")
        self.skip = residual_units(channels, num_units)
        self.pool = nn.MaxPool2d(2)
        self.down = residual_units(channels, num_units)
        self.inner = Hourglass(depth - 1, channels, num_units) if depth > 1 else residual_units(channels, num_units)
        self.up = residual_units(channels, num_units)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(x)
        y = self.up(self.inner(self.down(self.pool(x))))
        return skip + F.interpolate(y, size=skip.shape[-2:], mode="nearest")


class StackedHourglass(nn.Module):
    """``HG-{num_stacks}s-{num_units}u``: images -> per-stack outputs and features.

    Used as the pose network (outputs = heatmaps) and, with one stack, as the
    parsing network ``HG-1s-nu`` (outputs = parsing logits; the 1x1 head is the
    parsing classifier C^S).

    Args:
        num_stacks: m, the number of stacked hourglasses.
        num_units: n, residual units per hourglass location.
        width: feature channels (paper 256; must be a multiple of 4).
        num_outputs: channels of every stack's 1x1 head.
        refine_stack: index of the stack at which the ``refine`` callable given
            to :meth:`forward` is applied (negative counts from the end; -1 = last,
            as the reference code applies PIL).
        depth: down-samplings per hourglass (paper 4).
    """

    stride = 4

    def __init__(
        self,
        num_stacks: int = 1,
        num_units: int = 1,
        width: int = 256,
        num_outputs: int = 16,
        refine_stack: int = -1,
        depth: int = 4,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if width % 4:
            raise ValueError(f"hourglass width must be a multiple of 4, got {width}")
        if not -num_stacks <= refine_stack < num_stacks:
            raise ValueError(f"refine/pil stack {refine_stack} is out of range for {num_stacks} stacks")
        self.num_stacks = num_stacks
        self.num_units = num_units
        self.channels = width
        self.num_outputs = num_outputs
        self.refine_stack = refine_stack % num_stacks
        self.stem = nn.Sequential(
            conv_bn_relu(in_channels, width // 4, kernel_size=7, stride=2),
            Residual(width // 4, width // 2),
            nn.MaxPool2d(2),
            Residual(width // 2, width // 2),
            Residual(width // 2, width),
        )
        self.hourglasses = nn.ModuleList([Hourglass(depth, width, num_units) for _ in range(num_stacks)])
        self.features = nn.ModuleList([conv_bn_relu(width, width, 1) for _ in range(num_stacks)])
        self.heads = nn.ModuleList([nn.Conv2d(width, num_outputs, 1) for _ in range(num_stacks)])
        self.merge_features = nn.ModuleList([nn.Conv2d(width, width, 1) for _ in range(num_stacks - 1)])
        self.merge_outputs = nn.ModuleList([nn.Conv2d(num_outputs, width, 1) for _ in range(num_stacks - 1)])
        msra_init_(self)
        for head in self.heads:
            head_init_(head)

    def forward(self, images: Tensor, refine: Callable[[Tensor], Tensor] | None = None) -> tuple[list[Tensor], Tensor]:
        """Args:
            images: ``(N, in_channels, H, W)`` (RGB: 3).
            refine: optional map ``F -> F'`` applied to stack ``refine_stack``'s
                features before its head (and before they feed the next stack).

        Returns:
            ``(outputs, features)``: one ``(N, num_outputs, H/4, W/4)`` tensor per
            stack, and the last stack's features ``(N, width, H/4, W/4)``.
        """
        x = self.stem(images)
        outputs: list[Tensor] = []
        features = x
        for i in range(self.num_stacks):
            features = self.features[i](self.hourglasses[i](x))
            if refine is not None and i == self.refine_stack:
                features = refine(features)
            out = self.heads[i](features)
            outputs.append(out)
            if i < self.num_stacks - 1:
                x = x + self.merge_features[i](features) + self.merge_outputs[i](out)
        return outputs, features
