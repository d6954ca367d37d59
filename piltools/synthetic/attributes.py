"""Per-sample attributes of a synthetic split: a sidecar CSV beside the real-format files.

The real datasets do not say which view a person is seen from or how many joints are hidden, but
the generator knows. :func:`piltools.synthetic.writers.generate` writes them to
``<root>/<split>_attributes.csv`` (one row per annotated person), a file the real formats simply
lack, so the loaders ignore it and the LIP / MPII / PASCAL files stay byte-identical.

Columns (:data:`ATTRIBUTE_COLUMNS`):

* ``name``: image file stem (``val_000003``);
* ``person``: index of the person in the image's annotation (0 for single-person kinds);
* ``view``: ``front``, ``back`` or ``side``;
* ``occluded_joints``: annotated joints marked occluded (self-occlusion or an occluder);
* ``truncated_joints``: joints outside the image (missing in the annotation).

Datasets generated before the sidecar existed get it from their manifest with
:func:`piltools.synthetic.ensure.ensure_attributes` (samples are a pure function of the manifest's parameters, so re-rendering
gives the same people; nothing else in the dataset is touched).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from piltools.synthetic.sample import Sample

ATTRIBUTE_COLUMNS: tuple[str, ...] = ("name", "person", "view", "occluded_joints", "truncated_joints")


def attributes_path(root: str | Path, split: str) -> Path:
    """``<root>/<split>_attributes.csv``."""
    return Path(root) / f"{split}_attributes.csv"


def sample_attributes(sample: Sample) -> list[dict]:
    """One row per annotated person of ``sample`` (keys :data:`ATTRIBUTE_COLUMNS`)."""
    rows = []
    for index, person in enumerate(sample.people):
        inside = person.joints[:, 2] > 0
        rows.append({"name": sample.name, "person": index, "view": person.view,
                     "occluded_joints": int(np.count_nonzero(person.occluded & inside)),
                     "truncated_joints": int(np.count_nonzero(~inside))})
    return rows


def write_attributes(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write attribute rows as CSV atomically (a reader never sees half a file)."""
    path = Path(path)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ATTRIBUTE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return path


def read_attributes(root: str | Path, split: str) -> list[dict] | None:
    """The rows of ``<root>/<split>_attributes.csv`` (integers parsed), or None when there is no such file."""
    path = attributes_path(root, split)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("person", "occluded_joints", "truncated_joints"):
            row[key] = int(row[key])
    return rows

