"""Per-image comparison of a baseline and its PIL model: computed once per run pair, cached, then queried.

:func:`compute_inspection` runs both trained models over the PIL run's validation split (the same
crops, flip test and scales as the run's final evaluation) and keeps, per image: the network input
crop, ground truth and both models' joints (original and input pixels), both models' final
heatmaps, the PIL model's parsing map, dynamic kernels ``theta~`` (``PoseOutput.kernels``) and the
magnitude of the adaptive feature ``F^a`` (``PoseOutput.adapted``), and the generator's attributes
where the dataset records them (:mod:`piltools.synthetic.attributes`). :func:`load_or_compute`
caches it as ``inspect_<baseline run id>.npz`` in the PIL run's directory.

A joint is *correct* at PCKh@0.5 as in the evaluation (docs/conventions.md, Missing joints; paper
Sec. 4.1): distance in original pixels / head size <= 0.5, over the scored joints of the dataset's
PCK (no pelvis, no thorax), joints missing in the ground truth not counted. PIL **fixed** a joint
that the baseline got wrong and PIL right; it **broke** one that the baseline got right and PIL
wrong.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from piltools.config import ExperimentConfig, load_config
from piltools.datasets.specs import get_spec
from piltools.datasets.transforms import denormalize
from piltools.decoding import decode_heatmaps, predict_heatmaps, to_original
from piltools.errors import InputError
from piltools.experiments import EXPERIMENTS
from piltools.joints import IGNORE_LABEL
from piltools.metrics import SCORED_JOINTS, confusion_matrix, lip_head_size, mpii_head_size, parsing_scores
from piltools.runs import resolve_path
from piltools.synthetic import ensure_attributes, read_attributes
from piltools.training import distributed as D
from piltools.training.builders import build_datasets
from piltools.training.evaluation import size_multiple
from piltools.training.runner import load_trained_model, run_experiment

#: Bumped when the cached arrays change meaning; an older cache is recomputed.
INSPECT_VERSION = 1
#: The default pair at every scale: the cheapest Table 2 baseline and its PIL model.
DEFAULT_PAIR: tuple[str, str] = ("table2/hg-1s-1u", "table2/hg-1s-1u-pil")
#: PCKh threshold (paper Sec. 4.1).
PCKH_THRESHOLD = 0.5


@dataclass
class RunRef:
    """A finished run: its resolved config and directory.

    Args:
        config: the run's config.
        run_dir: its directory (``results/runs/<experiment>/<run id>``).
    """

    config: ExperimentConfig
    run_dir: Path

    @property
    def label(self) -> str:
        """``experiment (run id)``."""
        return f"{self.config.name} ({self.run_dir.name})"


def resolve_run(run: str, scale: str = "cpu", seed: int = 0, out: str | Path = "results/runs",
                quiet: bool | None = None) -> RunRef:
    """A run given as a run directory or as an experiment name (trained on first use, with a progress bar).

    Args:
        run: a run directory holding ``config.json``, or a named experiment (``table2/hg-1s-1u``).
        scale: the experiment's scale (ignored for a run directory).
        seed: the experiment's seed (ignored for a run directory).
        out: runs folder.
        quiet: no progress bars (None: env ``PILTOOLS_QUIET``).

    Raises:
        InputError: a folder that is not a run directory, or an unknown experiment name.
    """
    if run not in EXPERIMENTS:
        path = resolve_path(run)
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise InputError(f"{path}: not a run directory (no config.json); give a run directory "
                                 f"(results/runs/<experiment>/<run id>) or an experiment name")
            return RunRef(load_config(path / "config.json"), path)
    result = run_experiment(run, scale, seed, out=out, quiet=quiet)  # unknown names: InputError naming close ones
    return RunRef(result.config, result.run_dir)


def check_pair(baseline: RunRef, pil: RunRef) -> None:
    """Raise :class:`InputError` unless ``pil`` is a single-person PIL model evaluated on the baseline's data."""
    if "PIL" not in pil.config.model.name:
        raise InputError(f"{pil.run_dir}: {pil.config.model.name} is not a PIL model; the PIL run must be "
                         f"one of a '*-PIL(...)' model, e.g. {DEFAULT_PAIR[1]}")
    if get_spec(pil.config.data.kind).multi_person:
        raise InputError(f"{pil.run_dir}: the inspector compares single-person predictions; "
                         f"{pil.config.data.kind} is multi-person")
    if baseline.config.data != pil.config.data:
        raise InputError(f"{baseline.run_dir} and {pil.run_dir} were evaluated on different data "
                         f"({baseline.config.data.root} vs {pil.config.data.root}, or other data settings); "
                         f"give a baseline and a PIL run of the same scale and dataset")


@dataclass
class Inspection:
    """Everything the inspector shows, per validation image (N images, K joints, input side S).

    Args:
        kind: dataset kind.
        baseline_label: baseline ``experiment (run id)``.
        pil_label: PIL ``experiment (run id)``.
        names: (N,) image names.
        images: (N, S, S, 3) uint8 network input crops.
        affine: (N, 2, 3) original -> input pixel maps.
        gt: (N, K, 3) ground truth x, y, valid in original pixels.
        gt_input: (N, K, 3) the same in input pixels.
        reference: (N,) head size in original pixels (LIP: head top to neck; MPII: 0.6 x head-box diagonal).
        pred_base: (N, K, 3) baseline x, y, score in original pixels.
        pred_pil: (N, K, 3) PIL x, y, score in original pixels.
        heatmaps_base: (N, K, h, w) float16 baseline final heatmaps (flip test and scales as evaluated).
        heatmaps_pil: (N, K, h, w) float16 PIL final heatmaps.
        parsing_pred: (N, S, S) uint8 PIL parsing (argmax, single pass).
        parsing_gt: (N, S, S) uint8 ground-truth parsing in the crop (255: ignore / none).
        miou: (N,) this image's parsing mIoU in percent (NaN without ground truth).
        kernels: (N, C, k, k) float32 dynamic kernels theta~.
        adapted_norm: (N, h, w) float32 L2 norm over channels of F^a.
        attributes: per-image generator attributes (columns ``view``, ``occluded_joints``,
            ``truncated_joints``) indexed like ``names``, or None when the dataset has none.
    """

    kind: str
    baseline_label: str
    pil_label: str
    names: np.ndarray
    images: np.ndarray
    affine: np.ndarray
    gt: np.ndarray
    gt_input: np.ndarray
    reference: np.ndarray
    pred_base: np.ndarray
    pred_pil: np.ndarray
    heatmaps_base: np.ndarray
    heatmaps_pil: np.ndarray
    parsing_pred: np.ndarray
    parsing_gt: np.ndarray
    miou: np.ndarray
    kernels: np.ndarray
    adapted_norm: np.ndarray
    attributes: pd.DataFrame | None = None
    _derived: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The dataset's joint names."""
        return get_spec(self.kind).joint_names

    def index_of(self, name: str) -> int:
        """Row of an image name.

        Raises:
            InputError: no such image.
        """
        hits = np.flatnonzero(self.names == name)
        if len(hits) == 0:
            raise InputError(f"image {name!r} is not in this inspection ({len(self)} val images, "
                             f"e.g. {self.names[0]!r})")
        return int(hits[0])

    def _distances(self, pred: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.linalg.norm(pred[..., :2] - self.gt[..., :2], axis=-1) / self.reference[:, None]
        return np.where(np.isnan(dist), np.inf, dist)

    def _derive(self) -> dict[str, np.ndarray]:
        if not self._derived:
            scored = np.zeros(self.gt.shape[1], dtype=bool)
            scored[list(SCORED_JOINTS)] = True
            ref_ok = np.isfinite(self.reference) & (self.reference > 0)
            counted = (self.gt[..., 2] > 0) & np.isfinite(self.gt[..., :2]).all(-1) & ref_ok[:, None] & scored
            d_base, d_pil = self._distances(self.pred_base), self._distances(self.pred_pil)
            ok_base, ok_pil = counted & (d_base <= PCKH_THRESHOLD), counted & (d_pil <= PCKH_THRESHOLD)
            px_base = np.linalg.norm(self.pred_base[..., :2] - self.gt[..., :2], axis=-1)
            px_pil = np.linalg.norm(self.pred_pil[..., :2] - self.gt[..., :2], axis=-1)
            self._derived.update(counted=counted, dist_base=d_base, dist_pil=d_pil, ok_base=ok_base, ok_pil=ok_pil,
                                 fixed=ok_pil & ~ok_base, broke=ok_base & ~ok_pil, px_base=px_base, px_pil=px_pil)
        return self._derived

    @property
    def counted(self) -> np.ndarray:
        """(N, K) bool: scored joints with ground truth and a usable head size."""
        return self._derive()["counted"]

    @property
    def ok_base(self) -> np.ndarray:
        """(N, K) bool: baseline within PCKh@0.5 (counted joints only)."""
        return self._derive()["ok_base"]

    @property
    def ok_pil(self) -> np.ndarray:
        """(N, K) bool: PIL within PCKh@0.5 (counted joints only)."""
        return self._derive()["ok_pil"]

    @property
    def fixed(self) -> np.ndarray:
        """(N, K) bool: baseline wrong, PIL right."""
        return self._derive()["fixed"]

    @property
    def broke(self) -> np.ndarray:
        """(N, K) bool: baseline right, PIL wrong."""
        return self._derive()["broke"]

    def distance_change(self, normalised: bool = True) -> np.ndarray:
        """(N, K) PIL distance minus baseline distance to the ground truth (negative: PIL is closer).

        Args:
            normalised: in head sizes (True) or original pixels (False). NaN where not counted.
        """
        d = self._derive()
        base, pil = (d["dist_base"], d["dist_pil"]) if normalised else (d["px_base"], d["px_pil"])
        with np.errstate(invalid="ignore"):
            change = pil - base
        return np.where(self.counted & np.isfinite(change), change, np.nan)

    def pck(self) -> tuple[float, float]:
        """(baseline, PIL) PCKh@0.5 in percent over every counted joint of every image (the runs' PCK)."""
        n = self.counted.sum()
        return float(100.0 * self.ok_base.sum() / n), float(100.0 * self.ok_pil.sum() / n)


_SAVED = ("names", "images", "affine", "gt", "gt_input", "reference", "pred_base", "pred_pil", "heatmaps_base",
          "heatmaps_pil", "parsing_pred", "parsing_gt", "miou", "kernels", "adapted_norm")


def save_inspection(path: str | Path, inspection: Inspection) -> Path:
    """Write an :class:`Inspection` as one ``.npz`` (written under a temporary name, then renamed)."""
    path = Path(path)
    meta = {"version": INSPECT_VERSION, "kind": inspection.kind, "baseline_label": inspection.baseline_label,
            "pil_label": inspection.pil_label}
    arrays = {name: getattr(inspection, name) for name in _SAVED}
    if inspection.attributes is not None:
        arrays["attributes_json"] = np.array(inspection.attributes.to_json(orient="split"))
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    tmp.replace(path)
    return path


def load_inspection(path: str | Path) -> Inspection | None:
    """Read what :func:`save_inspection` wrote; None if absent or from another :data:`INSPECT_VERSION`."""
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("version") != INSPECT_VERSION:
            return None
        arrays = {name: z[name] for name in _SAVED}
        attributes = (pd.read_json(io.StringIO(str(z["attributes_json"])), orient="split")
                      if "attributes_json" in z.files else None)
    return Inspection(kind=meta["kind"], baseline_label=meta["baseline_label"], pil_label=meta["pil_label"],
                      attributes=attributes, **arrays)


def image_attributes(cfg: ExperimentConfig, names: list[str]) -> pd.DataFrame | None:
    """The generator's attributes of the val images ``names`` (first annotated person), or None without them.

    Synthetic data generated before the sidecar existed gets it now (:func:`ensure_attributes`).
    """
    root = resolve_path(cfg.data.root)
    if cfg.data.synthetic is not None:
        ensure_attributes(root, "val")
    rows = read_attributes(root, "val")
    if rows is None:
        return None
    first = {row["name"]: row for row in rows if row["person"] == 0}
    stems = [Path(n).stem for n in names]
    missing = [s for s in stems if s not in first]
    if missing:
        raise InputError(f"{root}/val_attributes.csv has no row for {missing[:3]}; delete it to have it rewritten")
    return pd.DataFrame([{k: first[s][k] for k in ("view", "occluded_joints", "truncated_joints")} for s in stems])


def head_reference(kind: str, gt: np.ndarray, head_box: np.ndarray) -> np.ndarray:
    """(N,) PCKh head size in original pixels as the dataset's evaluator measures it."""
    return lip_head_size(gt) if kind == "lip" else mpii_head_size(head_box)


def forward_with_kernels(model: nn.Module, images: Tensor, kernels: Tensor) -> Tensor:
    """The PIL model's final heatmaps with GIVEN dynamic kernels instead of its parsing branch's.

    :meth:`PILPoseModel.forward <piltools.models.pil.PILPoseModel.forward>` with ``kernels`` given:
    ``F^P* = F^P + adaptive_conv(F^P, kernels)`` at the PIL stack, the parsing branch not run.

    Args:
        model: a ``PILPoseModel`` in eval mode.
        images: (N, 3, S, S) normalised input.
        kernels: (N, C, k, k), e.g. another image's ``PoseOutput.kernels``.

    Returns:
        (N, K', h, w) final heatmaps (single pass, no flip).
    """
    return model(images, kernels=kernels).final


@torch.no_grad()
def compute_inspection(baseline: RunRef, pil: RunRef, device: str = "cpu") -> Inspection:
    """Run both models over the PIL run's validation split (see the module docstring).

    Raises:
        InputError: not a valid pair (:func:`check_pair`); a run not trained to its end.
    """
    check_pair(baseline, pil)
    cfg = pil.config
    base_model, _ = load_trained_model(baseline.config, baseline.run_dir, device)
    pil_model, _ = load_trained_model(cfg, pil.run_dir, device)
    if base_model.stride != pil_model.stride:
        raise InputError(f"{baseline.run_dir} (stride {base_model.stride}) and {pil.run_dir} (stride "
                         f"{pil_model.stride}) predict heatmaps of different sizes; pick runs of one family")
    _, val = build_datasets(cfg, pil_model, D.init_from_env(device))
    spec = get_spec(cfg.data.kind)
    flip = list(spec.joint_flip_perm) if cfg.train.eval_flip else None
    k = cfg.model.num_joints
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _SAVED if name not in ("names", "reference")}
    parts["head_box"] = []
    names: list[str] = []

    def predict(model: nn.Module, images: Tensor, affine: Tensor) -> tuple[np.ndarray, np.ndarray]:
        hm = predict_heatmaps(model, images, flip_perm=flip, scales=cfg.train.eval_scales,
                              size_multiple=size_multiple(model))
        coords = decode_heatmaps(hm, stride=model.stride, num_joints=k).cpu().double()  # (B, K, 3) input px
        orig = to_original(coords[..., :2], affine.double())
        return torch.cat([orig, coords[..., 2:]], dim=2).numpy(), hm[:, :k].cpu().half().numpy()

    for batch in DataLoader(val, batch_size=8, shuffle=False, num_workers=0):
        images = batch["image"].to(device)
        meta = batch["meta"]
        pred_base, hm_base = predict(base_model, images, meta["affine"])
        pred_pil, hm_pil = predict(pil_model, images, meta["affine"])
        out = pil_model(images)
        label = out.parsing.argmax(dim=1).cpu().numpy().astype(np.uint8)
        target = batch["parsing"].numpy().copy()
        target[~batch["has_parsing"].numpy().astype(bool)] = IGNORE_LABEL
        for lab, tgt in zip(label, target):
            has = bool((tgt != IGNORE_LABEL).any())
            conf = confusion_matrix(lab, tgt, num_classes=cfg.model.num_parsing, ignore=IGNORE_LABEL)
            parts["miou"].append(np.array([parsing_scores(conf)["mIoU"] if has else np.nan]))
        gt_input = batch["joints"].double().numpy()
        parts["images"].append(denormalize(batch["image"]))
        parts["affine"].append(meta["affine"].double().numpy())
        parts["gt"].append(meta["orig_joints"].double().numpy())
        parts["gt_input"].append(gt_input)
        parts["head_box"].append(meta["head_box"].double().numpy())
        parts["pred_base"].append(pred_base)
        parts["pred_pil"].append(pred_pil)
        parts["heatmaps_base"].append(hm_base)
        parts["heatmaps_pil"].append(hm_pil)
        parts["parsing_pred"].append(label)
        parts["parsing_gt"].append(target.astype(np.uint8))
        parts["kernels"].append(out.kernels.cpu().float().numpy())
        parts["adapted_norm"].append(out.adapted.norm(dim=1).cpu().float().numpy())
        names.extend(meta["name"])
    arrays = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    head_box = arrays.pop("head_box")
    arrays["reference"] = head_reference(cfg.data.kind, arrays["gt"], head_box)
    return Inspection(kind=cfg.data.kind, baseline_label=baseline.label, pil_label=pil.label,
                      names=np.array(names), attributes=image_attributes(cfg, names), **arrays)


def cache_path(baseline: RunRef, pil: RunRef) -> Path:
    """``<PIL run dir>/inspect_<baseline run id>.npz``."""
    return pil.run_dir / f"inspect_{baseline.run_dir.name}.npz"


def load_or_compute(baseline: RunRef, pil: RunRef, device: str = "cpu") -> Inspection:
    """The cached :class:`Inspection` of a pair, computed and saved on first use."""
    check_pair(baseline, pil)
    path = cache_path(baseline, pil)
    cached = load_inspection(path)
    if cached is not None:
        return cached
    inspection = compute_inspection(baseline, pil, device)
    save_inspection(path, inspection)
    return inspection




@dataclass
class InspectedPair:
    """What :func:`inspect_pair` returns.

    Args:
        inspection: the per-image arrays.
        model: the PIL model in eval mode (for counterfactual kernels).
        baseline: the baseline run.
        pil: the PIL run.
    """

    inspection: Inspection
    model: nn.Module
    baseline: RunRef
    pil: RunRef


def inspect_pair(*, scale: str = "cpu", baseline: str | None = None, pil: str | None = None, seed: int = 0,
                 out: str | Path = "results/runs", quiet: bool | None = None, device: str = "cpu") -> InspectedPair:
    """The inspection of a pair and the PIL model, training the runs and computing the cache on first use.

    Args:
        scale: scale of runs given by experiment name.
        baseline: run directory or experiment name (default :data:`DEFAULT_PAIR`'s baseline).
        pil: run directory or experiment name (default :data:`DEFAULT_PAIR`'s PIL model).
        seed: seed of runs given by experiment name.
        out: runs folder.
        quiet: no progress bars (None: env ``PILTOOLS_QUIET``).
        device: where the models run.
    """
    base_ref = resolve_run(baseline or DEFAULT_PAIR[0], scale, seed, out, quiet)
    pil_ref = resolve_run(pil or DEFAULT_PAIR[1], scale, seed, out, quiet)
    inspection = load_or_compute(base_ref, pil_ref, device)
    model, _ = load_trained_model(pil_ref.config, pil_ref.run_dir, device)
    return InspectedPair(inspection=inspection, model=model, baseline=base_ref, pil=pil_ref)
