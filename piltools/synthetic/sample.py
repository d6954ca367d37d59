"""One synthetic sample as a pure function of (kind, seed, split, index, size, config)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from piltools.datasets.specs import get_spec
from piltools.synthetic.appearance import MaterialTable, sample_outfit
from piltools.synthetic.body import pose_skeleton, sample_pose, sample_shape
from piltools.synthetic.config import KINDS, SPLITS, STYLES, Style, SynthConfig, check_kind_split
from piltools.synthetic.render import Canvas, Projection, RenderedPerson, draw_person, joint_visibility
from piltools.synthetic.scene import background, draw_distractor_limb, draw_occluder, photometric

MAX_PEOPLE = 5
PEOPLE_PROBS = (0.3, 0.25, 0.2, 0.15, 0.1)  # pascal: 1..5 people


@dataclass
class SyntheticPerson:
    """Annotation of one drawn person (0-based pixel coordinates).

    Args:
        joints: (16, 3) MPII-order x, y, valid (NaN, NaN, 0 where outside the image).
        occluded: (16,) bool.
        box: (4,) x1, y1, x2, y2 of the figure, clipped to the image.
        center: (2,) centre of the unclipped figure.
        scale: pixels per stature / 200 (MPII convention: person height / 200).
        head_box: (4,) x1, y1, x2, y2 of the drawn head.
        view: "front", "back" or "side".
    """

    joints: np.ndarray
    occluded: np.ndarray
    box: np.ndarray
    center: np.ndarray
    scale: float
    head_box: np.ndarray
    view: str


@dataclass
class Sample:
    """One generated image with its labels.

    Args:
        name: file stem (``{split}_{index:06d}``).
        image: (H, W, 3) uint8 RGB, or (H, W) uint8 for a grayscale sample.
        lip_parsing: (H, W) uint8 LIP ids 0-19 (every kind gets one; only lip writes it).
        pascal_parsing: (H, W) uint8 PASCAL part ids 0-6.
        people: annotated people, nearest last.
    """

    name: str
    image: np.ndarray
    lip_parsing: np.ndarray
    pascal_parsing: np.ndarray
    people: list[SyntheticPerson]


def sample_rng(kind: str, seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of sample ``index``: seeded from (seed, kind, split, index) only."""
    check_kind_split(kind, split)
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed} index={index}")
    return np.random.default_rng(np.random.SeedSequence([seed, KINDS.index(kind), SPLITS.index(split), index]))


def image_shape(rng: np.random.Generator, style: Style, size: int) -> tuple[int, int]:
    """(height, width) with the longer side = ``size`` and a style-drawn aspect ratio."""
    aspect = rng.uniform(*style.aspect)
    if aspect >= 1.0:
        return max(16, int(round(size / aspect))), size
    return size, max(16, int(round(size * aspect)))


def _place(rng: np.random.Generator, config: SynthConfig, unit: np.ndarray, height: int, width: int,
           fill: float, roll: float, x_anchor: float | None = None) -> Projection:
    """Scale/offset a unit-scale figure (points ``unit`` (N, 2), pelvis at 0) into the image."""
    lo, hi = unit.min(axis=0), unit.max(axis=0)
    bw, bh = max(hi[0] - lo[0], 0.2), max(hi[1] - lo[1], 0.3)
    scale = fill * min(height / bh, width / bw)
    truncate = rng.random() < config.p_truncate
    if truncate:
        scale *= rng.uniform(*config.truncate_zoom)
    size = np.array([bw, bh]) * scale
    centre = (lo + hi) / 2 * scale  # figure centre relative to the pelvis, in pixels
    span = np.array([width - 1.0, height - 1.0])  # pixel centres 0 .. W-1
    slack = np.maximum(span - size, 0.0)
    target = span / 2 + rng.uniform(-0.5, 0.5, 2) * slack
    if x_anchor is not None:
        target[0] = x_anchor
    if truncate:
        mode = rng.choice(3, p=[0.65, 0.25, 0.1])
        if mode == 0:    # lower body leaves the bottom edge, head stays in
            target[1] = size[1] / 2 + height * rng.uniform(0.0, 0.08)
        elif mode == 1:  # one side leaves the frame
            target[0] = rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.4) * size[0] + width / 2
        else:            # the head leaves the top edge
            target[1] = height - size[1] / 2 - height * rng.uniform(0.0, 0.05)
    return Projection(scale=float(scale), roll=roll, offset=target - centre)


def _unit_points(skel, shape, roll: float) -> np.ndarray:
    proj = Projection(scale=1.0, roll=roll, offset=np.zeros(2))
    head = skel.head_center[None, :] + np.array([[0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0]]) * shape.head_h
    pts = np.concatenate([skel.joints, skel.toe, skel.hand_end, head])
    return proj(pts)


def render_sample(kind: str, seed: int, split: str, index: int, size: int = 128,
                  config: SynthConfig | None = None) -> Sample:
    """Generate sample ``index`` of a synthetic dataset in memory.

    Args:
        kind: "lip", "mpii" or "pascal" (selects the style and the number of people).
        seed: dataset seed (non-negative int).
        split: "train" or "val".
        index: sample index (non-negative).
        size: longer image side in pixels.
        config: difficulty knobs (default :class:`SynthConfig`).

    Returns:
        The :class:`Sample`; identical for identical arguments.
    """
    config = config or SynthConfig()
    rng = sample_rng(kind, seed, split, index)
    style = STYLES[kind]
    height, width = image_shape(rng, style, size)
    bg = background(rng, style, config, height, width)
    canvas = Canvas(height, width)
    table = MaterialTable()
    multi_person = get_spec(kind).multi_person
    n_people = int(rng.choice(MAX_PEOPLE, p=PEOPLE_PROBS)) + 1 if multi_person else 1

    figures = []
    for p in range(n_people):
        shape = sample_shape(rng, style)
        pose = sample_pose(rng, config)
        skel = pose_skeleton(shape, pose)
        fill = rng.uniform(*(config.person_fill or style.fill))
        anchor = None
        if n_people > 1:  # spread people over the width, neighbours overlapping
            anchor = width * (p + 0.5 + rng.uniform(-0.45, 0.45)) / n_people
        proj = _place(rng, config, _unit_points(skel, shape, pose.roll), height, width, fill, pose.roll,
                      x_anchor=anchor)
        figures.append((proj.scale, p, shape, pose, skel, proj))
    # far (small) people first
    figures.sort(key=lambda f: (f[0], f[1]))
    if not multi_person:
        for _ in range(config.max_distractor_limbs):
            if rng.random() < config.p_distractor and rng.random() < 0.5:
                draw_distractor_limb(canvas, table, rng, style, figures[0][0])
    rendered: list[tuple[RenderedPerson, str]] = []
    for order, (_, _, shape, pose, skel, proj) in enumerate(figures):
        outfit = sample_outfit(rng, style, table, proj.scale)
        rendered.append((draw_person(canvas, order, skel, shape, outfit, proj, rng), pose.view))
    for person, _ in rendered:
        for _ in range(config.max_occluders):
            if rng.random() < config.p_occluder:
                lo, hi = person.extent[:2], person.extent[2:]
                centre = lo + rng.random(2) * (hi - lo)
                draw_occluder(canvas, table, rng, style, centre, person.stature_px * rng.uniform(*config.occluder_size))
    if not multi_person:
        for _ in range(config.max_distractor_limbs):
            if rng.random() < config.p_distractor and rng.random() < 0.5:
                draw_distractor_limb(canvas, table, rng, style, figures[0][0])

    # colour the figure pixels, darken occluding contours between different owners
    owner = canvas.lookup(canvas.owner, np.int32)
    fg = canvas.ops > 0
    colour = table.paint(canvas.lookup(canvas.material, np.int32)) * canvas.lookup(canvas.shade, np.float64)[..., None]
    edge = np.zeros_like(fg)
    edge[1:] |= owner[1:] != owner[:-1]
    edge[:, 1:] |= owner[:, 1:] != owner[:, :-1]
    colour[edge & fg] *= 0.72
    img = np.where(fg[..., None], colour, bg)
    image = photometric(rng, img, style, config, size)
    if style.grayscale and rng.random() < config.p_grayscale:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

    people = []
    for order, (person, view) in enumerate(rendered):
        joints, occluded = joint_visibility(canvas, order, person)
        box = np.array([max(person.extent[0], 0.0), max(person.extent[1], 0.0),
                        min(person.extent[2], width - 1.0), min(person.extent[3], height - 1.0)])
        center = (person.extent[:2] + person.extent[2:]) / 2
        people.append(SyntheticPerson(joints=joints, occluded=occluded, box=box, center=center,
                                      scale=person.stature_px / 200.0, head_box=person.head_box, view=view))
    return Sample(name=f"{split}_{index:06d}", image=image,
                  lip_parsing=canvas.lookup(canvas.lip, np.uint8),
                  pascal_parsing=canvas.lookup(canvas.pascal, np.uint8), people=people)
