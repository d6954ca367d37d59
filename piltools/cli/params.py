"""``python -m piltools params``: parameter counts of the registered models.

By default every model is built at the paper's width (hourglass 256 features,
VGG16 64 first-block channels). Columns split the count into the pose network,
the parsing encoder + classifier, the parameter adapter, the adaptive
convolution (U, V, BN) and the rest (fusion / static-conv / MTL / offset heads).
A ``--pattern`` that matches no registered model exits with status 2 and a
one-line message listing the known names.
"""
from __future__ import annotations

import argparse

from torch import nn

from piltools.errors import InputError
from piltools.models import create_model, list_models

PAPER_WIDTH = {"HG": 256, "VGG": 64}
PARTS = ("pose_net", "parsing_encoder", "adapter", "adaptive_conv")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, default=None,
                   help="width for every model (default: paper width, HG 256 / VGG16 64)")
    p.add_argument("--input", type=int, default=256, help="square input size, for the predicted kernel size column")
    p.add_argument("--pattern", default="*", help="fnmatch pattern over paper names or slugs (default all)")


def count(module: nn.Module | None) -> int:
    """Number of parameters of ``module`` (0 for None)."""
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def parameter_rows(pattern: str = "*", width: int | None = None, input_size: int = 256) -> list[dict]:
    """One dict per matching model: name, width, total and per-part counts, kernel size (PIL only).

    Args:
        pattern: fnmatch pattern passed to ``list_models``.
        width: width for every model; None = the paper width of the model's family.
        input_size: square input size used for the ``kernel`` column.
    """
    rows = []
    for name in list_models(pattern):
        w = width if width is not None else PAPER_WIDTH["VGG" if name.startswith("VGG") else "HG"]
        model = create_model(name, width=w)
        parts = {part: count(getattr(model, part, None)) for part in PARTS}
        total = count(model)
        kernel = model.kernel_size(input_size) if hasattr(model, "kernel_size") else None
        rows.append(dict(name=name, width=w, total=total, **parts, other=total - sum(parts.values()), kernel=kernel))
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown table of :func:`parameter_rows` output, counts in millions."""
    header = "| model | width | params (M) | pose net | parsing enc. | adapter | adaptive conv | other | kernel |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        mil = [f"{r[k] / 1e6:.3f}" for k in ("total", *PARTS, "other")]
        kernel = f"{r['kernel']}x{r['kernel']}" if r["kernel"] else "-"
        lines.append(f"| {r['name']} | {r['width']} | " + " | ".join(mil) + f" | {kernel} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = parameter_rows(args.pattern, args.width, args.input)
    if not rows:
        raise InputError(f"--pattern {args.pattern!r} matches no registered model; known: {', '.join(list_models())}")
    print(format_table(rows))
    by_name = {r["name"]: r["total"] for r in rows}
    a, b = "HG-1s-1u-PIL(HG-1s-1u)", "HG-2s-1u"
    if a in by_name and b in by_name:
        print(f"\n{a} / {b} parameters: {by_name[a] / by_name[b]:.3f} "
              "(the paper says they are similar)")
    return 0
