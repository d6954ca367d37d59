"""Pose models of the PIL paper: VGG16-FCN and stacked hourglass, with and without PIL, and their
parsing networks alone (``Parsing(...)``, :class:`ParsingOnlyModel`).

``from piltools.models import create_model, list_models``; every model's
``forward(images)`` returns a :class:`PoseOutput`.
"""
from piltools.models.baselines import FusionPoseModel, MTLPoseModel, PoseModel, SelfPoseModel, StaticConvModule
from piltools.models.hourglass import Hourglass, StackedHourglass
from piltools.models.layers import (
    AdaptiveConv,
    ParameterAdapter,
    Residual,
    depthwise_conv_grouped,
    depthwise_conv_loop,
)
from piltools.models.output import PoseOutput
from piltools.models.parsing import ParsingOnlyModel
from piltools.models.pil import ParsingEncoder, PILPoseModel
from piltools.models.registry import (
    MODELS,
    create_model,
    hourglass_model,
    hourglass_parsing_net,
    list_models,
    parsing_model,
    resolve_name,
    slug,
    uses_vgg,
    vgg16_model,
    vgg16_parsing_net,
)
from piltools.models.vgg import VGG16FCN, VGG16Net

__all__ = [
    "MODELS", "AdaptiveConv", "FusionPoseModel", "Hourglass", "MTLPoseModel", "PILPoseModel", "ParameterAdapter",
    "ParsingEncoder", "ParsingOnlyModel", "PoseModel", "PoseOutput", "Residual", "SelfPoseModel",
    "StackedHourglass", "StaticConvModule",
    "VGG16FCN", "VGG16Net", "create_model", "depthwise_conv_grouped", "depthwise_conv_loop", "hourglass_model",
    "hourglass_parsing_net", "list_models", "parsing_model", "resolve_name", "slug", "uses_vgg", "vgg16_model",
    "vgg16_parsing_net",
]
