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

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from piltools.models.hourglass import StackedHourglass
from piltools.models.layers import AdaptiveConv, ParameterAdapter, conv_bn_relu, msra_init_
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


#: Designs of the multi-person centroid-offset head (``model.offset_design``), see :class:`OffsetHead`.
OFFSET_DESIGNS: tuple[str, ...] = ("shared", "separate")
#: Channels of the ``"separate"`` offset head's two 3x3 layers.
OFFSET_TRUNK_WIDTH = 128


class OffsetHead(nn.Module):
    """Per-joint (x, y) offsets to the person centroid (2K channels) from the pose network's last features.

    Args:
        channels: pose feature channels.
        num_joints: K.
        design: ``"shared"``: one 1x1 conv whose loss back-propagates into the pose features (the first design);
            ``"separate"``: two 3x3 conv-BN-ReLU layers (:data:`OFFSET_TRUNK_WIDTH` wide) and a 1x1 conv on the
            pose features with their gradient stopped, so the offset loss trains these layers only and the pose
            network learns from the heatmap loss alone. The paper describes no head (Sec. 4.3 cites Pose
            Partition Networks); ``experiments.py`` says which design each scale uses and why.
    """

    def __init__(self, channels: int, num_joints: int, design: str = "shared") -> None:
        super().__init__()
        if design not in OFFSET_DESIGNS:
            raise ValueError(f"offset head design {design!r} is not one of {', '.join(OFFSET_DESIGNS)}")
        self.detach = design == "separate"
        width = OFFSET_TRUNK_WIDTH if self.detach else channels
        trunk = [conv_bn_relu(channels, width, 3), conv_bn_relu(width, width, 3)] if self.detach else []
        self.body = nn.Sequential(*trunk, nn.Conv2d(width, 2 * num_joints, 1))
        msra_init_(self.body)

    def forward(self, features: Tensor) -> Tensor:
        return self.body(features.detach() if self.detach else features)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        # checkpoints written before the designs existed hold the shared head as a bare conv (``<prefix>weight``)
        for name in ("weight", "bias"):
            if not self.detach and prefix + name in state_dict:
                state_dict[f"{prefix}body.0.{name}"] = state_dict.pop(prefix + name)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def make_offset_head(channels: int, num_joints: int, enabled: bool, design: str = "shared") -> OffsetHead | None:
    """The :class:`OffsetHead` of a multi-person model, or None (``enabled`` False)."""
    return OffsetHead(channels, num_joints, design) if enabled else None


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
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
        parsing_input: ``"image"`` (the paper: both networks see the image) or ``"oracle"``: the input is
            ``(N, 3 + P, H, W)``, the image followed by the one-hot of its true parsing labels (P classes, all
            zero where unlabelled; :func:`oracle_input`); the pose network sees the image, the parsing network
            (built with P input channels) the labels. A control beyond the paper.
    """

    def __init__(
        self,
        pose_net: PoseNet,
        parsing_net: PoseNet,
        num_joints: int = 16,
        background: bool = False,
        adapter_pools: int = 2,
        offset_head: bool = False,
        offset_design: str = "shared",
        parsing_input: str = "image",
    ) -> None:
        super().__init__()
        if parsing_input not in ("image", "oracle"):
            raise ValueError(f"parsing_input must be 'image' or 'oracle', got {parsing_input!r}")
        self.parsing_input = parsing_input
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
        self.offset_head = make_offset_head(channels, num_joints, offset_head, offset_design)
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
            images: ``(N, 3, H, W)``; with ``parsing_input="oracle"`` ``(N, 3 + P, H, W)``.
            kernels: ``(N, C, k, k)`` dynamic kernels to use INSTEAD of the ones the parsing branch
                predicts for ``images`` (e.g. another image's, for counterfactuals); the parsing branch is
                then not run and the output's ``parsing`` is None. None: the model as trained.
        """
        parsing = None
        parsing_in = images
        if self.parsing_input == "oracle":
            expected = 3 + self.parsing_encoder.num_classes
            if images.shape[1] != expected:
                raise ValueError(f"the oracle-parsing PIL model takes the image and the one-hot of its true parsing "
                                 f"labels, {expected} channels; got {images.shape[1]} (an image alone cannot be "
                                 f"scored by it)")
            images, parsing_in = images[:, :3], images[:, 3:]
        if kernels is None:
            parsing_features, parsing = self.parsing_encoder(parsing_in)
            kernels = self.adapter(parsing_features)  # (N, C, k, k)
        adapted: list[Tensor] = []

        def refine(features: Tensor) -> Tensor:
            fa = self.adaptive_conv(features, kernels)
            adapted.append(fa)
            return features + fa  # residual fusion F^P* = F^P + F^a

        heatmaps, features = self.pose_net(images, refine=refine)
        offsets = self.offset_head(features) if self.offset_head is not None else None
        return PoseOutput(heatmaps=heatmaps, parsing=parsing, kernels=kernels, adapted=adapted[0], offsets=offsets)


def oracle_input(images: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """The input of an oracle-parsing PIL model: ``images`` followed by the one-hot of ``labels``.

    Args:
        images: ``(N, 3, H, W)``.
        labels: ``(N, H, W)`` integer parsing labels; a value outside ``[0, num_classes)`` (the ignore label of
            unlabelled pixels) gives an all-zero one-hot vector.
        num_classes: P.

    Returns:
        ``(N, 3 + P, H, W)`` in ``images``' dtype.
    """
    classes = torch.arange(num_classes, device=labels.device).view(1, num_classes, 1, 1)
    one_hot = (labels.unsqueeze(1).long() == classes).to(images.dtype)
    return torch.cat([images, one_hot], dim=1)


def oracle_flip_perm(parsing_flip_perm: list[int] | tuple[int, ...]) -> list[int]:
    """Channel permutation of an oracle input when the image is mirrored: the image channels stay, the one-hot
    channels swap left and right labels (``parsing_flip_perm[p]`` = the label ``p`` becomes; a mirror
    permutation is its own inverse, so it also says which channel each channel is taken from)."""
    perm = [int(p) for p in parsing_flip_perm]
    if sorted(perm) != list(range(len(perm))) or any(perm[p] != q for q, p in enumerate(perm)):
        raise ValueError(f"parsing_flip_perm {perm} is not a permutation that is its own inverse")
    return [0, 1, 2, *(3 + p for p in perm)]


class ShuffledKernels(nn.Module):
    """A trained PIL model that refines each image with the kernels predicted for ANOTHER image of the batch
    (image ``i`` gets those of image ``i + 1``, the last the first's): the control "are the dynamic kernels
    specific to the image?". The parsing output is still each image's own. A batch of one image (the last of a
    split, say) takes the kernels of the first image of the last batch of two or more.

    Args:
        model: a :class:`PILPoseModel`.

    Raises:
        ValueError: at call time, a first batch of one image (no other image's kernels exist yet).
    """

    def __init__(self, model: PILPoseModel) -> None:
        super().__init__()
        if not isinstance(model, PILPoseModel):
            raise TypeError(f"shuffled kernels need a PIL model, got {type(model).__name__}")
        self.model = model
        self.stride = model.stride
        self.num_joints = model.num_joints
        self.has_parsing = model.has_parsing
        self._other: Tensor | None = None  # kernels of an image of an earlier batch, for a batch of one

    def forward(self, images: Tensor) -> PoseOutput:
        own = self.model(images)
        if images.shape[0] >= 2:
            kernels = own.kernels.roll(-1, dims=0)
            self._other = own.kernels[:1].detach()
        elif self._other is not None:
            kernels = self._other
        else:
            raise ValueError("shuffled kernels: the first batch holds one image, which has no other image's "
                             "kernels to take; evaluate with batches of 2 or more")
        out = self.model(images, kernels=kernels)
        out.parsing = own.parsing
        return out
