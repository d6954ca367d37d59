"""Questions asked of an :class:`~piltools.inspection.data.Inspection`: corrections per image and per joint,
sorting and filtering the val images, the kernel space, and counterfactual kernels."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from piltools.datasets.specs import get_spec
from piltools.datasets.transforms import normalize
from piltools.decoding import decode_heatmaps, to_original
from piltools.errors import InputError
from piltools.inspection.data import PCKH_THRESHOLD, Inspection, forward_with_kernels

#: Sort orders of the image table (besides "by joint: NAME", :func:`sort_orders`).
MOST_IMPROVED = "most improved"
MOST_HARMED = "most harmed"
BY_NAME = "by name"
JOINT_ORDER_PREFIX = "by joint: "


def corrections(inspection: Inspection) -> pd.DataFrame:
    """One row per val image (index = image name).

    Columns: ``fixed`` / ``broke`` (joints PIL fixed / broke), ``net`` (fixed - broke), ``scored``
    (counted joints), ``pckh_base`` / ``pckh_pil`` (this image's PCKh@0.5 in percent),
    ``mean_change`` (mean over counted joints of PIL minus baseline distance, head sizes; negative:
    PIL closer), ``mIoU`` (PIL parsing), and the generator's ``view``, ``occluded_joints``,
    ``truncated_joints`` where recorded.
    """
    scored = inspection.counted.sum(axis=1)
    dc = inspection.distance_change()  # NaN where not counted
    change = np.where(np.isfinite(dc), dc, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # an image without a counted joint: NaN
        table = pd.DataFrame({
            "fixed": inspection.fixed.sum(axis=1),
            "broke": inspection.broke.sum(axis=1),
            "net": inspection.fixed.sum(axis=1) - inspection.broke.sum(axis=1),
            "scored": scored,
            "pckh_base": 100.0 * inspection.ok_base.sum(axis=1) / scored,
            "pckh_pil": 100.0 * inspection.ok_pil.sum(axis=1) / scored,
            "mean_change": change / scored,
            "mIoU": inspection.miou,
        }, index=pd.Index(inspection.names, name="image"))
    if inspection.attributes is not None:
        for column in inspection.attributes.columns:
            table[column] = inspection.attributes[column].to_numpy()
    return table


def sort_orders(inspection: Inspection) -> list[str]:
    """The sort orders the image table offers: most improved, most harmed, by name, and by each joint."""
    return [MOST_IMPROVED, MOST_HARMED, BY_NAME, *(JOINT_ORDER_PREFIX + n for n in inspection.joint_names)]


def sort_table(inspection: Inspection, table: pd.DataFrame, order: str) -> pd.DataFrame:
    """``table`` (rows of :func:`corrections`) in a sort order of :func:`sort_orders`.

    - most improved: largest ``net`` first, ties by smallest ``mean_change`` (PIL moved joints closer), then name;
    - most harmed: smallest ``net`` first, ties by largest ``mean_change``, then name;
    - by joint: that joint's distance change (head sizes), most improved first, uncounted last.

    Raises:
        InputError: an unknown order.
    """
    t = table.assign(_name=table.index)
    if order == MOST_IMPROVED:
        t = t.sort_values(["net", "mean_change", "_name"], ascending=[False, True, True], na_position="last")
    elif order == MOST_HARMED:
        t = t.sort_values(["net", "mean_change", "_name"], ascending=[True, False, True], na_position="last")
    elif order == BY_NAME:
        t = t.sort_values("_name")
    elif order.startswith(JOINT_ORDER_PREFIX) and order[len(JOINT_ORDER_PREFIX):] in inspection.joint_names:
        j = inspection.joint_names.index(order[len(JOINT_ORDER_PREFIX):])
        change = pd.Series(inspection.distance_change()[:, j], index=inspection.names)
        t = t.assign(_change=change.reindex(t.index).to_numpy())
        t = t.sort_values(["_change", "_name"], ascending=[True, True], na_position="last").drop(columns="_change")
    else:
        raise InputError(f"unknown sort order {order!r}; known: {', '.join(sort_orders(inspection))}")
    return t.drop(columns="_name")


def attribute_filters(inspection: Inspection) -> dict[str, Callable[[pd.DataFrame], pd.Series]]:
    """Named row filters of the image table: ``all`` and, where the dataset records attributes, each view,
    occluded / not occluded, truncated / not truncated."""
    filters: dict[str, Callable[[pd.DataFrame], pd.Series]] = {"all": lambda t: pd.Series(True, index=t.index)}
    if inspection.attributes is None:
        return filters
    for view in ("front", "back", "side"):
        filters[f"view: {view}"] = lambda t, v=view: t["view"] == v
    filters["occluded joints"] = lambda t: t["occluded_joints"] > 0
    filters["no occluded joint"] = lambda t: t["occluded_joints"] == 0
    filters["truncated"] = lambda t: t["truncated_joints"] > 0
    filters["not truncated"] = lambda t: t["truncated_joints"] == 0
    return filters


def filter_table(inspection: Inspection, table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows of ``table`` passing the filter ``name`` of :func:`attribute_filters`.

    Raises:
        InputError: an unknown filter (or an attribute filter on data without attributes).
    """
    filters = attribute_filters(inspection)
    if name not in filters:
        raise InputError(f"unknown filter {name!r}; this inspection offers: {', '.join(filters)}")
    return table[filters[name](table).to_numpy()]


def correction_summary(inspection: Inspection, name: str) -> str:
    """One line: what PIL changed on image ``name`` (the inspector shows it; its tests compare it)."""
    i = inspection.index_of(name)
    fixed, broke = int(inspection.fixed[i].sum()), int(inspection.broke[i].sum())
    scored = int(inspection.counted[i].sum())
    base, pil = int(inspection.ok_base[i].sum()), int(inspection.ok_pil[i].sum())
    return (f"{name}: PIL fixed {fixed}, broke {broke} (net {fixed - broke:+d}) of {scored} scored joints; "
            f"correct baseline {base} -> PIL {pil}")


def joint_table(inspection: Inspection, name: str) -> pd.DataFrame:
    """Per joint of image ``name``: side, whether each model is within PCKh@0.5, the verdict (FIXED, BROKE,
    both right, both wrong, not scored) and the distance change (original pixels and head sizes)."""
    i = inspection.index_of(name)
    sides = get_spec(inspection.kind).joint_sides
    verdict = np.where(inspection.fixed[i], "FIXED", np.where(inspection.broke[i], "BROKE", np.where(
        inspection.ok_base[i], "both right", "both wrong")))
    verdict = np.where(inspection.counted[i], verdict, "not scored")
    return pd.DataFrame({
        "joint": inspection.joint_names, "side": sides,
        "baseline_ok": inspection.ok_base[i], "pil_ok": inspection.ok_pil[i], "verdict": verdict,
        "change_px": inspection.distance_change(normalised=False)[i],
        "change_head": inspection.distance_change()[i],
    })


def top_images(inspection: Inspection, order: str, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of :func:`corrections` in ``order``."""
    return sort_table(inspection, corrections(inspection), order).head(n)


@dataclass
class KernelSpace:
    """A 2-D projection of every val image's dynamic kernels.

    Args:
        coords: (N, 2) scores on the first two principal components.
        explained: (2,) fraction of the variance each explains.
    """

    coords: np.ndarray
    explained: np.ndarray


def kernel_space(inspection: Inspection) -> KernelSpace:
    """PCA (numpy SVD of the centred, flattened kernels); each component's sign makes its largest loading positive."""
    x = inspection.kernels.reshape(len(inspection), -1).astype(np.float64)
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    sign = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])
    sign[sign == 0] = 1.0
    total = float((s ** 2).sum())
    explained = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return KernelSpace(coords=u[:, :2] * s[:2] * sign, explained=explained)


@dataclass
class Counterfactual:
    """Image ``image`` predicted with its own kernels and with the kernels of ``donor`` (single pass, no flip).

    Args:
        image: the image whose joints are predicted.
        donor: the image whose kernels are used.
        own: (K, 3) joints with its own kernels, x, y, score in original pixels.
        swapped: (K, 3) joints with the donor's kernels.
        shift_px: (K,) how far each joint moved (original pixels).
        ok_own: (K,) bool within PCKh@0.5 with its own kernels (counted joints only).
        ok_swapped: (K,) bool within PCKh@0.5 with the donor's kernels.
    """

    image: str
    donor: str
    own: np.ndarray
    swapped: np.ndarray
    shift_px: np.ndarray
    ok_own: np.ndarray
    ok_swapped: np.ndarray

    def summary(self) -> str:
        """One line: joints moved, mean shift, correct joints before and after."""
        moved = int((self.shift_px > 0.5).sum())
        return (f"{self.image} with the kernels of {self.donor}: {moved} joints moved by more than 0.5 px "
                f"(mean shift {float(np.nanmean(self.shift_px)):.1f} px); correct joints "
                f"{int(self.ok_own.sum())} -> {int(self.ok_swapped.sum())}")


@torch.no_grad()
def counterfactual(inspection: Inspection, model: nn.Module, image: str, donor: str) -> Counterfactual:
    """Run the PIL ``model`` on ``image`` with the dynamic kernels the parsing branch predicted for ``donor``.

    Args:
        inspection: where both images' crops and kernels are stored.
        model: the inspection's PIL model (``load_trained_model``), in eval mode.
        image: name of the image to predict.
        donor: name of the image whose kernels are used.
    """
    i, d = inspection.index_of(image), inspection.index_of(donor)
    device = next(model.parameters()).device
    images = normalize(inspection.images[[i, i]]).to(device)
    kernels = torch.from_numpy(inspection.kernels[[i, d]]).to(device)
    hm = forward_with_kernels(model, images, kernels)
    coords = decode_heatmaps(hm, stride=model.stride, num_joints=inspection.gt.shape[1]).cpu().double()
    affine = torch.from_numpy(inspection.affine[[i, i]])
    orig = torch.cat([to_original(coords[..., :2], affine), coords[..., 2:]], dim=2).numpy()
    gt, ref, counted = inspection.gt[i], inspection.reference[i], inspection.counted[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.linalg.norm(orig[..., :2] - gt[None, :, :2], axis=-1) / ref  # (2, K)
    ok = counted[None] & (dist <= PCKH_THRESHOLD)
    return Counterfactual(image=image, donor=donor, own=orig[0], swapped=orig[1],
                          shift_px=np.linalg.norm(orig[1, :, :2] - orig[0, :, :2], axis=-1),
                          ok_own=ok[0], ok_swapped=ok[1])
