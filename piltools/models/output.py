"""The structure every pose model returns."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class PoseOutput:
    """What a model's ``forward(images)`` returns.

    Attributes:
        heatmaps: one tensor per stack (intermediate supervision), each
            ``(N, K', H/s, W/s)`` with ``K' = num_joints (+1 if background)``
            and ``s`` the output stride (8 for VGG16-FCN, 4 for hourglass).
            ``heatmaps[-1]`` is the final prediction.
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
    def final(self) -> Tensor:
        """The last stack's heatmaps."""
        return self.heatmaps[-1]
