"""``python -m piltools synth {lip,mpii,pascal} --n N --out DIR --seed S [--size PX] [--split S] [--difficulty L]``
writes a synthetic dataset in the real format; ``python -m piltools synth gallery --out PNG`` draws
the gallery figure (16 samples per kind with joints and parsing overlaid)."""
from __future__ import annotations

import argparse
import sys
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["lip", "mpii", "pascal", "gallery"],
                   help="dataset kind to write, or 'gallery' for the figure")
    p.add_argument("--n", type=int, default=100, help="number of images (ignored by gallery)")
    p.add_argument("--out", default=None,
                   help="dataset root (default data/synthetic/KIND) or gallery PNG "
                        "(default results/figures/synthetic_gallery.png)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--size", type=int, default=128, help="longer image side in pixels")
    p.add_argument("--split", choices=["train", "val"], default="train", help="which split to write")
    p.add_argument("--difficulty", default="default",
                   help="named difficulty level (hard, medium, mild, default; default = the calibrated one)")


def run(args: argparse.Namespace) -> int:
    from piltools.synthetic import difficulty_config

    try:
        config = difficulty_config(args.difficulty)
    except ValueError as exc:
        print(f"piltools synth: {exc}", file=sys.stderr)
        return 2
    if args.kind == "gallery":
        from piltools.synthetic.gallery import make_gallery

        out = make_gallery(args.out or "results/figures/synthetic_gallery.png", seed=args.seed, size=args.size,
                           config=config)
        print(f"wrote {out}")
        return 0
    from piltools.synthetic import generate

    start = time.perf_counter()
    out = generate(args.kind, args.out or f"data/synthetic/{args.kind}", args.n, args.seed, args.size, args.split,
                   config)
    seconds = time.perf_counter() - start
    print(f"wrote {args.n} {args.kind} {args.split} images ({args.size} px, difficulty {args.difficulty}) to {out} in {seconds:.1f} s "
          f"({1000 * seconds / max(args.n, 1):.1f} ms/image)")
    return 0
