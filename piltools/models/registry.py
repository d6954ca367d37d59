"""The model registry: paper names -> builders, ``create_model`` and ``list_models``.

A name resolves in its paper spelling ("HG-4s-2u-PIL(HG-1s-4u)") or as a slug
(lowercase, runs of non-alphanumerics -> '-': "hg-4s-2u-pil-hg-1s-4u").

Every builder accepts the common overrides ``num_joints``, ``background``,
``num_parsing``, ``width``, ``adapter_pools``, ``pil_stack``, ``offset_head``, ``offset_design``;
models without a parsing branch / PIL accept but do not use the ones that do
not apply, so a loop over names can pass the same overrides to all.

The parsing-only models ``Parsing(VGG16)`` and ``Parsing(HG-1s-{1,2,4,8}u)``
(:class:`~piltools.models.parsing.ParsingOnlyModel`) are the parsing networks of
Tables 1 and 3 alone, built by the same functions as the PIL models' parsing
branches (:func:`vgg16_parsing_net`, :func:`hourglass_parsing_net`).
"""
from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable
from functools import partial
from typing import Literal

from torch import nn

from piltools.joints import NUM_JOINTS, NUM_LIP_PARSING
from piltools.models.baselines import FusionPoseModel, MTLPoseModel, PoseModel, SelfPoseModel
from piltools.models.hourglass import StackedHourglass
from piltools.models.parsing import ParsingOnlyModel
from piltools.models.pil import PILPoseModel
from piltools.models.vgg import VGG16Net

VGGVariant = Literal["plain", "add", "multi", "concat", "mtl", "self", "pil"]

#: The paper's widths: VGG16 first-block channels and hourglass feature channels.
VGG_WIDTH = 64
HG_WIDTH = 256


def vgg16_parsing_net(width: int, num_parsing: int, batch_norm: bool = False) -> VGG16Net:
    """The parsing VGG16-FCN of Table 1 (encoder E^S, head = the parsing classifier C^S).

    Args:
        width: first-block channels (paper 64).
        num_parsing: parsing classes.
        batch_norm: BN after every VGG conv (off in the paper).
    """
    return VGG16Net(width=width, num_outputs=num_parsing, batch_norm=batch_norm)


def hourglass_parsing_net(num_units: int, width: int, num_parsing: int, in_channels: int = 3) -> StackedHourglass:
    """The one-stack parsing hourglass ``HG-1s-{num_units}u`` of Tables 2 / 3 (head = the parsing classifier).

    Args:
        num_units: residual units per location.
        width: feature channels (paper 256).
        num_parsing: parsing classes.
        in_channels: input channels: 3 (the image), or ``num_parsing`` for the oracle control (the one-hot of
            the true parsing labels).
    """
    return StackedHourglass(1, num_units, width=width, num_outputs=num_parsing, in_channels=in_channels)


def vgg16_model(
    variant: VGGVariant,
    *,
    num_joints: int = NUM_JOINTS,
    background: bool = False,
    num_parsing: int = NUM_LIP_PARSING,
    width: int = VGG_WIDTH,
    adapter_pools: int = 2,
    pil_stack: int = -1,
    offset_head: bool = False,
    offset_design: str = "shared",
    batch_norm: bool = False,
    self_kernel: int = 3,
) -> nn.Module:
    """A Table 1 model on VGG16-FCN (pose and, where used, an independent parsing VGG16-FCN).

    Args:
        variant: plain (``VGG16``), add / multi / concat (fusion ablations), mtl
            (shared encoder), self (static conv module), pil (``VGG16-PIL(VGG16)``).
        num_joints: K heatmaps (+1 with ``background``).
        background: predict an extra background map.
        num_parsing: parsing classes.
        width: first-block channels (paper 64).
        adapter_pools: max-pools in the PIL parameter adapter (paper 2).
        pil_stack: must be -1 or 0 (VGG has one stack).
        offset_head: multi-person centroid-offset head.
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
        batch_norm: BN after every VGG conv (off in the paper).
        self_kernel: depthwise kernel size of ``VGG16-Self``.
    """
    pose = VGG16Net(width=width, num_outputs=num_joints + int(background), refine_stack=pil_stack, batch_norm=batch_norm)
    heads = dict(num_joints=num_joints, background=background, offset_head=offset_head, offset_design=offset_design)
    if variant == "plain":
        return PoseModel(pose, **heads)
    if variant == "mtl":
        return MTLPoseModel(pose, num_parsing=num_parsing, **heads)
    if variant == "self":
        return SelfPoseModel(pose, kernel_size=self_kernel, **heads)
    parsing = vgg16_parsing_net(width, num_parsing, batch_norm)
    if variant == "pil":
        return PILPoseModel(pose, parsing, adapter_pools=adapter_pools, **heads)
    return FusionPoseModel(pose, parsing, mode=variant, **heads)


def hourglass_model(
    num_stacks: int,
    num_units: int,
    parsing_units: int | None = None,
    *,
    num_joints: int = NUM_JOINTS,
    background: bool = False,
    num_parsing: int = NUM_LIP_PARSING,
    width: int = HG_WIDTH,
    adapter_pools: int = 2,
    pil_stack: int = -1,
    offset_head: bool = False,
    offset_design: str = "shared",
    parsing_input: str = "image",
) -> nn.Module:
    """``HG-{num_stacks}s-{num_units}u``, with ``-PIL(HG-1s-{parsing_units}u)`` when ``parsing_units`` is set.

    Args:
        num_stacks: pose hourglass stacks.
        num_units: residual units per location in the pose hourglasses.
        parsing_units: residual units of the one-stack parsing hourglass; None = no PIL.
        num_joints: K heatmaps (+1 with ``background``).
        background: predict an extra background map.
        num_parsing: parsing classes.
        width: feature channels (paper 256).
        adapter_pools: max-pools in the PIL parameter adapter (paper 2).
        pil_stack: the pose stack refined by PIL (-1 = last, as the reference code).
        offset_head: multi-person centroid-offset head.
        offset_design: its design, ``"shared"`` or ``"separate"`` (:class:`~piltools.models.pil.OffsetHead`).
        parsing_input: what the parsing hourglass sees: ``"image"`` (the paper) or ``"oracle"`` (the one-hot of
            the true parsing labels, stacked after the image's channels; see :class:`PILPoseModel`).
    """
    if parsing_input != "image" and parsing_units is None:
        raise ValueError(f"parsing_input={parsing_input!r} needs a PIL model; HG-{num_stacks}s-{num_units}u has "
                         "no parsing branch")
    pose = StackedHourglass(num_stacks, num_units, width=width, num_outputs=num_joints + int(background),
                            refine_stack=pil_stack)
    heads = dict(num_joints=num_joints, background=background, offset_head=offset_head, offset_design=offset_design)
    if parsing_units is None:
        return PoseModel(pose, **heads)
    oracle = parsing_input == "oracle"
    parsing = hourglass_parsing_net(parsing_units, width, num_parsing, in_channels=num_parsing if oracle else 3)
    return PILPoseModel(pose, parsing, adapter_pools=adapter_pools, parsing_input=parsing_input, **heads)


def parsing_model(
    num_units: int | None,
    *,
    num_joints: int = NUM_JOINTS,
    background: bool = False,
    num_parsing: int = NUM_LIP_PARSING,
    width: int | None = None,
    adapter_pools: int = 2,
    pil_stack: int = -1,
    offset_head: bool = False,
    offset_design: str = "shared",
    batch_norm: bool = False,
) -> ParsingOnlyModel:
    """``Parsing(VGG16)`` (``num_units`` None) or ``Parsing(HG-1s-{num_units}u)``: a parsing network alone.

    The pose-side overrides (``num_joints``, ``background``, ``adapter_pools``, ``pil_stack``,
    ``offset_head``, ``offset_design``) are accepted and unused: there is no pose side.

    Args:
        num_units: residual units of the one-stack parsing hourglass; None = the VGG16-FCN.
        num_parsing: parsing classes.
        width: VGG first-block channels (default :data:`VGG_WIDTH`) or hourglass feature channels (default
            :data:`HG_WIDTH`), as the PIL models' parsing branches.
        batch_norm: BN after every VGG conv (VGG only; off in the paper).
    """
    if num_units is None:
        return ParsingOnlyModel(vgg16_parsing_net(VGG_WIDTH if width is None else width, num_parsing, batch_norm))
    return ParsingOnlyModel(hourglass_parsing_net(num_units, HG_WIDTH if width is None else width, num_parsing))


# Paper name -> builder. Table 1 (VGG16 ablations), Tables 2 / 3 / 6 (hourglass), the parsing networks alone.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "VGG16": partial(vgg16_model, "plain"),
    "VGG16-Add": partial(vgg16_model, "add"),
    "VGG16-Multi": partial(vgg16_model, "multi"),
    "VGG16-Concat": partial(vgg16_model, "concat"),
    "VGG16-MTL": partial(vgg16_model, "mtl"),
    "VGG16-Self": partial(vgg16_model, "self"),
    "VGG16-PIL(VGG16)": partial(vgg16_model, "pil"),
    "HG-1s-1u": partial(hourglass_model, 1, 1),
    "HG-1s-1u-PIL(HG-1s-1u)": partial(hourglass_model, 1, 1, 1),
    "HG-2s-1u": partial(hourglass_model, 2, 1),
    "HG-2s-1u-PIL(HG-1s-2u)": partial(hourglass_model, 2, 1, 2),
    # Table 3 at the cpu scale, whose pose network is HG-2s-1u (experiments.SCALES["cpu"].table3_pose)
    "HG-2s-1u-PIL(HG-1s-1u)": partial(hourglass_model, 2, 1, 1),
    "HG-2s-1u-PIL(HG-1s-4u)": partial(hourglass_model, 2, 1, 4),
    "HG-2s-1u-PIL(HG-1s-8u)": partial(hourglass_model, 2, 1, 8),
    "HG-4s-2u": partial(hourglass_model, 4, 2),
    "HG-4s-2u-PIL(HG-1s-1u)": partial(hourglass_model, 4, 2, 1),
    "HG-4s-2u-PIL(HG-1s-2u)": partial(hourglass_model, 4, 2, 2),
    "HG-4s-2u-PIL(HG-1s-4u)": partial(hourglass_model, 4, 2, 4),
    "HG-4s-2u-PIL(HG-1s-8u)": partial(hourglass_model, 4, 2, 8),
    "HG-8s-1u": partial(hourglass_model, 8, 1),
    "HG-8s-1u-PIL(HG-1s-2u)": partial(hourglass_model, 8, 1, 2),
    # The parsing networks alone (cross-entropy only): the calibration of the parsing side.
    "Parsing(VGG16)": partial(parsing_model, None),
    "Parsing(HG-1s-1u)": partial(parsing_model, 1),
    "Parsing(HG-1s-2u)": partial(parsing_model, 2),
    "Parsing(HG-1s-4u)": partial(parsing_model, 4),
    "Parsing(HG-1s-8u)": partial(parsing_model, 8),
}


def slug(name: str) -> str:
    """``"VGG16-PIL(VGG16)"`` -> ``"vgg16-pil-vgg16"``: lowercase, non-alphanumeric runs -> '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


_BY_SLUG: dict[str, str] = {slug(name): name for name in MODELS}


def resolve_name(name: str) -> str:
    """The paper name of a registered model given its paper name or slug.

    Raises:
        ValueError: unknown name; the message lists the closest registered names.
    """
    key = slug(name)
    if key in _BY_SLUG:
        return _BY_SLUG[key]
    close = [_BY_SLUG[s] for s in difflib.get_close_matches(key, list(_BY_SLUG), n=5, cutoff=0.5)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown model {name!r}{hint} (list_models() gives all {len(MODELS)} names)")


def create_model(name: str, **overrides: object) -> nn.Module:
    """Build a registered model.

    Args:
        name: paper name or slug (e.g. ``"HG-2s-1u-PIL(HG-1s-2u)"`` or ``"hg-2s-1u-pil-hg-1s-2u"``).
        **overrides: builder keyword arguments (``width``, ``num_joints``, ``background``, ...).

    Returns:
        The model; ``forward(images (N, 3, H, W))`` returns a :class:`PoseOutput`.
    """
    return MODELS[resolve_name(name)](**overrides)


def uses_vgg(name: str) -> bool:
    """Whether a registered model is built on VGG16-FCN (else on hourglasses): its widths, rates and
    adapter pools follow the VGG settings of a scale."""
    return "VGG16" in resolve_name(name)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted paper names whose paper name or slug matches the fnmatch ``pattern`` (case-insensitive)."""
    pat = pattern.lower()
    return sorted(n for n in MODELS if fnmatch.fnmatchcase(n.lower(), pat) or fnmatch.fnmatchcase(slug(n), pat))
