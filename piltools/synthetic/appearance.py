"""Clothing, hair, skin and surface materials of synthetic people and objects.

A :class:`MaterialTable` collects the surface materials of one image (a base
colour, an optional second colour and a stripes/checks/noise pattern); the
renderer paints MATERIAL INDICES and colours them at the end. Left and right
garments of one person always share a material (the self-similarity the paper
names as a difficulty).
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from piltools.synthetic.config import Style
from piltools.joints import P

PATTERN_SOLID, PATTERN_STRIPES, PATTERN_CHECKS, PATTERN_NOISE = 0, 1, 2, 3


class MaterialTable:
    """Growing list of materials; index 0 is reserved (unused, background comes from the scene)."""

    def __init__(self) -> None:
        self.colour: list[np.ndarray] = [np.zeros(3)]
        self.colour2: list[np.ndarray] = [np.zeros(3)]
        self.pattern: list[int] = [PATTERN_SOLID]
        self.params: list[tuple[float, float, float]] = [(1.0, 0.0, 0.0)]

    def add(self, colour: np.ndarray, colour2: np.ndarray | None = None, pattern: int = PATTERN_SOLID,
            period: float = 6.0, angle: float = 0.0, phase: float = 0.0) -> int:
        """Register a material and return its index.

        Args:
            colour: RGB base colour, 0-255 floats.
            colour2: second colour of the pattern (defaults to a darker base colour).
            pattern: one of the PATTERN_* constants.
            period: pattern period in pixels.
            angle: pattern orientation in radians.
            phase: pattern phase in radians.
        """
        if len(self.colour) >= 65535:
            raise ValueError("MaterialTable is full (65535 materials)")
        colour = np.asarray(colour, dtype=np.float64)
        self.colour.append(colour)
        self.colour2.append(colour * 0.6 if colour2 is None else np.asarray(colour2, dtype=np.float64))
        self.pattern.append(int(pattern))
        self.params.append((float(period), float(angle), float(phase)))
        return len(self.colour) - 1

    def paint(self, material_map: np.ndarray) -> np.ndarray:
        """Colour a material-index map.

        Args:
            material_map: (H, W) integer material indices (0 = not painted).

        Returns:
            (H, W, 3) float64 RGB, zeros where the index is 0.
        """
        h, w = material_map.shape
        out = np.zeros((h, w, 3))
        for index in np.unique(material_map):
            if index == 0:
                continue
            ys, xs = np.nonzero(material_map == index)
            kind = self.pattern[index]
            if kind == PATTERN_SOLID:
                out[ys, xs] = self.colour[index]
                continue
            period, angle, phase = self.params[index]
            u = (xs * np.cos(angle) + ys * np.sin(angle)) * (2 * np.pi / period) + phase
            if kind == PATTERN_STRIPES:
                on = np.sin(u) > 0
            elif kind == PATTERN_CHECKS:
                v = (-xs * np.sin(angle) + ys * np.cos(angle)) * (2 * np.pi / period) + phase
                on = np.sin(u) * np.sin(v) > 0
            else:  # smooth pseudo-random blotches from a few incommensurate sines
                v = (-xs * np.sin(angle) + ys * np.cos(angle)) * (2 * np.pi / period)
                on = np.sin(u) + np.sin(0.73 * v + 1.3 * phase) + np.sin(0.41 * (u + v)) > 0.3
            out[ys, xs] = np.where(on[:, None], self.colour[index], self.colour2[index])
        return out


def hsv_colour(h: float, s: float, v: float) -> np.ndarray:
    """RGB 0-255 from HSV in [0, 1]."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))) * 255.0


def cloth_colour(rng: np.random.Generator, style: Style) -> np.ndarray:
    """A garment colour from the style's palette."""
    if rng.random() < 0.3:
        hue = rng.random()
    else:
        hue = style.cloth_hues[int(rng.integers(len(style.cloth_hues)))] + rng.uniform(-0.06, 0.06)
    sat = rng.uniform(*style.cloth_sat)
    val = rng.uniform(*style.cloth_val)
    if rng.random() < 0.2:  # greys, blacks and whites are common in clothing
        sat *= 0.15
    return hsv_colour(hue, sat, val)


def cloth_material(rng: np.random.Generator, style: Style, table: MaterialTable, size_px: float) -> int:
    """Add a garment material (maybe patterned) and return its index."""
    colour = cloth_colour(rng, style)
    if rng.random() < style.p_pattern:
        pattern = int(rng.choice([PATTERN_STRIPES, PATTERN_CHECKS, PATTERN_NOISE]))
        colour2 = cloth_colour(rng, style) if rng.random() < 0.5 else colour * rng.uniform(0.4, 0.75)
        period = max(2.5, size_px * rng.uniform(0.03, 0.1))
        return table.add(colour, colour2, pattern, period, rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi))
    return table.add(colour)


SKIN_TONES = np.array([[255, 224, 196], [241, 194, 160], [224, 172, 135], [198, 134, 98],
                       [160, 105, 70], [115, 75, 50], [85, 55, 40]], dtype=np.float64)
HAIR_TONES = np.array([[20, 15, 12], [55, 35, 20], [95, 60, 30], [150, 110, 60], [210, 180, 120],
                       [120, 120, 120], [130, 45, 25]], dtype=np.float64)


@dataclass(frozen=True)
class Outfit:
    """What one person wears, as materials and LIP label ids.

    Args:
        skin: skin material.
        hair: hair material.
        long_hair: hair falls to the shoulders.
        upper: upper-garment material; upper_label its LIP id (UpperClothes, Coat, Dress, Jumpsuits).
        sleeve: 0 none, else the covered fraction of the arm (0-1 of the upper arm for short
            sleeves; 1 + fraction of the forearm for long sleeves, at most 1.8).
        lower: lower-garment material; lower_label its LIP id (Pants, Skirt, Dress, Jumpsuits).
        leg_cover: covered fraction of the leg from the hip (0-1 thigh, 1-1.75 into the shank);
            for skirts/dresses the skirt length as a fraction of the thigh.
        skirt: the lower garment is a skirt or dress (a separate SKIRT layer over the thighs).
        shoes: shoe material.
        glove: glove material or 0.
        hat: hat material or 0.
        sunglasses: wears sunglasses.
        scarf: scarf material or 0.
        eye: dark material for eyes and mouth.
    """

    skin: int
    hair: int
    long_hair: bool
    upper: int
    upper_label: int
    sleeve: float
    lower: int
    lower_label: int
    leg_cover: float
    skirt: bool
    shoes: int
    glove: int
    hat: int
    sunglasses: bool
    scarf: int
    eye: int


def sample_outfit(rng: np.random.Generator, style: Style, table: MaterialTable, size_px: float) -> Outfit:
    """Sample garments, accessories and colours of one person.

    Args:
        rng: random generator.
        style: appearance distribution.
        table: the image's material table (materials are appended).
        size_px: the person's height in pixels (pattern scale).
    """
    skin_base = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.9, 1.08)
    skin = table.add(np.clip(skin_base, 0, 255))
    hair = table.add(HAIR_TONES[int(rng.integers(len(HAIR_TONES)))] * rng.uniform(0.8, 1.2))
    eye = table.add(np.array([25.0, 20.0, 20.0]))
    r = rng.random()
    upper_label = P["upper_clothes"]
    lower_label = P["pants"]
    skirt = False
    if r < style.p_dress:
        upper_label = lower_label = P["dress"]
        skirt = True
    elif r < style.p_dress + style.p_jumpsuit:
        upper_label = lower_label = P["jumpsuits"]
    elif r < style.p_dress + style.p_jumpsuit + style.p_coat:
        upper_label = P["coat"]
    upper = cloth_material(rng, style, table, size_px)
    lower = upper if lower_label == upper_label else cloth_material(rng, style, table, size_px)
    if upper_label == P["coat"] or rng.random() < style.p_long_sleeves:
        sleeve = rng.uniform(1.5, 1.8)
    elif rng.random() < style.p_sleeveless / max(1e-6, 1 - style.p_long_sleeves):
        sleeve = 0.0
    else:
        sleeve = rng.uniform(0.35, 0.8)
    if upper_label == P["dress"]:
        leg_cover = rng.uniform(0.35, 0.9)
    elif upper_label == P["jumpsuits"]:
        leg_cover = rng.uniform(1.5, 1.75)
    elif rng.random() < style.p_skirt:
        lower_label, skirt, leg_cover = P["skirt"], True, rng.uniform(0.3, 0.9)
    elif rng.random() < style.p_shorts:
        leg_cover = rng.uniform(0.45, 1.05)
    else:
        leg_cover = rng.uniform(1.55, 1.75)
    shoes = table.add(cloth_colour(rng, style) * rng.uniform(0.3, 0.9))
    glove = table.add(cloth_colour(rng, style)) if rng.random() < style.p_glove else 0
    hat = cloth_material(rng, style, table, size_px) if rng.random() < style.p_hat else 0
    scarf = cloth_material(rng, style, table, size_px) if rng.random() < style.p_scarf else 0
    return Outfit(skin=skin, hair=hair, long_hair=bool(rng.random() < style.p_long_hair), upper=upper,
                  upper_label=upper_label, sleeve=float(sleeve), lower=lower, lower_label=lower_label,
                  leg_cover=float(leg_cover), skirt=skirt, shoes=shoes, glove=glove, hat=hat,
                  sunglasses=bool(rng.random() < style.p_sunglasses), scarf=scarf, eye=eye)
