"""Parsing Induced Learner (PIL): parsing encoder + parameter adapter + adaptive convolution.

``PILPoseModel`` wires (paper Sec. 3):

    F^S, parsing = parsing_encoder(images)          # E^S + C^S, logits at input resolution
    theta~ = adapter(F^S)                           # (N, C, k, k), k = 7 for 64x64 maps
    F^P  = pose features at stack ``pil_stack``     # E^P
    F^a  = adaptive_conv(F^P, theta~)               # BN+ReLU(U * (theta~ *_c (V * F^P)))
    F^P* = F^P + F^a  -> 1x1 pose classifier C^P

The pose and parsing networks are independent (no shared weights). For the
transfer experiment (Sec. 4.4), ``transfer_modules()`` returns the parts that are
trained on LIP and frozen on MPII: the parsing encoder and the adapter.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from piltools.models.hourglass import StackedHourglass
from piltools.models.layers import AdaptiveConv, ParameterAdapter, msra_init_
from piltools.models.output import PoseOutput
from piltools.models.vgg import VGG16Net

PoseNet = VGG16Net | StackedHourglass
"""Networks with the calling convention ``net(images, refine=None) -> (outputs per stack, features)``."""


def check_pose_net(pose_net: PoseNet, num_joints: int, background: bool) -> int:
    """Check the pose network predicts ``num_joints (+1)`` maps; return that number."""
    num_heatmaps = num_joints + int(background)
    if pose_net.num_outputs != num_heatmaps:
        raise ValueError(
            f"pose network predicts {pose_net.num_outputs} maps but num_joints={num_joints}, "
            f"background={background} needs {num_heatmaps}"
        )
    return num_heatmaps


def make_offset_head(channels: int, num_joints: int, enabled: bool) -> nn.Conv2d | None:
    """1x1 conv predicting per-joint (x, y) offsets to the person centroid, or None."""
    if not enabled:
        return None
    head = nn.Conv2d(channels, 2 * num_joints, 1)
    msra_init_(head)
    return head


class ParsingEncoder(nn.Module):
    """Parsing encoder E^S plus parsing classifier C^S.

    Args:
        net: a VGG16 or one-stack hourglass network whose head is the 1x1 parsing
            classifier (``num_outputs`` = number of parsing classes).
    """

    def __init__(self, net: PoseNet) -> None:
        super().__init__()
        self.net = net
        self.stride = net.stride
        self.channels = net.channels
        self.num_classes = net.num_outputs

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Args:
            images: ``(N, 3, H, W)``.

        Returns:
            ``(features F^S (N, C, H/s, W/s), logits (N, num_classes, H, W))``, the
            logits bilinearly upsampled to the input resolution.
        """
        outputs, features = self.net(images)
        logits = F.interpolate(outputs[-1], size=images.shape[-2:], mode="bilinear", align_corners=False)
        return features, logits


class PILPoseModel(nn.Module):
    """A pose network refined by the Parsing Induced Learner.

    Args:
        pose_net: pose network (VGG16Net or StackedHourglass) whose ``refine_stack``
            is where the adaptive convolution is applied.
        parsing_net: the parsing network (its head is the parsing classifier),
            same channel count as ``pose_net``.
        num_joints: K.
        background: whether ``pose_net`` predicts an extra background map.
        adapter_pools: max-pools in the parameter adapter (paper 2).
        offset_head: add the multi-person centroid-offset head (2K channels).
    """

    def __init__(
        self,
        pose_net: PoseNet,
        parsing_net: PoseNet,
        num_joints: int = 16,
        background: bool = False,
        adapter_pools: int = 2,
        offset_head: bool = False,
    ) -> None:
        super().__init__()
        if pose_net.channels != parsing_net.channels:
            raise ValueError(
                f"PIL needs pose and parsing features with equal channels, got {pose_net.channels} "
                f"and {parsing_net.channels}"
            )
        self.num_heatmaps = check_pose_net(pose_net, num_joints, background)
        self.num_joints = num_joints
        self.stride = pose_net.stride
        self.has_parsing = True
        self.pil_stack = pose_net.refine_stack
        channels = pose_net.channels
        self.pose_net = pose_net
        self.parsing_encoder = ParsingEncoder(parsing_net)
        self.adapter = ParameterAdapter(channels, pools=adapter_pools)
        self.adaptive_conv = AdaptiveConv(channels)
        self.offset_head = make_offset_head(channels, num_joints, offset_head)
        msra_init_(self.adapter)
        msra_init_(self.adaptive_conv)

    def kernel_size(self, input_size: int) -> int:
        """Side of the predicted kernels for a square ``input_size`` input."""
        return ParameterAdapter.kernel_size(input_size // self.parsing_encoder.stride, self.adapter.pools)

    def transfer_modules(self) -> list[nn.Module]:
        """Modules trained on LIP and frozen when transferring to MPII: parsing encoder and adapter."""
        return [self.parsing_encoder, self.adapter]

    def forward(self, images: Tensor, kernels: Tensor | None = None) -> PoseOutput:
        """Args:
            images: ``(N, 3, H, W)``.
            kernels: ``(N, C, k, k)`` dynamic kernels to use INSTEAD of the ones the parsing branch
                predicts for ``images`` (e.g. another image's, for counterfactuals); the parsing branch is
                then not run and the output's ``parsing`` is None. None: the model as trained.
        """
        parsing = None
        if kernels is None:
            parsing_features, parsing = self.parsing_encoder(images)
            kernels = self.adapter(parsing_features)  # (N, C, k, k)
        adapted: list[Tensor] = []

        def refine(features: Tensor) -> Tensor:
            fa = self.adaptive_conv(features, kernels)
            adapted.append(fa)
            return features + fa  # residual fusion F^P* = F^P + F^a

        heatmaps, features = self.pose_net(images, refine=refine)
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, parsing=parsing, kernels=kernels, adapted=adapted[0], offsets=offsets)
