"""Drawing helpers: output shapes and dtypes, side colours, palettes, and errors on bad input."""
from __future__ import annotations

import numpy as np
import pytest

from piltools.datasets.specs import SIDE_COLOURS
from piltools.errors import InputError
from piltools.joints import IGNORE_LABEL, J, P, PJ
from piltools.viz import (
    LIP_PALETTE,
    PASCAL_PALETTE,
    as_rgb,
    colorize_parsing,
    PERSON_COLOURS,
    draw_box,
    draw_person,
    draw_skeleton,
    overlay_parsing,
    palette_for,
    tile_images,
)


def _missing(k: int) -> np.ndarray:
    joints = np.full((k, 3), np.nan)
    joints[:, 2] = 0
    return joints


def test_draw_skeleton_colours_left_and_right_joints_apart() -> None:
    image = np.zeros((40, 60), np.uint8)  # grey input -> RGB output
    joints = _missing(16)
    joints[J["l_wrist"]] = (10, 20, 1)
    joints[J["r_wrist"]] = (45, 20, 1)
    joints[J["neck"]] = (30, 5, 1)
    out = draw_skeleton(image, joints, radius=2)
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    # no limb joins these three (their elbows are missing): each centre pixel has its side's colour
    assert tuple(out[20, 10]) == SIDE_COLOURS["left"]
    assert tuple(out[20, 45]) == SIDE_COLOURS["right"]
    assert tuple(out[5, 30]) == SIDE_COLOURS["centre"]
    assert SIDE_COLOURS["left"] != SIDE_COLOURS["right"]
    assert not image.any()  # the input is left untouched


def test_draw_skeleton_draws_limbs_between_valid_joints_only() -> None:
    image = np.zeros((40, 40, 3), np.uint8)
    joints = _missing(14)
    joints[PJ["l_knee"]] = (5, 30, 1)
    joints[PJ["l_ankle"]] = (35, 30, 1)  # a left limb along row 30
    out = draw_skeleton(image, joints, radius=1, thickness=3)
    assert tuple(out[30, 20]) == SIDE_COLOURS["left"]  # midway on the (3 px thick) limb
    joints[PJ["l_ankle"], 2] = 0  # ankle missing: no limb, only the knee
    out = draw_skeleton(image, joints, radius=1, thickness=3)
    assert not out[30, 20].any()
    # occluded joints are drawn hollow: the centre stays black
    joints = _missing(14)
    joints[PJ["neck"]] = (20, 20, 1)
    occluded = np.zeros(14, bool)
    occluded[PJ["neck"]] = True
    assert not draw_skeleton(image, joints, occluded, radius=4)[20, 20].any()


def test_draw_skeleton_rejects_bad_joints() -> None:
    image = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(InputError, match="no dataset has 5 joints"):
        draw_skeleton(image, np.zeros((5, 3)))
    with pytest.raises(InputError, match=r"\(K, 2\) or \(K, 3\)"):
        draw_skeleton(image, np.zeros(16))
    with pytest.raises(InputError, match="pascal has 14 joints, got 16"):
        draw_skeleton(image, _missing(16), kind="pascal")


def test_palettes_come_from_the_specs() -> None:
    assert LIP_PALETTE.shape == (20, 3) and LIP_PALETTE.dtype == np.uint8
    assert PASCAL_PALETTE.shape == (256, 3) and PASCAL_PALETTE.dtype == np.uint8
    # VOC palette: id 1 -> (128, 0, 0), id 2 -> (0, 128, 0), id 3 -> (128, 128, 0) (bits of i over R, G, B)
    assert PASCAL_PALETTE[1:4].tolist() == [[128, 0, 0], [0, 128, 0], [128, 128, 0]]
    np.testing.assert_array_equal(palette_for("pascal"), PASCAL_PALETTE[:7])
    np.testing.assert_array_equal(palette_for("lip"), LIP_PALETTE)
    np.testing.assert_array_equal(palette_for("mpii"), LIP_PALETTE)  # MPII models keep LIP's parsing head
    assert (LIP_PALETTE[P["left_arm"]] != LIP_PALETTE[P["right_arm"]]).any()
    with pytest.raises(InputError, match="unknown dataset kind"):
        palette_for("coco")


def test_colorize_and_overlay_use_the_palette() -> None:
    labels = np.array([[0, P["face"]], [P["right_shoe"], IGNORE_LABEL]], np.uint8)
    colour = colorize_parsing(labels, "lip")
    assert colour.shape == (2, 2, 3) and colour.dtype == np.uint8
    assert colour[0, 1].tolist() == LIP_PALETTE[P["face"]].tolist()
    assert colour[1, 1].tolist() == [255, 255, 255]  # ignore is white
    image = np.full((2, 2, 3), 100, np.uint8)
    out = overlay_parsing(image, labels, "lip", alpha=0.5)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [100, 100, 100]  # background pixels are left as they are
    # labelled: round(0.5 * 100 + 0.5 * palette) per channel; face is (0, 0, 255) -> (50, 50, 178)
    assert out[0, 1].tolist() == [50, 50, 178]
    with pytest.raises(ValueError, match="outside 0-6"):
        colorize_parsing(np.array([[7]]), "pascal")
    with pytest.raises(ValueError, match="differ"):
        overlay_parsing(np.zeros((3, 3), np.uint8), labels)


def test_box_tile_and_rgb() -> None:
    out = draw_box(np.zeros((10, 10), np.uint8), np.array([2, 2, 7, 7]), colour=(255, 0, 0))
    assert out.shape == (10, 10, 3) and out[2, 4].tolist() == [255, 0, 0] and not out[4, 4].any()
    grid = tile_images([np.zeros((4, 6, 3), np.uint8), np.zeros((2, 2), np.uint8)], columns=2, pad=1)
    # cells 4 x 6, one row of two: height 1 + 4 + 1, width 1 + 6 + 1 + 6 + 1
    assert grid.shape == (6, 15, 3) and grid.dtype == np.uint8
    with pytest.raises(ValueError, match="at least one image"):
        tile_images([], columns=1)
    assert as_rgb(np.zeros((3, 3, 1), np.uint8)).shape == (3, 3, 3)
    with pytest.raises(ValueError, match="expected an"):
        as_rgb(np.zeros((3, 3, 4), np.uint8))


def test_draw_person_uses_one_colour_and_skips_missing_joints() -> None:
    image = np.zeros((40, 60, 3), np.uint8)
    joints = _missing(14)  # PASCAL: 14 joints
    joints[PJ["l_wrist"]] = (10, 20, 0.7)  # a score, not 1: present
    joints[PJ["l_elbow"]] = (30, 20, 0.4)  # limb l_wrist - l_elbow along row 20
    joints[PJ["r_wrist"]] = (50, 5, 0.0)  # score 0: not drawn
    colour = PERSON_COLOURS[3]
    out = draw_person(image, joints, colour, radius=1, thickness=1, kind="pascal")
    assert tuple(out[20, 10]) == tuple(out[20, 30]) == colour  # the joints' centres
    assert out[20, 20].any()  # the limb between them
    # every drawn pixel is this colour, dimmed at most by anti-aliasing: the same direction in RGB
    drawn = out.reshape(-1, 3)[out.reshape(-1, 3).max(axis=1) >= 40].astype(float)  # faint edges round coarsely
    unit = np.asarray(colour, float) / np.linalg.norm(colour)
    assert np.allclose(drawn / np.linalg.norm(drawn, axis=1, keepdims=True), unit, atol=0.02)
    assert tuple(out[5, 50]) == (0, 0, 0) and out.sum(axis=2)[:, 40:].max() == 0  # nothing right of the elbow
    assert len(set(PERSON_COLOURS)) == len(PERSON_COLOURS) == 10
    with pytest.raises(InputError, match="pascal has 14 joints, got 16"):
        draw_person(image, _missing(16), colour, kind="pascal")
