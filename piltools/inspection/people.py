"""Multi-person predictions image by image (Table 5, notebook 05): each val image's ground-truth people beside the
people a trained model's NMS and grouping give, the per-image mAP, the rule that picks the images a figure shows,
and that figure.

A multi-person run's final evaluation keeps only the split's mAP and per-joint AP: neither the run directory nor
its record (:mod:`piltools.records`) holds the people of each image. :func:`predict_val_people` recomputes them
from the run's checkpoint through the evaluation's own code
(:func:`piltools.training.multiperson.evaluate_multi_person` with the run's data, flip test, NMS threshold and
grouping radius), keeping each image on the way, so the mAP it gives is the run's. Without the checkpoint (a
notebook rendered from run records) there is nothing to draw: :class:`~piltools.runs.CheckpointNotFoundError`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from torch.utils.data import Subset

from piltools.config import ExperimentConfig
from piltools.datasets.evaluators import MultiPersonApEvaluator
from piltools.datasets.imageio import read_rgb_image
from piltools.datasets.specs import get_spec
from piltools.errors import InputError
from piltools.metrics import box_reference_distance, multi_person_ap
from piltools.training import distributed as D
from piltools.training.builders import build_datasets, cpu_threads, eval_loader
from piltools.training.multiperson import evaluate_multi_person
from piltools.training.runner import load_trained_model
from piltools.viz import PERSON_COLOURS, draw_person, draw_skeleton

#: Multiples of the true-positive tolerance :meth:`ValPeople.wider_tolerance_maps` scores at by default.
TOLERANCE_FACTORS: tuple[float, ...] = (2.0, 4.0)
#: A figure panel's longer side in pixels (images are enlarged to it before drawing).
PANEL_SIDE = 384
#: Predicted people drawn per image: the ground truth's count plus this many, strongest first
#: (:func:`strongest_people`). A grouping leaves many weak one- or two-joint "people" that would hide the rest.
EXTRA_PEOPLE_DRAWN = 2


class _RecordingEvaluator(MultiPersonApEvaluator):
    """The dataset's mAP evaluator, also keeping every image's predicted people, ground truth and person boxes."""

    def reset(self) -> None:
        super().reset()
        self.people: list[np.ndarray] = []
        self.gts: list[np.ndarray] = []
        self.boxes: list[np.ndarray] = []

    def process(self, people: Sequence[np.ndarray], gt_people: Sequence[np.ndarray],
                boxes: Sequence[np.ndarray]) -> None:
        super().process(people, gt_people, boxes)
        self.people += [np.asarray(p, dtype=np.float64) for p in people]
        self.gts += [np.asarray(g, dtype=np.float64) for g in gt_people]
        self.boxes += [np.asarray(b, dtype=np.float64) for b in boxes]


@dataclass
class ValPeople:
    """One run's people on every val image (N images, K joints), original image pixels.

    Args:
        experiment: the run's experiment.
        kind: dataset kind.
        names: (N,) image names.
        image_paths: (N,) image files.
        gt: per image (G_i, K, 3) ground-truth x, y, valid.
        boxes: per image (G_i, 4) person boxes x1, y1, x2, y2 (the reference distance).
        people: per image (P_i, K, 3) predicted x, y, score (NaN where a person lacks a joint).
        mAP: the split's mAP, as the run's evaluation computes it.
    """

    experiment: str
    kind: str
    names: list[str]
    image_paths: list[Path]
    gt: list[np.ndarray]
    boxes: list[np.ndarray]
    people: list[np.ndarray]
    mAP: float

    def image_maps(self) -> np.ndarray:
        """(N,) each image's own mAP (:func:`image_maps`)."""
        return image_maps(self.people, self.gt, self.boxes)

    def wider_tolerance_maps(self, factors: Sequence[float] = TOLERANCE_FACTORS) -> dict[str, float]:
        """A diagnostic, not the metric: the split's mAP of these people with the true-positive tolerance (0.5 x
        the reference distance, :func:`piltools.metrics.multi_person_ap`) widened ``factor`` times. It tells "finds
        the people but places their joints outside the tolerance" from "does not find them" (multi-person
        calibration, ``python -m piltools calibrate --experiment table5/baseline``).

        Returns:
            ``{"mAP_tol2x": ..., "mAP_tol4x": ...}`` (percent), one key per factor (at 1 the run's own mAP).
        """
        return {f"mAP_tol{factor:g}x":
                float(multi_person_ap(self.people, self.gt, self._references(), thr=0.5 * factor)["mAP"])
                for factor in factors}

    def ground_truth_grouping_map(self) -> dict[str, float]:
        """A diagnostic, not the metric: the split's mAP when the ground truth does the grouping. Each annotated
        joint takes the nearest predicted joint of its type, from any predicted person (one may serve two
        annotated people); the other predicted joints are dropped. What is left is how well the joints are
        placed: the gap to the run's mAP is what grouping and false positives cost.

        Returns:
            ``{"mAP_gt_grouping": ...}`` (percent).
        """
        regrouped = []
        for gt, people in zip(self.gt, self.people):
            out = np.full(gt.shape, np.nan)  # (G, K, 3)
            for k in range(gt.shape[1] if len(people) else 0):
                found = people[:, k][np.isfinite(people[:, k]).all(axis=1)]  # (F, 3) predicted joints of type k
                if not len(found):
                    continue
                for g in np.flatnonzero(gt[:, k, 2] > 0):
                    out[g, k] = found[np.argmin(np.hypot(found[:, 0] - gt[g, k, 0], found[:, 1] - gt[g, k, 1]))]
            regrouped.append(out)
        return {"mAP_gt_grouping": float(multi_person_ap(regrouped, self.gt, self._references())["mAP"])}

    def _references(self) -> list[np.ndarray]:
        """Per image, the reference distance of each annotated person (:func:`box_reference_distance`)."""
        return [box_reference_distance(b) for b in self.boxes]


def predict_val_people(cfg: ExperimentConfig, run_dir: str | Path, device: str = "cpu") -> ValPeople:
    """The people a finished multi-person run predicts on its val split, through its evaluation's code.

    Args:
        cfg: the run's config.
        run_dir: its directory, holding the checkpoint.
        device: torch device.

    Raises:
        CheckpointNotFoundError: the run has no checkpoint (e.g. a run record).
        InputError: the run is not multi-person.
    """
    spec = get_spec(cfg.data.kind)
    if not spec.multi_person:
        raise InputError(f"{cfg.name}: {cfg.data.kind} is single-person; predict_val_people needs a multi-person run")
    ctx = D.init_from_env(device)
    model, _ = load_trained_model(cfg, Path(run_dir), ctx.device)
    _, val = build_datasets(cfg, model, ctx)
    base = val.dataset if isinstance(val, Subset) else val
    indices = list(val.indices) if isinstance(val, Subset) else list(range(len(val)))
    evaluator = _RecordingEvaluator(root=cfg.data.root, split="val")
    with cpu_threads(cfg, ctx):  # as the run's evaluation: the same threads, the same sums
        scores = evaluate_multi_person(
            model, eval_loader(cfg, val, ctx), base.records, cfg.model.num_joints, cfg.data.input_size, ctx.device,
            list(spec.joint_flip_perm) if cfg.train.eval_flip else None, evaluator,
            threshold=cfg.train.eval_peak_threshold, radius=cfg.train.eval_group_radius * cfg.data.input_size)
    records = [base.records[i] for i in indices]
    return ValPeople(experiment=cfg.name, kind=cfg.data.kind, names=[r.name for r in records],
                     image_paths=[Path(r.image_path) for r in records], gt=evaluator.gts, boxes=evaluator.boxes,
                     people=evaluator.people, mAP=float(scores["mAP"]))


def image_maps(people: Sequence[np.ndarray], gts: Sequence[np.ndarray], boxes: Sequence[np.ndarray]) -> np.ndarray:
    """Each image's own mAP: :func:`~piltools.metrics.multi_person_ap` over that image alone (reference distance
    :func:`~piltools.metrics.box_reference_distance` of its people's boxes); NaN for an image without annotated
    joints.

    Args:
        people: per image (P_i, K, 3) predicted x, y, score.
        gts: per image (G_i, K, 3) x, y, valid.
        boxes: per image (G_i, 4).

    Returns:
        (N,) percent.
    """
    return np.array([multi_person_ap([p], [g], [box_reference_distance(b)])["mAP"]
                     for p, g, b in zip(people, gts, boxes)], dtype=np.float64)


def pick_examples(names: Sequence[str], base_maps: np.ndarray, pil_maps: np.ndarray, n: int = 2) -> pd.DataFrame:
    """The images a figure shows, by a fixed rule: the ``n`` images where PIL's own mAP beats the baseline's by
    the most, then the ``n`` where it loses by the most (ties: the earlier image in split order); an image is
    picked once, and images where either mAP is NaN are skipped.

    Args:
        names: (N,) image names in split order.
        base_maps: (N,) the baseline's per-image mAP (:func:`image_maps`).
        pil_maps: (N,) PIL's.
        n: images per side.

    Returns:
        Rows ``name, position`` (in the split), ``baseline_mAP, PIL_mAP, difference`` (PIL minus baseline),
        ``why`` (``"PIL's largest gains"`` / ``"PIL's largest losses"``), gains first.
    """
    base_maps, pil_maps = np.asarray(base_maps, dtype=float), np.asarray(pil_maps, dtype=float)
    diff = pil_maps - base_maps
    valid = [i for i in range(len(names)) if np.isfinite(diff[i])]
    gains = sorted(valid, key=lambda i: (-diff[i], i))[:n]
    losses = [i for i in sorted(valid, key=lambda i: (diff[i], i)) if i not in gains][:n]
    rows = [{"name": names[i], "position": i, "baseline_mAP": base_maps[i], "PIL_mAP": pil_maps[i],
             "difference": diff[i], "why": why}
            for picked, why in ((gains, "PIL's largest gains"), (losses, "PIL's largest losses")) for i in picked]
    return pd.DataFrame(rows, columns=["name", "position", "baseline_mAP", "PIL_mAP", "difference", "why"])


def strongest_people(people: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` predicted people with the largest sum of joint scores (a missing joint adds nothing),
    strongest first (ties: grouping order).

    Args:
        people: (P, K, 3) x, y, score.
        count: how many to keep.

    Returns:
        (min(P, count), K, 3).
    """
    people = np.asarray(people, dtype=np.float64)
    if len(people) == 0:
        return people
    strength = np.nansum(people[..., 2], axis=1)  # (P,)
    order = np.argsort(-strength, kind="stable")[:max(count, 0)]
    return people[order]


def _enlarge(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image resized so its longer side is :data:`PANEL_SIDE`, and the factor."""
    factor = PANEL_SIDE / max(image.shape[:2])
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR), factor


def _scaled(joints: np.ndarray, factor: float) -> np.ndarray:
    """Joints (..., K, 3) in enlarged-image pixels: pixel centres map as ``(x + 0.5) * factor - 0.5``."""
    out = np.array(joints, dtype=np.float64)
    out[..., :2] = (out[..., :2] + 0.5) * factor - 0.5
    return out


def people_panels(val: ValPeople, i: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(ground truth, prediction) of image ``i``: the ground-truth people coloured by body side, and the
    ``count`` strongest predicted people (:func:`strongest_people`) one colour each (:data:`PERSON_COLOURS`)."""
    image, factor = _enlarge(read_rgb_image(val.image_paths[i]))
    truth = image
    for person in val.gt[i]:
        truth = draw_skeleton(truth, _scaled(person, factor), radius=3, thickness=2, kind=val.kind)
    predicted = image
    for p, person in enumerate(strongest_people(val.people[i], count)):
        predicted = draw_person(predicted, _scaled(person, factor), PERSON_COLOURS[p % len(PERSON_COLOURS)],
                                radius=3, thickness=2, kind=val.kind)
    return truth, predicted


def people_figure(base: ValPeople, pil: ValPeople, picks: pd.DataFrame, labels: tuple[str, str] = ("baseline",
                                                                                                       "PIL")):
    """One row per picked image (:func:`pick_examples`): the ground-truth people, the baseline's grouped people,
    PIL's (one colour per predicted person; the ground truth's count + :data:`EXTRA_PEOPLE_DRAWN` strongest),
    each titled with that image's mAP.

    Raises:
        InputError: the two runs were evaluated on different images.
    """
    import matplotlib.pyplot as plt

    if base.names != pil.names:
        raise InputError(f"{base.experiment} and {pil.experiment} were evaluated on different val images")
    fig, axes = plt.subplots(len(picks), 3, figsize=(10.5, 3.6 * len(picks)), squeeze=False)
    for row, pick in zip(axes, picks.to_dict("records")):
        i = int(pick["position"])
        count = len(base.gt[i]) + EXTRA_PEOPLE_DRAWN
        truth, from_base = people_panels(base, i, count)
        _, from_pil = people_panels(pil, i, count)
        panels = ((truth, f"{pick['name']}: {len(base.gt[i])} annotated people\n({pick['why']})"),
                  (from_base, f"{labels[0]}: image mAP {pick['baseline_mAP']:.1f}"),
                  (from_pil, f"{labels[1]}: image mAP {pick['PIL_mAP']:.1f}"))
        for ax, (panel, title) in zip(row, panels):
            ax.imshow(panel)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    return fig
