"""The synthetic-data gallery figure: 16 samples per dataset kind with joints and parsing overlaid."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from piltools.datasets.specs import get_spec
from piltools.joints import PASCAL_JOINT_NAMES
from piltools.synthetic.config import KINDS, SynthConfig
from piltools.synthetic.render import pascal_joints
from piltools.synthetic.sample import Sample, render_sample
from piltools.viz import as_rgb, draw_box, draw_skeleton, overlay_parsing, tile_images


def sample_panels(kind: str, sample: Sample) -> list[np.ndarray]:
    """Two panels of one sample: the image with skeletons, and the parsing overlay (datasets with parsing
    labels) or the image with head boxes (mpii, which has none)."""
    spec = get_spec(kind)
    skel = as_rgb(sample.image)
    parsing = {"lip": sample.lip_parsing, "pascal": sample.pascal_parsing}.get(kind)
    second = overlay_parsing(sample.image, parsing, kind) if spec.has_parsing_labels else as_rgb(sample.image)
    for person in sample.people:
        if spec.num_joints == len(PASCAL_JOINT_NAMES):  # people are rendered with the 16 MPII joints
            joints, occluded = pascal_joints(person.joints, person.occluded)
        else:
            joints, occluded = person.joints, person.occluded
        skel = draw_skeleton(skel, joints, occluded)
        if not spec.has_parsing_labels:
            second = draw_box(second, person.head_box, (255, 255, 0))
    return [skel, second]


def make_gallery(out: str | Path, seed: int = 0, size: int = 128, per_kind: int = 16,
                 config: SynthConfig | None = None) -> Path:
    """Render ``per_kind`` val samples of each kind and save one PNG.

    Each kind is a block of 4 rows x 8 panels (image + skeleton, then parsing overlay or, for mpii,
    the head boxes) under a title bar. Filled joints are visible, hollow ones occluded; left limbs
    green, right magenta.

    Args:
        out: output PNG path (parent directories are created).
        seed: dataset seed.
        size: image size in pixels.
        per_kind: samples per kind.
        config: difficulty knobs.

    Returns:
        The written path.
    """
    blocks = []
    for kind in KINDS:
        panels: list[np.ndarray] = []
        for i in range(per_kind):
            panels += sample_panels(kind, render_sample(kind, seed, "val", i, size, config))
        grid = tile_images(panels, columns=8)
        bar = np.full((22, grid.shape[1], 3), 255, dtype=np.uint8)
        title = {"lip": "lip: image+joints | LIP parsing", "mpii": "mpii (shifted style, no parsing): "
                 "image+joints | head box", "pascal": "pascal: image+joints | 7 part ids"}[kind]
        cv2.putText(bar, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        blocks.append(np.concatenate([bar, grid], axis=0))
    width = max(b.shape[1] for b in blocks)
    blocks = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0)), constant_values=255) for b in blocks]
    figure = np.concatenate(blocks, axis=0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {out}")
    return out
