"""Backgrounds, clutter, occluders, distractor limbs and photometric effects."""
from __future__ import annotations

import cv2
import numpy as np

from piltools.synthetic.appearance import (
    PATTERN_CHECKS,
    PATTERN_NOISE,
    PATTERN_STRIPES,
    SKIN_TONES,
    MaterialTable,
    cloth_colour,
    hsv_colour,
)
from piltools.synthetic.config import Style, SynthConfig
from piltools.synthetic.render import PP, Canvas
from piltools.joints import P


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int, channels: int) -> np.ndarray:
    """Low-frequency random field: a (cells x cells) grid upsampled bicubically to (H, W, channels)."""
    grid = rng.random((cells, cells, channels)).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    return field.reshape(height, width, channels).astype(np.float64)


def _texture(rng: np.random.Generator, height: int, width: int, size: int) -> np.ndarray:
    """A (H, W) texture in [-1, 1]: stripes, checks, or fine noise."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    kind = int(rng.integers(3))
    period = max(2.5, size * rng.uniform(0.02, 0.12))
    a = rng.uniform(0, np.pi)
    u = (xs * np.cos(a) + ys * np.sin(a)) * 2 * np.pi / period
    if kind == 0:
        return np.sign(np.sin(u))
    if kind == 1:
        v = (-xs * np.sin(a) + ys * np.cos(a)) * 2 * np.pi / period
        return np.sign(np.sin(u) * np.sin(v))
    noise = rng.standard_normal((max(2, height // 2), max(2, width // 2))).astype(np.float32)
    return np.clip(cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR), -1, 1).astype(np.float64)


def _random_shape(rng: np.random.Generator, img: np.ndarray, colour: np.ndarray, size: int) -> None:
    h, w = img.shape[:2]
    c = (int(rng.integers(w)), int(rng.integers(h)))
    r = int(size * rng.uniform(0.04, 0.3))
    kind = int(rng.integers(4))
    col = tuple(float(v) for v in colour)
    if kind == 0:
        cv2.rectangle(img, (c[0] - r, c[1] - r // 2), (c[0] + r, c[1] + int(r * rng.uniform(0.5, 3))), col, -1)
    elif kind == 1:
        cv2.circle(img, c, r, col, -1, cv2.LINE_AA)
    elif kind == 2:
        end = (int(rng.integers(w)), int(rng.integers(h)))
        cv2.line(img, c, end, col, max(1, int(size * rng.uniform(0.005, 0.04))), cv2.LINE_AA)
    else:
        pts = (np.array(c) + rng.uniform(-r, r, (int(rng.integers(3, 7)), 2))).astype(np.int32)
        cv2.fillPoly(img, [pts], col, cv2.LINE_AA)


def background(rng: np.random.Generator, style: Style, config: SynthConfig, height: int, width: int) -> np.ndarray:
    """A textured, cluttered background (H, W, 3) float RGB 0-255.

    "outdoor" (LIP, PASCAL): blotchy colour fields, sky/ground split sometimes, random shapes.
    "indoor" (MPII): a wall and a floor with tiles or stripes, furniture-like rectangles, darker.
    """
    size = max(height, width)
    val = rng.uniform(*style.bg_val)
    if style.background == "indoor":
        wall = hsv_colour(rng.uniform(0.0, 1.0), rng.uniform(0.05, 0.5), val)
        floor = hsv_colour(rng.uniform(0.0, 0.15), rng.uniform(0.2, 0.7), val * rng.uniform(0.4, 0.9))
        img = np.empty((height, width, 3))
        horizon = int(height * rng.uniform(0.45, 0.85))
        img[:horizon] = wall
        img[horizon:] = floor
        tex = _texture(rng, height, width, size)
        amp = rng.uniform(0.05, 0.2)
        if rng.random() < 0.5:
            img[horizon:] *= (1 + amp * tex[horizon:])[..., None]
        else:
            img[:horizon] *= (1 + amp * tex[:horizon])[..., None]
        for _ in range(int(rng.integers(2, 6))):  # furniture, doors, windows
            x0, y0 = int(rng.integers(width)), int(rng.integers(height))
            cv2.rectangle(img, (x0, y0), (x0 + int(size * rng.uniform(0.1, 0.5)), y0 + int(size * rng.uniform(0.1, 0.6))),
                          tuple(float(v) for v in hsv_colour(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.1, 0.9))), -1)
    else:
        cells = int(rng.integers(2, 7))
        base = hsv_colour(rng.random(), rng.uniform(0.05, 0.4), val)
        field = _smooth_field(rng, height, width, cells, 3)
        img = base * (0.7 + 0.6 * field) + (field - 0.5) * 40.0
        if rng.random() < 0.4:  # sky / ground
            horizon = int(height * rng.uniform(0.2, 0.7))
            img[horizon:] = img[horizon:] * 0.5 + hsv_colour(rng.uniform(0.05, 0.35), rng.uniform(0.2, 0.6),
                                                              rng.uniform(0.2, 0.7)) * 0.5
    for _ in range(int(rng.integers(config.clutter_shapes[0], config.clutter_shapes[1] + 1))):
        _random_shape(rng, img, hsv_colour(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.1, 0.95)), size)
    if rng.random() < config.p_textured_background:
        mask = _smooth_field(rng, height, width, 3, 1)[..., 0] > rng.uniform(0.3, 0.7)
        tex = _texture(rng, height, width, size)
        img[mask] *= (1 + rng.uniform(0.1, 0.35) * tex[mask])[:, None]
    return np.clip(img, 0, 255)


def draw_occluder(canvas: Canvas, table: MaterialTable, rng: np.random.Generator, style: Style,
                  centre: np.ndarray, size: float) -> None:
    """A random object (box, ball, bag, pole, sign) painted over ``centre``; labelled background."""
    colour = hsv_colour(rng.random(), rng.uniform(0, 0.9), rng.uniform(0.1, 0.95))
    pattern = int(rng.choice([0, PATTERN_STRIPES, PATTERN_CHECKS, PATTERN_NOISE]))
    mat = table.add(colour, colour * rng.uniform(0.3, 0.8), pattern, max(3.0, size * 0.2), rng.uniform(0, np.pi))
    op = canvas.new_op(P["background"], PP["background"], 0, mat)
    kind = int(rng.integers(4))
    half = size / 2
    if kind == 0:
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)])
        n = np.array([-d[1], d[0]])
        w = half * rng.uniform(0.4, 1.0)
        canvas.polygon(np.array([centre + d * half + n * w, centre + d * half - n * w,
                                 centre - d * half - n * w, centre - d * half + n * w]), op)
    elif kind == 1:
        canvas.ellipse(centre, (half, half * rng.uniform(0.5, 1.0)), rng.uniform(0, 180), op)
    elif kind == 2:  # pole / stick
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)]) * size * 1.5
        canvas.capsule(centre - d, centre + d, size * 0.08, size * 0.08, op)
    else:
        canvas.polygon(centre + rng.uniform(-half, half, (int(rng.integers(3, 7)), 2)), op)


def draw_distractor_limb(canvas: Canvas, table: MaterialTable, rng: np.random.Generator, style: Style,
                         stature_px: float) -> None:
    """An arm or leg of a person outside the frame, entering from a border; labelled background."""
    h, w = canvas.height, canvas.width
    border = int(rng.integers(4))
    t = rng.random()
    start = [np.array([t * w, -2.0]), np.array([t * w, h + 1.0]), np.array([-2.0, t * h]),
             np.array([w + 1.0, t * h])][border]
    inward = np.array([[0, 1], [0, -1], [1, 0], [-1, 0]][border], dtype=float)
    a = rng.uniform(-0.8, 0.8)
    d1 = np.array([np.cos(a) * inward[0] - np.sin(a) * inward[1], np.sin(a) * inward[0] + np.cos(a) * inward[1]])
    b = a + rng.uniform(-1.2, 1.2)
    d2 = np.array([np.cos(b) * inward[0] - np.sin(b) * inward[1], np.sin(b) * inward[0] + np.cos(b) * inward[1]])
    is_leg = rng.random() < 0.35
    length = stature_px * (0.24 if is_leg else 0.16) * rng.uniform(0.8, 1.2)
    radius = stature_px * (0.04 if is_leg else 0.026)
    skin = table.add(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))])
    cloth = table.add(cloth_colour(rng, style))
    mid = start + d1 * length
    end = mid + d2 * length
    canvas.capsule(start, mid, radius, radius * 0.85, canvas.new_op(P["background"], PP["background"], 0, cloth))
    tip_op = canvas.new_op(P["background"], PP["background"], 0, skin if rng.random() < 0.6 else cloth)
    canvas.capsule(mid, end, radius * 0.85, radius * 0.7, tip_op)
    canvas.capsule(end, end + d2 * length * 0.4, radius * 0.75, radius * 0.6,
                   canvas.new_op(P["background"], PP["background"], 0, skin if not is_leg else table.add(
                       cloth_colour(rng, style) * 0.5)))


def photometric(rng: np.random.Generator, img: np.ndarray, style: Style, config: SynthConfig,
                size: int) -> np.ndarray:
    """Lighting (gain, contrast, colour cast, illumination ramp), blur and noise.

    Args:
        img: (H, W, 3) float RGB 0-255.
        size: nominal image size (blur radii scale with it, 128 px = 1).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    a = rng.uniform(0, 2 * np.pi)
    ramp = ((xs - w / 2) * np.cos(a) + (ys - h / 2) * np.sin(a)) / max(h, w)
    light = rng.uniform(*config.brightness) * (1 + config.gradient_strength * rng.uniform(-1, 1) * 2 * ramp)
    tint = 1 + rng.uniform(-style.light_tint, style.light_tint, 3)
    img = img * light[..., None] * tint
    contrast = rng.uniform(*config.contrast)
    img = (img - 128.0) * contrast + 128.0
    scale = size / 128.0
    if rng.random() < config.p_blur:
        sigma = rng.uniform(0.3, config.max_blur_sigma) * scale
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < config.p_motion_blur:
        k = max(3, int(round(rng.uniform(3, 7) * scale)) | 1)
        kernel = np.zeros((k, k))
        b = rng.uniform(0, np.pi)
        c = k // 2
        cv2.line(kernel, (int(c - c * np.cos(b)), int(c - c * np.sin(b))),
                 (int(c + c * np.cos(b)), int(c + c * np.sin(b))), 1.0, 1)
        img = cv2.filter2D(img, -1, kernel / kernel.sum())
    sigma_n = rng.uniform(0, config.max_noise_sigma)
    img = img + rng.standard_normal(img.shape) * sigma_n
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
