"""``python -m piltools predict IMAGE [IMAGE ...] (--run RUN_DIR | --experiment NAME --scale S [--seed K])
[--box x,y,w,h] [--out DIR] [--flip]``: a trained model on your own images.

Each IMAGE is an image file or a folder (every image in it). The person is the
``--box`` (top-left pixel x, y, width, height in the image's pixels; the same
box for every image) or, without one, the whole image; the crop is the
validation loader's (:mod:`piltools.predict`). Writes to ``--out`` per image
``NAME_overlay.png`` and ``NAME.json`` (joints in the original image's pixels
with confidences) and, for 16-joint (LIP / MPII) models, ``predictions.csv`` in
the LIP format (``python -m piltools evaluate-lip`` reads it). Bad input (a file
that is not an image, an empty folder, a run without a checkpoint, a box
outside an image or malformed, ``--run`` and ``--experiment`` both or neither)
ends with exit code 2 and one line naming it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from piltools.cli.train import seed_argument, stale_runs_reported
from piltools.experiments import SCALE_NAMES
from piltools.predict import CSV_NAME, collect_images, load_predictor, parse_box, predict_files, resolve_run
from piltools.training import is_quiet


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or folders whose images to predict")
    p.add_argument("--run", default=None, metavar="RUN_DIR", help="a trained run's directory")
    p.add_argument("--experiment", default=None, metavar="NAME", help="a named experiment (with --scale)")
    p.add_argument("--scale", default=None, choices=SCALE_NAMES, help="the experiment's scale")
    p.add_argument("--seed", type=seed_argument, default=0, help="the experiment's training seed (default 0)")
    p.add_argument("--runs", default="results/runs", help="runs folder of --experiment (default results/runs)")
    p.add_argument("--box", default=None, metavar="x,y,w,h",
                   help="the person: top-left pixel x, y, width, height in the image's pixels (default: the "
                        "whole image)")
    p.add_argument("--out", default="predictions", metavar="DIR", help="output folder (default ./predictions)")
    p.add_argument("--flip", action="store_true", help="flip test: average with the mirrored image")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"], help="default: CUDA when available")
    p.add_argument("--quiet", action="store_true", help="no progress bar (also PILTOOLS_QUIET=1)")


def run(args: argparse.Namespace) -> int:
    box = None if args.box is None else parse_box(args.box)
    cfg, run_dir = resolve_run(run_dir=args.run, experiment=args.experiment, scale=args.scale, seed=args.seed,
                               runs=args.runs)
    images = collect_images(args.images)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    with stale_runs_reported("predict"):
        predictor = load_predictor(cfg, run_dir, device=device, flip=args.flip)
    source = {"experiment": cfg.name, "scale": cfg.scale, "seed": cfg.seed, "run_dir": str(run_dir),
              "flip_test": args.flip, "eval_scales": list(cfg.train.eval_scales)}
    predict_files(predictor, images, args.out, box=box, quiet=is_quiet(True if args.quiet else None),
                  source=source)
    csv = Path(args.out) / CSV_NAME
    print(json.dumps({"images": len(images), "out": str(args.out), "csv": str(csv) if csv.is_file() else None}))
    return 0
