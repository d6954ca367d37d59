"""Reading images and label maps, with clear errors.

Images are returned as uint8 RGB ``(H, W, 3)``: grayscale (mode ``L``), palette,
CMYK and RGBA files are converted, so a grayscale LIP JPEG becomes 3 channels.

Label maps (LIP parsing, PASCAL part maps) are returned as uint8 ``(H, W)``
class INDICES: an 8-bit grayscale PNG (mode ``L``) gives its values, a palette
PNG (mode ``P``) gives its palette indices, never the colours. An RGB label PNG
is refused: its colours would have to be mapped back to ids, which is ambiguous.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from piltools.datasets.errors import CorruptImageError, DatasetNotFoundError

_LABEL_MODES = ("L", "P")


def _open(path: Path, what: str) -> Image.Image:
    if not path.is_file():
        raise DatasetNotFoundError(f"{what} not found: {path}")
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise CorruptImageError(f"cannot decode {what} {path}: {err}") from err
    return img


def read_rgb_image(path: str | Path, upright: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3); grayscale and palette become RGB.

    Args:
        path: image file (JPEG, PNG, ...).
        upright: apply the file's EXIF orientation (a phone photo stored sideways comes out as it was
            taken). Off for the datasets, whose annotations are in the stored pixel frame.
    """
    img = _open(Path(path), "image")
    if upright:
        img = ImageOps.exif_transpose(img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def read_label_map(path: str | Path) -> np.ndarray:
    """Read a label PNG as uint8 class indices (H, W).

    Args:
        path: 8-bit grayscale (mode L) or palette (mode P) PNG.
    """
    path = Path(path)
    img = _open(path, "label map")
    if img.mode not in _LABEL_MODES:
        raise CorruptImageError(
            f"label map {path} has PIL mode {img.mode!r}; expected an 8-bit grayscale ('L') or "
            f"palette ('P') PNG holding class ids (colour label images are not accepted)")
    return np.array(img, dtype=np.uint8)  # mode P -> palette indices, mode L -> values


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file, reading only its header.

    Args:
        path: image or label file.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise CorruptImageError(f"cannot decode image {path}: {err}") from err
    return height, width
