"""The structure every pose model returns."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from piltools.errors import InputError


@dataclass
class PoseOutput:
    """What a model's ``forward(images)`` returns.

    Attributes:
        heatmaps: one tensor per stack (intermediate supervision), each
            ``(N, K', H/s, W/s)`` with ``K' = num_joints (+1 if background)``
            and ``s`` the output stride (8 for VGG16-FCN, 4 for hourglass).
            ``heatmaps[-1]`` is the final prediction. Empty for a parsing-only
            model (:class:`~piltools.models.parsing.ParsingOnlyModel`): no pose side.
        parsing: parsing logits ``(N, num_parsing, H, W)`` upsampled to the
            input resolution, or ``None`` for models without a parsing branch.
        kernels: the dynamic kernels predicted by the parameter adapter,
            ``(N, C, k, k)``; ``None`` for non-PIL models.
        adapted: the adaptive-convolution feature ``F^a`` ``(N, C, H/s, W/s)``
            added to the pose feature; ``None`` for non-PIL models.
        offsets: multi-person centroid offsets ``(N, 2*num_joints, H/s, W/s)``
            (x, y per joint, in heatmap cells), or ``None`` unless the model
            was built with ``offset_head=True``.
    """

    heatmaps: list[Tensor]
    parsing: Tensor | None = None
    kernels: Tensor | None = None
    adapted: Tensor | None = None
    offsets: Tensor | None = None

    @property
    def parsing_only(self) -> bool:
        """True for the output of a parsing-only model (no heatmaps, parsing logits only)."""
        return not self.heatmaps

    @property
    def final(self) -> Tensor:
        """The last stack's heatmaps.

        Raises:
            InputError: a parsing-only model's output (it predicts no pose).
        """
        if not self.heatmaps:
            raise InputError("this output comes from a parsing-only model (no heatmaps): it predicts parsing, "
                             "not pose; use a pose model for pose predictions")
        return self.heatmaps[-1]
