"""Pose models without PIL: the plain networks and the Table 1 ablations.

- :class:`PoseModel`: pose network + classifier (``VGG16``, ``HG-ms-nu``).
- :class:`FusionPoseModel`: an independent parsing encoder whose features F^S are
  fused into the pose features F^P by addition, element-wise product, or
  concatenation + 1x1 conv (+ReLU) back to C channels (``VGG16-Add/-Multi/-Concat``);
  parsing supervision kept.
- :class:`MTLPoseModel`: ONE shared encoder with a pose head and a 1x1 parsing
  head (``VGG16-MTL``).
- :class:`SelfPoseModel`: the adaptive convolution replaced by a static residual
  module of the same shape, ``1x1 -> static depthwise kxk -> 1x1 -> BN+ReLU``, no
  parsing branch (``VGG16-Self``: isolates the effect of the extra layers).
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from piltools.models.layers import msra_init_
from piltools.models.output import PoseOutput
from piltools.models.pil import ParsingEncoder, PoseNet, check_pose_net, make_offset_head


class PoseModel(nn.Module):
    """A pose network alone: ``VGG16`` or ``HG-ms-nu``.

    Args:
        pose_net: VGG16Net or StackedHourglass predicting the heatmaps.
        num_joints: K.
        background: whether ``pose_net`` predicts an extra background map.
        offset_head: add the multi-person centroid-offset head (2K channels).
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
    """

    def __init__(self, pose_net: PoseNet, num_joints: int = 16, background: bool = False, offset_head: bool = False,
                 offset_design: str = "shared") -> None:
        super().__init__()
        self.num_heatmaps = check_pose_net(pose_net, num_joints, background)
        self.num_joints = num_joints
        self.stride = pose_net.stride
        self.has_parsing = False
        self.pose_net = pose_net
        self.offset_head = make_offset_head(pose_net.channels, num_joints, offset_head, offset_design)

    def forward(self, images: Tensor) -> PoseOutput:
        heatmaps, features = self.pose_net(images)
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, offsets=offsets)


class FusionPoseModel(nn.Module):
    """Parsing features fused into the pose features by a fixed operation (Table 1 ablations).

    Args:
        pose_net: pose network; fusion happens at its ``refine_stack``.
        parsing_net: independent parsing network (head = parsing classifier).
        mode: ``"add"`` (F^P + F^S), ``"multi"`` (F^P * F^S) or ``"concat"``
            (ReLU(1x1 conv([F^P, F^S])) back to C channels).
        num_joints: K.
        background: whether ``pose_net`` predicts an extra background map.
        offset_head: add the multi-person centroid-offset head.
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
    """

    def __init__(
        self,
        pose_net: PoseNet,
        parsing_net: PoseNet,
        mode: Literal["add", "multi", "concat"],
        num_joints: int = 16,
        background: bool = False,
        offset_head: bool = False,
        offset_design: str = "shared",
    ) -> None:
        super().__init__()
        if mode not in ("add", "multi", "concat"):
            raise ValueError(f"fusion mode must be 'add', 'multi' or 'concat', got {mode!r}")
        if pose_net.channels != parsing_net.channels:
            raise ValueError(f"fusion needs equal channels, got {pose_net.channels} and {parsing_net.channels}")
        self.num_heatmaps = check_pose_net(pose_net, num_joints, background)
        self.num_joints = num_joints
        self.stride = pose_net.stride
        self.has_parsing = True
        self.mode = mode
        channels = pose_net.channels
        self.pose_net = pose_net
        self.parsing_encoder = ParsingEncoder(parsing_net)
        self.fuse_conv = nn.Conv2d(2 * channels, channels, 1) if mode == "concat" else None
        if self.fuse_conv is not None:
            msra_init_(self.fuse_conv)
        self.offset_head = make_offset_head(channels, num_joints, offset_head, offset_design)

    def fuse(self, pose_features: Tensor, parsing_features: Tensor) -> Tensor:
        """Fuse ``(N, C, h, w)`` parsing features into ``(N, C, h, w)`` pose features."""
        if self.mode == "add":
            return pose_features + parsing_features
        if self.mode == "multi":
            return pose_features * parsing_features
        stacked = torch.cat([pose_features, parsing_features], dim=1)  # (N, 2C, h, w)
        return F.relu(self.fuse_conv(stacked))  # (N, C, h, w)

    def forward(self, images: Tensor) -> PoseOutput:
        parsing_features, parsing = self.parsing_encoder(images)
        heatmaps, features = self.pose_net(images, refine=lambda fp: self.fuse(fp, parsing_features))
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, parsing=parsing, offsets=offsets)


class MTLPoseModel(nn.Module):
    """Multi-task learning: ONE shared encoder, a pose head and a 1x1 parsing head.

    Args:
        pose_net: the shared network (its head is the pose classifier).
        num_joints: K.
        background: whether ``pose_net`` predicts an extra background map.
        num_parsing: parsing classes of the parsing head.
        offset_head: add the multi-person centroid-offset head.
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
    """

    def __init__(
        self,
        pose_net: PoseNet,
        num_joints: int = 16,
        background: bool = False,
        num_parsing: int = 20,
        offset_head: bool = False,
        offset_design: str = "shared",
    ) -> None:
        super().__init__()
        self.num_heatmaps = check_pose_net(pose_net, num_joints, background)
        self.num_joints = num_joints
        self.stride = pose_net.stride
        self.has_parsing = True
        self.pose_net = pose_net
        self.parsing_head = nn.Conv2d(pose_net.channels, num_parsing, 1)
        msra_init_(self.parsing_head)
        self.offset_head = make_offset_head(pose_net.channels, num_joints, offset_head, offset_design)

    def forward(self, images: Tensor) -> PoseOutput:
        heatmaps, features = self.pose_net(images)
        parsing = F.interpolate(self.parsing_head(features), size=images.shape[-2:], mode="bilinear", align_corners=False)
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, parsing=parsing, offsets=offsets)


class StaticConvModule(nn.Module):
    """``BN+ReLU(U * (w *_c (V * F)))`` with a STATIC depthwise kernel ``w`` (C, 1, k, k).

    Same shape as :class:`piltools.models.layers.AdaptiveConv`, but its kernels
    are ordinary learned parameters instead of being predicted from parsing.

    Args:
        channels: C.
        kernel_size: k (odd).
    """

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"static conv kernel size must be odd, got {kernel_size}")
        self.pre = nn.Conv2d(channels, channels, 1, bias=False)
        self.depthwise = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=False)
        self.post = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        msra_init_(self)

    def forward(self, features: Tensor) -> Tensor:
        return self.relu(self.bn(self.post(self.depthwise(self.pre(features)))))


class SelfPoseModel(nn.Module):
    """Pose network with a static residual conv module where PIL would be: ``F + StaticConv(F)``.

    Args:
        pose_net: pose network; the module is applied at its ``refine_stack``.
        num_joints: K.
        background: whether ``pose_net`` predicts an extra background map.
        kernel_size: depthwise kernel size (3 = what PIL predicts for VGG16 at 256 input).
        offset_head: add the multi-person centroid-offset head.
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
    """

    def __init__(
        self,
        pose_net: PoseNet,
        num_joints: int = 16,
        background: bool = False,
        kernel_size: int = 3,
        offset_head: bool = False,
        offset_design: str = "shared",
    ) -> None:
        super().__init__()
        self.num_heatmaps = check_pose_net(pose_net, num_joints, background)
        self.num_joints = num_joints
        self.stride = pose_net.stride
        self.has_parsing = False
        self.pose_net = pose_net
        self.static_conv = StaticConvModule(pose_net.channels, kernel_size)
        self.offset_head = make_offset_head(pose_net.channels, num_joints, offset_head, offset_design)

    def forward(self, images: Tensor) -> PoseOutput:
        heatmaps, features = self.pose_net(images, refine=lambda fp: fp + self.static_conv(fp))
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, offsets=offsets)
