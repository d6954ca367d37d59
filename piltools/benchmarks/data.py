"""Data pipeline throughput: samples/s of load + augment + targets (``python -m piltools bench data``).

A LIP-layout dataset is written to a temporary folder (the synthetic generator
``piltools.synthetic.generate`` when it is available, otherwise plain
random images with box-shaped parsing maps and random joints: JPEG/PNG decoding,
warping and target costs are what is measured, not the image content), then
read back through :func:`piltools.datasets.load_lip` and :class:`PoseDataset`
with the ``lip`` training preset (reference heatmaps, stride 4) in a
``DataLoader`` (batch 16) for each input size (128, 256 px) and each worker
count 0..``workers``. The first batch is excluded (worker start-up). Rows are
appended to ``results/bench.csv`` (timestamp, machine, benchmark, setting,
value, unit, note); benchmark ``data_throughput``, setting ``size=S workers=W``.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from piltools.benchmarks.model import machine_description, write_rows
from piltools.datasets import PoseDataset, load_lip
from piltools.joints import NUM_JOINTS, NUM_LIP_PARSING
from piltools.lipcsv import LipRow, write_lip_csv

SIZES = (128, 256)
BATCH = 16


def write_random_lip(root: Path, *, n: int, size: int, seed: int) -> Path:
    """Write ``n`` random samples in the flat LIP val layout (fallback without the generator).

    Args:
        root: folder to create ``val_images/``, ``val_segmentations/``, ``lip_val_set.csv`` in.
        n: number of samples.
        size: image height; width is 3/4 of it (LIP images are portrait crops).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    (root / "val_images").mkdir(parents=True, exist_ok=True)
    (root / "val_segmentations").mkdir(parents=True, exist_ok=True)
    height, width = size, size * 3 // 4
    rows = []
    for i in range(n):
        name = f"bench_{i:05d}.jpg"
        low = rng.integers(0, 256, size=(height // 8, width // 8, 3)).astype(np.uint8)
        image = np.asarray(Image.fromarray(low).resize((width, height), Image.BILINEAR))
        noise = rng.integers(-20, 21, size=image.shape)
        image = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)
        labels = np.zeros((height, width), np.uint8)
        for _ in range(6):
            y0, x0 = rng.integers(0, height - 8), rng.integers(0, width - 8)
            labels[y0:y0 + rng.integers(8, height // 3), x0:x0 + rng.integers(8, width // 3)] = \
                rng.integers(1, NUM_LIP_PARSING)
        Image.fromarray(image).save(root / "val_images" / name, quality=90)
        Image.fromarray(labels, mode="L").save(root / "val_segmentations" / f"bench_{i:05d}.png")
        joints = np.column_stack([rng.uniform(0, width - 1, NUM_JOINTS), rng.uniform(0, height - 1, NUM_JOINTS),
                                  np.ones(NUM_JOINTS)])
        rows.append(LipRow(name=name, joints=joints, occluded=rng.random(NUM_JOINTS) < 0.2))
    write_lip_csv(root / "lip_val_set.csv", rows)
    return root


def make_lip_data(root: Path, *, n: int, size: int, seed: int = 0) -> tuple[Path, str]:
    """A LIP-layout val split of ``n`` samples under ``root``; returns (root, how it was made)."""
    try:
        from piltools.synthetic import generate
    except ImportError:
        return write_random_lip(root, n=n, size=size, seed=seed), "random images (no synthetic generator)"
    generate("lip", root, n, seed, size, split="val")
    return root, "synthetic generator"


def measure(dataset: PoseDataset, *, workers: int, batch: int = BATCH) -> float:
    """Samples per second through a DataLoader, excluding the first batch.

    Args:
        dataset: the dataset to iterate once.
        workers: DataLoader worker processes (0: in the main process).
        batch: batch size.
    """
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=False)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = 0
    for item in iterator:
        count += int(item["image"].shape[0])
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed > 0 else float("nan")


def main(out: str | Path = "results/bench.csv", quick: bool = False, workers: int = 2) -> int:
    """Run the data benchmark, print the rows and append them to ``out``.

    Args:
        out: CSV to append to.
        quick: 48 samples per size instead of 320 (a smoke check).
        workers: largest DataLoader worker count measured (0..workers).
    """
    torch.set_num_threads(1)
    n = 48 if quick else 320
    rows: list[tuple[str, str, float, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="piltools_bench_data_") as tmp:
        for size in SIZES:
            root, how = make_lip_data(Path(tmp) / f"lip{size}", n=n, size=size)
            dataset = PoseDataset(load_lip(root, "val"), input_size=size, stride=4, preset="lip", seed=0)
            for num_workers in range(workers + 1):
                rate = measure(dataset, workers=num_workers)
                note = f"LIP layout on disk, {how}; lip preset, reference heatmaps stride 4, batch {BATCH}, n={n}"
                rows.append(("data_throughput", f"size={size} workers={num_workers}", rate, "samples/s", note))
                print(f"data_throughput size={size} workers={num_workers}: {rate:.1f} samples/s")
    path = write_rows(out, machine_description(torch.device("cpu")), rows)
    print(f"appended {len(rows)} rows to {path}")
    return 0
