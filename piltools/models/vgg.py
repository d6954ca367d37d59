"""VGG16-FCN: VGG16's 13 conv layers with the last two max-pools removed (stride 8).

Layout ``[64, 64, M, 128, 128, M, 256, 256, 256, M, 512 x 6]`` (the backbone
of the paper's Table 1 ablation), all channels scaled by ``width / 64``. 3x3 convs with ReLU, no
batch-norm by default, MSRA initialisation, trained from scratch.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from piltools.models.layers import head_init_, msra_init_

VGG16_FCN_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, 512, 512, 512)


class VGG16FCN(nn.Module):
    """The VGG16-FCN encoder: images ``(N, 3, H, W)`` -> features ``(N, 8*width, H/8, W/8)``.

    Args:
        width: channels of the first block (paper 64); later blocks use x2, x4, x8.
        batch_norm: add BN after every conv (off in the paper).
    """

    stride = 8

    def __init__(self, width: int = 64, batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for item in VGG16_FCN_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out_channels = int(item) * width // 64
            layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
            in_channels = out_channels
        self.body = nn.Sequential(*layers)
        self.out_channels = in_channels
        msra_init_(self)

    def forward(self, images: Tensor) -> Tensor:
        return self.body(images)


class VGG16Net(nn.Module):
    """VGG16-FCN encoder plus a 1x1 classifier: one "stack" of predictions.

    Used as the pose network (classifier = heatmap head) and as the parsing
    network (classifier = parsing classifier C^S). Shares its calling
    convention with :class:`piltools.models.hourglass.StackedHourglass`.

    Args:
        width: VGG first-block channels (paper 64).
        num_outputs: classifier channels (heatmaps or parsing classes).
        refine_stack: which stack the ``refine`` callable is applied at; VGG
            has a single stack, so only 0 or -1 are valid.
        batch_norm: BN after every encoder conv.
    """

    stride = 8
    num_stacks = 1

    def __init__(self, width: int = 64, num_outputs: int = 16, refine_stack: int = -1, batch_norm: bool = False) -> None:
        super().__init__()
        if refine_stack not in (0, -1):
            raise ValueError(f"VGG16 has one stack: refine/pil stack must be 0 or -1, got {refine_stack}")
        self.refine_stack = 0
        self.encoder = VGG16FCN(width=width, batch_norm=batch_norm)
        self.channels = self.encoder.out_channels
        self.num_outputs = num_outputs
        self.head = nn.Conv2d(self.channels, num_outputs, 1)
        head_init_(self.head)

    def forward(self, images: Tensor, refine: Callable[[Tensor], Tensor] | None = None) -> tuple[list[Tensor], Tensor]:
        """Args:
            images: ``(N, 3, H, W)``.
            refine: optional map ``F -> F'`` applied to the features before the classifier.

        Returns:
            ``([outputs (N, num_outputs, H/8, W/8)], features (N, C, H/8, W/8))`` where
            ``features`` are the (refined) features the classifier saw.
        """
        features = self.encoder(images)
        if refine is not None:
            features = refine(features)
        return [self.head(features)], features
