"""Pose models of the PIL paper: VGG16-FCN and stacked hourglass, with and without PIL.

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
from piltools.models.pil import ParsingEncoder, PILPoseModel
from piltools.models.registry import MODELS, create_model, hourglass_model, list_models, resolve_name, slug, vgg16_model
from piltools.models.vgg import VGG16FCN, VGG16Net

__all__ = [
    "MODELS", "AdaptiveConv", "FusionPoseModel", "Hourglass", "MTLPoseModel", "PILPoseModel", "ParameterAdapter",
    "ParsingEncoder", "PoseModel", "PoseOutput", "Residual", "SelfPoseModel", "StackedHourglass", "StaticConvModule",
    "VGG16FCN", "VGG16Net", "create_model", "depthwise_conv_grouped", "depthwise_conv_loop", "hourglass_model",
    "list_models", "resolve_name", "slug", "vgg16_model",
]
