"""Parsing networks alone: the parsing encoder E^S and classifier C^S of a PIL model, without a pose side.

``ParsingOnlyModel`` wraps the same :class:`~piltools.models.pil.ParsingEncoder` (around the same
``VGG16Net`` / one-stack ``StackedHourglass``) that a PIL model builds for its parsing branch, under the
same attribute name (``parsing_encoder``), so a parsing-only run trains exactly the network the PIL model
would use and its weights load into a PIL model's ``parsing_encoder`` key for key. These are the parsing
networks of the paper's Tables 1 and 3 trained with cross-entropy only (:func:`piltools.losses.total_loss`).
"""
from __future__ import annotations

from torch import Tensor, nn

from piltools.models.output import PoseOutput
from piltools.models.pil import ParsingEncoder, PoseNet


class ParsingOnlyModel(nn.Module):
    """A parsing network trained alone; ``forward`` returns a :class:`PoseOutput` without heatmaps.

    Args:
        parsing_net: a VGG16 or one-stack hourglass network whose head is the 1x1 parsing classifier
            (``num_outputs`` = number of parsing classes).
    """

    #: no pose side: the output's ``heatmaps`` is empty and the loss is cross-entropy only.
    parsing_only = True
    has_parsing = True
    num_heatmaps = 0

    def __init__(self, parsing_net: PoseNet) -> None:
        super().__init__()
        self.parsing_encoder = ParsingEncoder(parsing_net)
        self.stride = parsing_net.stride
        self.num_parsing = parsing_net.num_outputs

    def forward(self, images: Tensor) -> PoseOutput:
        """Args:
            images: ``(N, 3, H, W)``.

        Returns:
            ``PoseOutput(heatmaps=[], parsing=logits (N, num_parsing, H, W))``.
        """
        _, logits = self.parsing_encoder(images)
        return PoseOutput(heatmaps=[], parsing=logits)
