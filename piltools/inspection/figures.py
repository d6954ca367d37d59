"""The inspector's panels: RGB arrays (joints) and matplotlib figures (parsing, kernels, heatmaps, kernel space).

Joints are coloured by body side as in every figure of the project (:data:`piltools.viz.SIDE_COLOURS`:
left green, right magenta, centre yellow); ground truth is drawn as hollow rings, predictions as
filled dots. In the PIL panel a joint PIL FIXED is linked to its ground truth by a white line and
one it BROKE by a red line.
"""
from __future__ import annotations

import cv2
import numpy as np

from piltools.datasets.specs import get_spec
from piltools.inspection.analysis import Counterfactual, KernelSpace
from piltools.inspection.data import Inspection
from piltools.viz import colorize_parsing, draw_skeleton, tile_images

#: Panels are drawn this many pixels wide (crops are upscaled).
PANEL_SIZE = 256
FIXED_COLOUR = (255, 255, 255)
BROKE_COLOUR = (230, 30, 30)


def _upscaled(image: np.ndarray) -> tuple[np.ndarray, float]:
    factor = PANEL_SIZE / image.shape[1]
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST), factor


def _input_coords(inspection: Inspection, i: int, pred: np.ndarray) -> np.ndarray:
    """(K, 3) original-pixel predictions mapped into the crop (x, y, 1)."""
    a = inspection.affine[i]
    xy = pred[:, :2] @ a[:, :2].T + a[:, 2]
    return np.concatenate([xy, np.ones((len(xy), 1))], axis=1)


def _rings(image: np.ndarray, joints: np.ndarray, kind: str, factor: float) -> np.ndarray:
    colours = get_spec(kind).joint_colours
    for (x, y, v), colour in zip(joints, colours):
        if v > 0 and np.isfinite(x) and np.isfinite(y):
            cv2.circle(image, (int(round(x * factor)), int(round(y * factor))), 6, colour, 1, cv2.LINE_AA)
    return image


def joints_panel(inspection: Inspection, name: str) -> np.ndarray:
    """Three panels side by side: ground truth, baseline, PIL (with FIXED / BROKE links to the ground truth).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    i = inspection.index_of(name)
    image, factor = _upscaled(inspection.images[i])
    gt = inspection.gt_input[i].copy()
    gt_big = np.concatenate([gt[:, :2] * factor, gt[:, 2:]], axis=1)
    panels = [_rings(draw_skeleton(image, gt_big, radius=3, thickness=2, kind=inspection.kind), gt, inspection.kind,
                     factor)]
    for pred, links in ((inspection.pred_base, False), (inspection.pred_pil, True)):
        p = _input_coords(inspection, i, pred[i])
        p_big = np.concatenate([p[:, :2] * factor, p[:, 2:]], axis=1)
        panel = _rings(draw_skeleton(image, p_big, radius=3, thickness=2, kind=inspection.kind), gt, inspection.kind,
                       factor)
        if links:
            for j in range(len(p)):
                colour = FIXED_COLOUR if inspection.fixed[i, j] else BROKE_COLOUR if inspection.broke[i, j] else None
                if colour is not None:
                    cv2.line(panel, tuple(int(round(v)) for v in p_big[j, :2]),
                             tuple(int(round(v)) for v in gt_big[j, :2]), colour, 2, cv2.LINE_AA)
        panels.append(panel)
    for panel, title in zip(panels, ("ground truth", "baseline", "PIL")):
        _title(panel, title)
    return tile_images(panels, columns=3)


def _title(panel: np.ndarray, text: str) -> None:
    """Write ``text`` in the top-left corner of ``panel`` (in place), white on a dark band."""
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    cv2.rectangle(panel, (0, 0), (width + 8, 18), (0, 0, 0), -1)
    cv2.putText(panel, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of an RGB uint8 image."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError("PNG encoding failed")
    return buf.tobytes()


def parsing_figure(inspection: Inspection, name: str):
    """The PIL model's parsing map beside the ground truth, with the legend of the labels present, and the mIoU."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    i = inspection.index_of(name)
    spec = get_spec(inspection.kind)
    palette = np.asarray(spec.parsing_palette, dtype=np.float64) / 255.0
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1, 0.6]})
    axes[0].imshow(colorize_parsing(inspection.parsing_pred[i], inspection.kind))
    axes[0].set_title("PIL parsing")
    axes[1].imshow(colorize_parsing(inspection.parsing_gt[i], inspection.kind))
    axes[1].set_title(f"ground truth (mIoU {inspection.miou[i]:.1f})")
    present = sorted(set(np.unique(inspection.parsing_pred[i])) | set(np.unique(inspection.parsing_gt[i])) - {255})
    axes[2].legend(handles=[Patch(color=palette[c], label=spec.parsing_labels[c]) for c in present if c < len(palette)],
                   loc="center", fontsize=7, frameon=False)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def kernels_figure(inspection: Inspection, name: str, joint: str):
    """This image's kernels (channels ordered by norm), |F^a| over the image, and ``joint``'s heatmaps, baseline vs PIL."""
    import matplotlib.pyplot as plt

    i = inspection.index_of(name)
    j = inspection.joint_names.index(joint)
    kernels = inspection.kernels[i]
    order = np.argsort(-np.linalg.norm(kernels.reshape(len(kernels), -1), axis=1), kind="stable")
    lim = float(np.abs(kernels).max()) or 1.0
    cols = int(np.ceil(np.sqrt(len(kernels))))
    k = kernels.shape[-1]
    grid = np.full((cols * (k + 1), cols * (k + 1)), np.nan)
    for n, c in enumerate(order):
        r, q = divmod(n, cols)
        grid[r * (k + 1):r * (k + 1) + k, q * (k + 1):q * (k + 1) + k] = kernels[c]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    im = axes[0].imshow(grid, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[0].set_title(f"{len(kernels)} kernels {k}x{k}, by norm")
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    axes[1].imshow(inspection.images[i])
    size = inspection.images.shape[1]
    axes[1].imshow(inspection.adapted_norm[i], cmap="magma", alpha=0.6, extent=(-0.5, size - 0.5, size - 0.5, -0.5))
    axes[1].set_title("|F^a| over the image")
    hb, hp = inspection.heatmaps_base[i, j].astype(np.float32), inspection.heatmaps_pil[i, j].astype(np.float32)
    vmax = float(max(hb.max(), hp.max(), 1e-6))
    axes[2].imshow(hb, cmap="viridis", vmin=0, vmax=vmax)
    axes[2].set_title(f"{joint}: baseline")
    axes[3].imshow(hp, cmap="viridis", vmin=0, vmax=vmax)
    axes[3].set_title(f"{joint}: PIL")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def kernel_space_figure(space: KernelSpace, colour_by: list[str] | np.ndarray, label: str, highlight: int | None = None):
    """Scatter of :func:`~piltools.inspection.analysis.kernel_space` coloured by a categorical attribute."""
    import matplotlib.pyplot as plt

    values = np.asarray(colour_by)
    fig, ax = plt.subplots(figsize=(5, 4))
    for value in sorted(set(values.tolist())):  # numbers in numeric order, names alphabetically
        m = values == value
        ax.scatter(space.coords[m, 0], space.coords[m, 1], s=14, label=str(value))
    if highlight is not None:
        ax.scatter(*space.coords[highlight], s=120, facecolors="none", edgecolors="k", label="shown image")
    ax.set_xlabel(f"PC1 ({100 * space.explained[0]:.0f} % of variance)")
    ax.set_ylabel(f"PC2 ({100 * space.explained[1]:.0f} %)")
    ax.set_title(f"kernel space, coloured by {label}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def counterfactual_panel(inspection: Inspection, result: Counterfactual) -> np.ndarray:
    """Image A with its own kernels (left) and with the donor's (right); ground-truth rings on both."""
    i = inspection.index_of(result.image)
    image, factor = _upscaled(inspection.images[i])
    panels = []
    for pred in (result.own, result.swapped):
        p = _input_coords(inspection, i, pred)
        p[:, :2] *= factor
        panels.append(_rings(draw_skeleton(image, p, radius=3, thickness=2, kind=inspection.kind),
                             inspection.gt_input[i], inspection.kind, factor))
    _title(panels[0], "own kernels")
    _title(panels[1], f"kernels of {result.donor}")
    return tile_images(panels, columns=2)
