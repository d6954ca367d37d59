"""Create a cached synthetic dataset once: idempotent, atomic, versioned; add the attribute sidecar to older ones."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from piltools.synthetic.attributes import attributes_path, sample_attributes, write_attributes
from piltools.synthetic.config import GENERATOR_VERSION, SynthConfig
from piltools.synthetic.sample import render_sample
from piltools.synthetic.writers import generate

MANIFEST = "manifest.json"
#: Beside the manifest: SHA-256 over the dataset's files (:func:`dataset_fingerprint`), computed once.
FINGERPRINT = "files.sha256"


def manifest_for(kind: str, n_train: int, n_val: int, size: int, seed: int, config: SynthConfig) -> dict:
    """The manifest a dataset generated with these parameters carries."""
    return {"kind": kind, "n_train": n_train, "n_val": n_val, "size": size, "seed": seed,
            "generator_version": GENERATOR_VERSION, "config": config.to_dict()}


def read_manifest(root: str | Path) -> dict | None:
    """The manifest under ``root``, or None if absent or unreadable JSON."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def dataset_fingerprint(root: str | Path) -> str:
    """SHA-256 over the relative paths and bytes of every file under ``root`` (the manifest included; this
    function's cache and hidden temporary files left out), so that two machines can tell whether they trained on the same bytes.

    Computed on first request and cached in ``root/files.sha256``; regenerating the dataset replaces the
    whole folder (:func:`ensure_synthetic`), cache included.

    Args:
        root: a dataset folder, e.g. ``data/synthetic/lip-cpu``.
    """
    root = Path(root)
    cache = root / FINGERPRINT
    if cache.is_file():
        return cache.read_text(encoding="utf-8").strip()
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p != cache and not p.name.startswith(".")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    value = digest.hexdigest()
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{FINGERPRINT}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.replace(tmp, cache)
    return value


def ensure_synthetic(kind: str, root: str | Path, n_train: int, n_val: int, size: int = 128, seed: int = 0,
                     config: SynthConfig | None = None) -> Path:
    """Make sure ``root`` holds the synthetic dataset with exactly these parameters.

    If ``root/manifest.json`` matches (kind, sizes, seed, config and :data:`GENERATOR_VERSION`)
    nothing is done. Otherwise both splits are generated into a fresh temporary directory next to
    ``root`` and renamed into place (a stale ``root`` is moved aside and deleted first), so an
    interrupted generation never looks complete. Concurrent callers are safe: the loser of the
    final rename discards its copy if the winner's manifest matches.

    Args:
        kind: "lip", "mpii" or "pascal".
        root: dataset directory, e.g. ``data/synthetic/lip_128``.
        n_train: training images.
        n_val: validation images.
        size: longer image side in pixels.
        seed: dataset seed.
        config: difficulty knobs (default :class:`SynthConfig`).

    Returns:
        ``Path(root)``.
    """
    config = config or SynthConfig()
    root = Path(root)
    wanted = manifest_for(kind, n_train, n_val, size, seed, config)
    if read_manifest(root) == wanted:
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        generate(kind, tmp, n_train, seed, size, "train", config)
        generate(kind, tmp, n_val, seed, size, "val", config)
        (tmp / MANIFEST).write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
        if root.exists():
            if read_manifest(root) == wanted:  # another process finished first
                shutil.rmtree(tmp)
                return root
            stale = Path(tempfile.mkdtemp(prefix=f".{root.name}.stale-", dir=root.parent))
            os.replace(root, stale / root.name)
            shutil.rmtree(stale)
        try:
            os.replace(tmp, root)
        except OSError:
            if read_manifest(root) != wanted:
                raise
            shutil.rmtree(tmp)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def ensure_attributes(root: str | Path, split: str) -> Path | None:
    """Make sure a generated dataset has its ``<split>_attributes.csv`` (:mod:`piltools.synthetic.attributes`).

    Datasets generated before the sidecar existed get it by re-rendering the split from the
    manifest's parameters (a sample is a pure function of them); nothing else is touched.

    Args:
        root: dataset root written by :func:`ensure_synthetic`.
        split: ``"train"`` or ``"val"``.

    Returns:
        The sidecar's path, or None for data without a manifest (the real datasets).
    """
    path = attributes_path(root, split)
    if path.is_file():
        return path
    manifest = read_manifest(root)
    if manifest is None:
        return None
    config = SynthConfig.from_dict(manifest["config"])
    n = int(manifest["n_train" if split == "train" else "n_val"])
    rows = [row for index in range(n)
            for row in sample_attributes(render_sample(manifest["kind"], int(manifest["seed"]), split, index,
                                                       int(manifest["size"]), config))]
    return write_attributes(path, rows)
