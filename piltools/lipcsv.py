"""Read and write LIP-format single-person pose CSV files.

Format (the LIP dataset's files ``lip_train_set.csv`` and
``lip_val_set.csv``): no header, one row per image::

    NAME.jpg,x0,y0,v0,x1,y1,v1,...,x15,y15,v15

that is 1 + 16 * 3 = 49 comma-separated fields. Joints are in MPII order
(:data:`piltools.joints.JOINT_NAMES`), pixel coordinates 0-based. ``v`` is the
LIP occlusion flag: ``1`` = occluded, ``0`` = visible. A joint that is not
annotated is written ``nan,nan,nan``.

In memory a row is a :class:`LipRow` whose ``joints`` follow the project-wide
convention ``(16, 3)`` = x, y, valid (valid 1.0 annotated / 0.0 missing, x and
y NaN when missing) and whose occlusion flags travel separately as
``occluded`` ``(16,)`` bool (docs/conventions.md, Missing joints).

Reading is strict: a file that is not UTF-8 text (e.g. an image passed by
mistake), a header line, a malformed row, a blank line, a duplicated image name
or a file without rows raises :class:`LipCsvError`, whose one-line message
names the file (and the 1-based line) and says what was expected. A header is
never skipped: a first line none of whose fields after the first is a number
(``nan`` counts as one) is reported as a header to delete.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from piltools.errors import InputError
from piltools.joints import NUM_JOINTS

FIELDS_PER_JOINT = 3
NUM_FIELDS = 1 + NUM_JOINTS * FIELDS_PER_JOINT  # name + 16 x (x, y, v) = 49


class LipCsvError(InputError):
    """A LIP pose CSV that cannot be read: not text, a header, a malformed or duplicated row, no rows."""


@dataclass
class LipRow:
    """One image's pose annotation (or prediction).

    Args:
        name: image file name as written in the CSV, e.g. ``"100034_483681.jpg"``.
        joints: ``(16, 3)`` float: x, y, valid (1.0 / 0.0); x, y NaN when missing.
        occluded: ``(16,)`` bool, the CSV's ``v`` column (False for missing joints).
    """

    name: str
    joints: np.ndarray
    occluded: np.ndarray

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float64)
        self.occluded = np.asarray(self.occluded, dtype=bool)
        if self.joints.shape != (NUM_JOINTS, 3):
            raise ValueError(f"LipRow {self.name!r}: joints must be ({NUM_JOINTS}, 3), got {self.joints.shape}")
        if self.occluded.shape != (NUM_JOINTS,):
            raise ValueError(f"LipRow {self.name!r}: occluded must be ({NUM_JOINTS},), got {self.occluded.shape}")
        if not self.name or "," in self.name:
            raise ValueError(f"LipRow name must be non-empty and contain no comma, got {self.name!r}")

    @classmethod
    def from_coords(cls, name: str, coords: np.ndarray) -> "LipRow":
        """Build a row from predicted coordinates.

        Args:
            name: image file name.
            coords: ``(16, 2)`` (or ``(16, 3)``, extra columns ignored) x, y;
                a joint with a NaN coordinate is written as missing.
        """
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[0] != NUM_JOINTS or coords.shape[1] < 2:
            raise ValueError(f"{name}: coords must be ({NUM_JOINTS}, 2), got {coords.shape}")
        valid = np.isfinite(coords[:, :2]).all(axis=1)
        joints = np.full((NUM_JOINTS, 3), np.nan)
        joints[:, 2] = valid.astype(np.float64)
        joints[valid, :2] = coords[valid, :2]
        return cls(name=name, joints=joints, occluded=np.zeros(NUM_JOINTS, dtype=bool))


def _parse_number(token: str, where: str, what: str) -> float:
    text = token.strip()
    try:
        value = float(text)
    except ValueError:
        raise LipCsvError(f"{where}: {what} is {token!r}; expected a number or 'nan'") from None
    if math.isinf(value):
        raise LipCsvError(f"{where}: {what} is {token!r}; expected a finite number or 'nan'")
    return value


def _parse_line(line: str, where: str) -> LipRow:
    fields = line.split(",")
    if len(fields) != NUM_FIELDS:
        raise LipCsvError(
            f"{where}: found {len(fields)} comma-separated fields; expected {NUM_FIELDS} "
            f"(image name + {NUM_JOINTS} joints x (x, y, v))"
        )
    name = fields[0].strip()
    if not name:
        raise LipCsvError(f"{where}: empty image name in the first field")
    joints = np.full((NUM_JOINTS, 3), np.nan)
    occluded = np.zeros(NUM_JOINTS, dtype=bool)
    for j in range(NUM_JOINTS):
        start = 1 + FIELDS_PER_JOINT * j
        # one joint's triple: fields[start : start + 3] = x, y, v
        x, y, v = (
            _parse_number(fields[start + k], where, f"field {start + k + 1} (joint {j} {axis})")
            for k, axis in enumerate(("x", "y", "v"))
        )
        missing = [math.isnan(x), math.isnan(y), math.isnan(v)]
        if all(missing):
            joints[j, 2] = 0.0
            continue
        if any(missing):
            raise LipCsvError(
                f"{where}: joint {j} is ({fields[start]}, {fields[start + 1]}, {fields[start + 2]}); "
                "expected three numbers or nan,nan,nan"
            )
        if v not in (0.0, 1.0):
            raise LipCsvError(f"{where}: joint {j} visibility is {fields[start + 2]!r}; expected 0 or 1")
        joints[j] = (x, y, 1.0)
        occluded[j] = v == 1.0
    return LipRow(name=name, joints=joints, occluded=occluded)


def _is_number(token: str) -> bool:
    try:
        float(token.strip())
    except ValueError:
        return False
    return True


def _read_text(path: Path) -> str:
    """The file's text (UTF-8, BOM dropped); a binary file raises :class:`LipCsvError`."""
    data = path.read_bytes()
    expected = f"expected a LIP pose CSV (UTF-8 text, {NUM_FIELDS} comma-separated fields per line)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LipCsvError(f"{path}: not a text file (byte 0x{data[err.start]:02x} at offset {err.start} "
                          f"is not UTF-8); {expected}") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise LipCsvError(f"{path}: not a text file (NUL character at offset {nul}); {expected}")
    return text


def read_lip_csv(path: str | Path) -> dict[str, LipRow]:
    """Read a LIP pose CSV.

    Args:
        path: the CSV file (no header; see the module docstring).

    Returns:
        ``{name: LipRow}`` in file order (Python dicts keep insertion order).

    Raises:
        FileNotFoundError: the file does not exist.
        LipCsvError: (an :class:`~piltools.errors.InputError`, so a
            ``ValueError``) the file is not UTF-8 text, starts with a header,
            has a malformed row (message names the file, the 1-based line
            number and what was expected), a duplicated image name, or no rows.
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    # a single trailing newline is normal; blank lines anywhere else are errors
    while lines and not lines[-1].strip():
        lines.pop()
    rows: dict[str, LipRow] = {}
    first_line: dict[str, int] = {}
    for index, line in enumerate(lines):
        where = f"{path}:{index + 1}"
        if not line.strip():
            raise LipCsvError(f"{where}: blank line; expected {NUM_FIELDS} comma-separated fields")
        fields = line.split(",")
        if index == 0 and len(fields) > 1 and not any(_is_number(f) for f in fields[1:]):
            raise LipCsvError(f"{where}: looks like a header ({line[:60]!r}); LIP pose CSVs have no header "
                              "line: delete it")
        row = _parse_line(line, where)
        if row.name in rows:
            raise LipCsvError(f"{where}: duplicate image name {row.name!r} (first on line {first_line[row.name]})")
        rows[row.name] = row
        first_line[row.name] = index + 1
    if not rows:
        raise LipCsvError(f"{path}: no rows; expected one line per image with {NUM_FIELDS} fields")
    return rows


def _format_number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if value == round(value):
        return str(int(round(value)))
    return f"{value:.3f}"


def format_lip_row(row: LipRow) -> str:
    """One CSV line (without newline) for ``row``: integers where exact, else 3 decimals."""
    parts = [row.name]
    for j in range(NUM_JOINTS):
        x, y, valid = row.joints[j]
        if valid == 0.0 or not (math.isfinite(x) and math.isfinite(y)):
            parts += ["nan", "nan", "nan"]
        else:
            parts += [_format_number(float(x)), _format_number(float(y)), "1" if row.occluded[j] else "0"]
    return ",".join(parts)


def write_lip_csv(path: str | Path, rows: Mapping[str, LipRow] | Iterable[LipRow]) -> None:
    """Write rows in the LIP CSV format (no header, one line per image).

    Args:
        path: output file; parent directories must exist.
        rows: ``{name: LipRow}`` (as returned by :func:`read_lip_csv`) or an
            iterable of :class:`LipRow`; written in iteration order.

    Raises:
        ValueError: duplicate names.
    """
    items = list(rows.values()) if isinstance(rows, Mapping) else list(rows)
    seen: set[str] = set()
    lines = []
    for row in items:
        if row.name in seen:
            raise ValueError(f"write_lip_csv({path}): duplicate image name {row.name!r}")
        seen.add(row.name)
        lines.append(format_lip_row(row))
    Path(path).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
