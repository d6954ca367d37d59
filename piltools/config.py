"""Experiment configuration: one dataclass per concern, every default visible.

An :class:`ExperimentConfig` bundles a :class:`ModelConfig` (which registered
network, with which overrides), a :class:`DataConfig` (which dataset, at which
input size, with which targets and augmentation) and a :class:`TrainConfig`
(optimiser, schedule, loss weight, evaluation protocol). The defaults below
are the PAPER's recipe (paper Sec. 3 and 4.1); the named experiments in
:mod:`piltools.experiments` take the ``paper`` scale from them and shrink them
for the ``smoke`` and ``cpu`` scales, every such deviation written there as a
visible value with a comment. What depends on the dataset kind (joint count,
parsing classes, multi-person) is checked against its
:class:`~piltools.datasets.specs.DatasetSpec`.

Configs hold only plain values (str, int, float, bool, tuples, None, nested
dataclasses): no live objects. They round-trip through JSON and YAML with
:meth:`ExperimentConfig.to_dict` / :meth:`ExperimentConfig.from_dict`,
:func:`save_config` and :func:`load_config`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piltools.datasets.specs import DATASET_KINDS, get_spec
from piltools.datasets.torch_data import OFFSET_RADIUS
from piltools.datasets.transforms import PRESETS
from piltools.decoding import GROUP_RADIUS_FRACTION, PEAK_THRESHOLD
from piltools.errors import InputError
from piltools.models.pil import OFFSET_DESIGNS

#: The paper's six-scale test pyramid (paper Sec. 4.1, with the flip test). The paper does not list the
#: scales; ours span the training scale augmentation symmetrically around 1: 0.7 .. 1.2 in steps of 0.1.
PAPER_EVAL_SCALES: tuple[float, ...] = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2)

#: The scales a named experiment resolves at (:data:`piltools.experiments.SCALES`), smallest first.
SCALE_NAMES: tuple[str, ...] = ("smoke", "cpu", "paper")
AUGMENT_PRESETS: tuple[str, ...] = tuple(PRESETS)
TARGET_CONVENTIONS = ("reference", "newell")


@dataclass
class ModelConfig:
    """Which network to build and with which overrides.

    Args:
        name: a registered model name (paper spelling such as
            ``"VGG16-PIL(VGG16)"`` or its slug); see
            ``piltools.models.list_models()``.
        width: feature width: hourglass channels (paper 256) or VGG16 first
            block channels (paper 64; later blocks x2/x4/x8). None = the
            model's own default (the paper's).
        num_joints: heatmap channels for joints (16 LIP/MPII, 14 PASCAL).
        background: add the reference code's extra background heatmap
            (1 - max over joints). The paper does not mention it: off.
        num_parsing: parsing classes (20 LIP, 7 PASCAL-Person-Part).
        adapter_pools: max-pools in the parameter adapter (paper 2, giving 7x7
            kernels from 64x64 hourglass features and 3x3 from 32x32 VGG ones).
        pil_stack: which hourglass stack gets the adaptive convolution
            (-1 = last, as in the reference code).
        offset_head: predict per-joint offsets to the person centroid
            (multi-person, Table 5).
        offset_design: the offset head's design (the paper describes none):
            ``"shared"``, a 1x1 conv whose loss back-propagates into the pose
            features, or ``"separate"``, its own two 3x3 layers on the pose
            features with their gradient stopped
            (:class:`piltools.models.pil.OffsetHead`).
        parsing_input: what the PIL parsing encoder sees: ``"image"`` (the
            paper) or ``"oracle"``, the one-hot of the ground-truth parsing
            labels of the input crop (a control beyond the paper: the most
            that parsing can give PIL; needs data with parsing labels). The
            flip test mirrors it with left and right labels swapped; a test
            scale other than 1 resizes it bilinearly, as the image.
    """

    name: str = "VGG16-PIL(VGG16)"
    width: int | None = None
    num_joints: int = 16
    background: bool = False
    num_parsing: int = 20
    adapter_pools: int = 2
    pil_stack: int = -1
    offset_head: bool = False
    offset_design: str = "shared"
    parsing_input: str = "image"

    def overrides(self) -> dict[str, Any]:
        """Keyword overrides for ``piltools.models.create_model``."""
        out: dict[str, Any] = {
            "num_joints": self.num_joints,
            "background": self.background,
            "num_parsing": self.num_parsing,
            "adapter_pools": self.adapter_pools,
            "pil_stack": self.pil_stack,
            "offset_head": self.offset_head,
            "offset_design": self.offset_design,
        }
        if self.width is not None:
            out["width"] = self.width
        if self.parsing_input != "image":  # only PIL models take it
            out["parsing_input"] = self.parsing_input
        return out


@dataclass
class SyntheticConfig:
    """Parameters of an embedded synthetic dataset (the project's synthetic generator).

    Args:
        n_train: training images.
        n_val: validation images.
        size: image side in pixels (the generator's canvas size).
        seed: generator seed (independent of the training seed, so every
            training seed sees the same data).
        difficulty: named difficulty level of the generator (its
            ``DIFFICULTY`` table; ``"default"`` is the calibrated one every
            experiment uses).
    """

    n_train: int = 512
    n_val: int = 128
    size: int = 128
    seed: int = 0
    difficulty: str = "default"


@dataclass
class DataConfig:
    """Which data, how it is cropped, augmented and turned into targets.

    Args:
        kind: dataset kind, a key of :data:`piltools.datasets.specs.DATASETS`
            (``"lip"``, ``"mpii"`` or ``"pascal"``); joint count, parsing
            classes and single / multi-person follow from its spec.
        root: dataset folder. Relative paths are taken from the project root
            (the folder holding ``pyproject.toml``), not the current folder,
            so notebooks and the CLI agree.
        synthetic: generate (once, cached) a synthetic dataset in ``kind``'s
            real format at ``root`` with these parameters; None = real data
            already placed at ``root``.
        input_size: network input side (paper 256).
        sigma: Gaussian target width (reference convention: input pixels,
            paper/reference 7; newell convention: heatmap cells, 1).
        convention: ``"reference"`` or ``"newell"`` (see piltools.targets).
        augment: augmentation preset for training: ``"lip"`` (rotation +-40,
            scale 0.8-1.5, translation +-40 px, flip), ``"mpii"`` (rotation
            +-30, scale 0.7-1.3, flip), ``"pascal"`` or ``"eval"`` (none).
        max_val: evaluate on at most this many validation samples (None = all).
        mpii_mat: MPII only: the official annotation ``.mat`` giving the head
            boxes PCKh needs (relative to the project root), or None when the
            JSON entries carry ``head_box`` (the synthetic data does).
        offset_radius: multi-person data: radius (input pixels) around each
            joint where the centroid offsets are supervised.
    """

    kind: str = "lip"
    root: str = "data/lip"
    synthetic: SyntheticConfig | None = None
    input_size: int = 256
    sigma: float = 7.0
    convention: str = "reference"
    augment: str = "lip"
    max_val: int | None = None
    mpii_mat: str | None = None
    offset_radius: float = OFFSET_RADIUS


PARSING_INPUTS = ("image", "oracle")
EVAL_KERNELS = ("own", "shuffled")
OPTIMIZERS = ("rmsprop",)  # the paper's; Adam was tried in the cpu calibration and was no better


@dataclass
class TrainConfig:
    """Optimiser, schedule, loss and evaluation protocol.

    Defaults are the paper's (Sec. 4.1): RMSProp, lr 0.0025 halved at epochs
    150, 170 and 200, 250 epochs, batch 24, beta = 0.01 (reference code),
    six-scale flip test.

    Args:
        optimizer: only ``"rmsprop"`` (paper).
        lr: base learning rate.
        milestones: epochs (0-based, counted from the start) at which the
            learning rate changes.
        lr_multipliers: multiplier of the BASE rate from each milestone on
            (paper: halved at each -> 0.5, 0.25, 0.125).
        epochs: training epochs.
        steps_per_epoch: cap on optimiser steps per epoch (None = one pass
            over the training set).
        batch_size: GLOBAL batch size (split across DDP processes).
        beta: parsing loss weight (reference code 0.01).
        parsing_lr_mult: the parsing network's (``parsing_encoder``'s) learning rate as a multiple of the
            scheduled rate (paper: one rate for the whole model, 1.0); see
            :func:`piltools.training.builders.param_groups`.
        parsing_loss: train the parsing branch with cross-entropy (off for
            MPII, which has no parsing labels, Sec. 4.4).
        offset_weight: weight of the centroid-offset loss of multi-person
            models (the paper gives none; 1.0).
        weight_decay: RMSProp weight decay (paper: not mentioned -> 0).
        amp: automatic mixed precision, bfloat16 autocast (CUDA only; ignored
            on CPU).
        channels_last: channels-last memory format for the model and input
            images (on CUDA, and on CPU too, where it measured 1.2-1.7x faster
            for our VGG16 / hourglass training steps).
        cpu_threads: torch intra-op threads on CPU (None = torch's default).
            Fixing it makes CPU runs bit-reproducible across machines (float
            reductions depend on the thread count).
        num_workers: data loader worker processes.
        train_acc_threshold: training accuracy (Fig. 4) = percent of the
            training batches' joints inside the crop whose decoded heatmap
            argmax lies within ``train_acc_threshold * input_size / 10``
            input pixels of the target (Newell et al.'s training accuracy).
        val_every: run the quick validation (single scale, no flip) every
            this many epochs (its PCK, or mAP for multi-person, goes to
            metrics.csv as ``val_pck``).
        eval_flip: average with the flipped image at the final evaluation.
        eval_scales: input scales averaged at the final evaluation.
        eval_group_radius: multi-person grouping radius as a fraction of the
            input side (:func:`piltools.decoding.decode_people`).
        eval_peak_threshold: multi-person NMS threshold on the heatmaps.
        eval_kernels: the dynamic kernels a PIL model uses at the final
            evaluation: ``"own"`` (each image's, as trained) or
            ``"shuffled"`` (each image gets the kernels predicted for the next
            image of its evaluation batch: a control beyond the paper; if PCK
            does not drop, the kernels are not specific to the image).
        freeze_pil: keep the PIL parsing encoder and parameter adapter at
            their random initialisation, frozen (a control of the transfer
            experiment beyond the paper: frozen extra capacity without any
            parsing knowledge); needs ``parsing_loss`` off.
    """

    optimizer: str = "rmsprop"
    lr: float = 0.0025
    milestones: tuple[int, ...] = (150, 170, 200)
    lr_multipliers: tuple[float, ...] = (0.5, 0.25, 0.125)
    epochs: int = 250
    steps_per_epoch: int | None = None
    batch_size: int = 24
    beta: float = 0.01
    parsing_lr_mult: float = 1.0
    parsing_loss: bool = True
    offset_weight: float = 1.0
    weight_decay: float = 0.0
    amp: bool = True
    channels_last: bool = True
    cpu_threads: int | None = None
    num_workers: int = 4
    train_acc_threshold: float = 0.5
    val_every: int = 1
    eval_flip: bool = True
    eval_scales: tuple[float, ...] = PAPER_EVAL_SCALES
    eval_group_radius: float = GROUP_RADIUS_FRACTION
    eval_peak_threshold: float = PEAK_THRESHOLD
    eval_kernels: str = "own"
    freeze_pil: bool = False


#: Config fields added after runs were committed, with the value that reproduces what those runs did.
#: While a field holds that value it is left out of the run hash (``piltools.runs.hashed_config``), so the
#: committed runs keep their ids; any other value enters the hash. Keys are dotted paths ("train.x").
HASH_NEUTRAL_DEFAULTS: dict[str, Any] = {
    "data.offset_radius": OFFSET_RADIUS,
    "train.eval_group_radius": GROUP_RADIUS_FRACTION,
    "train.eval_peak_threshold": PEAK_THRESHOLD,
    "train.parsing_lr_mult": 1.0,
    "model.parsing_input": "image",
    "model.offset_design": "shared",
    "train.eval_kernels": "own",
    "train.freeze_pil": False,
    "evaluate_from": None,
}


@dataclass
class ExperimentConfig:
    """One named experiment: a row of a paper table or a curve of a figure.

    Args:
        name: registry name, e.g. ``"table1/vgg16-pil"``.
        table: the paper table or figure it reproduces (``"Table 1"``).
        row: the row label as printed in the paper (``"VGG16-PIL(VGG16)"``).
        scale: ``"smoke"``, ``"cpu"`` or ``"paper"``.
        model, data, train: see the dataclasses above.
        transfer_from: name of the experiment whose finished run provides the
            frozen parsing encoder + parameter adapter (Sec. 4.4), or None.
        evaluate_from: name of the experiment whose finished run (same scale
            and seed, same model) this run evaluates without training, with
            its own evaluation settings (e.g. ``train.eval_kernels``), or None.
        seed: training seed (weights init, data order, augmentation).
        command: the shell command that runs it.
        notes: free text (deviations from the paper at this scale).
    """

    name: str = "table1/vgg16-pil"
    table: str = "Table 1"
    row: str = "VGG16-PIL(VGG16)"
    scale: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    transfer_from: str | None = None
    evaluate_from: str | None = None
    seed: int = 0
    command: str = ""
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples become lists), JSON/YAML serialisable. ``model.offset_design`` appears only
        with an offset head (multi-person), so single-person configs read as they did before it existed."""
        d = _plain(dataclasses.asdict(self))
        if not self.model.offset_head:
            del d["model"]["offset_design"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ExperimentConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        return _from_dict(cls, d, "ExperimentConfig")

    def source_name(self) -> str | None:
        """The experiment whose finished run (same scale and seed) this run needs first: its transfer source
        (``transfer_from``), the run it evaluates (``evaluate_from``), or None."""
        return self.transfer_from if self.transfer_from is not None else self.evaluate_from

    def replace(self, **changes: Any) -> "ExperimentConfig":
        """A copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)

    def validate(self) -> "ExperimentConfig":
        """Raise ``ValueError`` naming the field on an invalid value; return self."""
        if self.scale not in SCALE_NAMES:
            raise ValueError(f"{self.name}: scale must be one of {SCALE_NAMES}, got {self.scale!r}")
        if self.data.kind not in DATASET_KINDS:
            raise ValueError(f"{self.name}: data.kind must be one of {DATASET_KINDS}, got {self.data.kind!r}")
        spec = get_spec(self.data.kind)
        if self.model.num_joints != spec.num_joints:
            raise InputError(f"{self.name}: model.num_joints is {self.model.num_joints} but {spec.kind} has "
                             f"{spec.num_joints} joints; set model.num_joints: {spec.num_joints}")
        if self.model.offset_head != spec.multi_person:
            raise InputError(f"{self.name}: model.offset_head is {self.model.offset_head} but {spec.kind} is "
                             f"{'multi' if spec.multi_person else 'single'}-person; set model.offset_head: "
                             f"{str(spec.multi_person).lower()}")
        if self.model.offset_design not in OFFSET_DESIGNS:
            raise ValueError(f"{self.name}: model.offset_design must be one of {OFFSET_DESIGNS}, "
                             f"got {self.model.offset_design!r}")
        if not self.model.offset_head and self.model.offset_design != "shared":
            raise InputError(f"{self.name}: model.offset_design is {self.model.offset_design!r} but the model has no "
                             "offset head (single-person); drop model.offset_design")
        if self.data.mpii_mat is not None and spec.head_box_file is None:
            raise InputError(f"{self.name}: data.mpii_mat is set but {spec.kind} reads no head-box file; "
                             "set data.mpii_mat: null")
        if self.data.augment not in AUGMENT_PRESETS:
            raise ValueError(f"{self.name}: data.augment must be one of {AUGMENT_PRESETS}, got {self.data.augment!r}")
        if self.data.convention not in TARGET_CONVENTIONS:
            raise ValueError(f"{self.name}: data.convention must be one of {TARGET_CONVENTIONS}, "
                             f"got {self.data.convention!r}")
        if self.train.optimizer not in OPTIMIZERS:
            raise ValueError(f"{self.name}: train.optimizer must be one of {OPTIMIZERS}, got {self.train.optimizer!r}")
        if not self.train.parsing_lr_mult > 0:
            raise ValueError(f"{self.name}: train.parsing_lr_mult must be > 0, got {self.train.parsing_lr_mult}")
        if len(self.train.milestones) != len(self.train.lr_multipliers):
            raise ValueError(f"{self.name}: train.milestones {self.train.milestones} and train.lr_multipliers "
                             f"{self.train.lr_multipliers} must have the same length")
        if list(self.train.milestones) != sorted(self.train.milestones):
            raise ValueError(f"{self.name}: train.milestones must be increasing, got {self.train.milestones}")
        for key in ("epochs", "batch_size", "val_every"):
            if getattr(self.train, key) < 1:
                raise ValueError(f"{self.name}: train.{key} must be >= 1, got {getattr(self.train, key)}")
        if self.data.input_size % 32:
            raise ValueError(f"{self.name}: data.input_size must be a multiple of 32, got {self.data.input_size}")
        if self.data.synthetic is not None:
            from piltools.synthetic.config import DIFFICULTY

            if self.data.synthetic.difficulty not in DIFFICULTY:
                raise ValueError(f"{self.name}: data.synthetic.difficulty must be one of {list(DIFFICULTY)}, "
                                 f"got {self.data.synthetic.difficulty!r}")
        if self.model.parsing_input not in PARSING_INPUTS:
            raise ValueError(f"{self.name}: model.parsing_input must be one of {PARSING_INPUTS}, "
                             f"got {self.model.parsing_input!r}")
        if self.model.parsing_input == "oracle" and not spec.has_parsing_labels:
            raise InputError(f"{self.name}: model.parsing_input 'oracle' needs parsing labels, which {spec.kind} "
                             "has not; set model.parsing_input: image")
        if self.train.eval_kernels not in EVAL_KERNELS:
            raise ValueError(f"{self.name}: train.eval_kernels must be one of {EVAL_KERNELS}, "
                             f"got {self.train.eval_kernels!r}")
        if self.train.freeze_pil and (self.train.parsing_loss or self.transfer_from is not None):
            raise InputError(f"{self.name}: train.freeze_pil keeps an untrained parsing branch frozen: it needs "
                             "train.parsing_loss: false and no transfer_from")
        if self.evaluate_from is not None and self.transfer_from is not None:
            raise InputError(f"{self.name}: evaluate_from and transfer_from exclude each other (a run either "
                             "evaluates another run's model or trains its own)")
        if not self.train.eval_scales:
            raise ValueError(f"{self.name}: train.eval_scales must not be empty")
        return self


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _from_dict(cls: type, d: dict[str, Any], where: str) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(d) - set(fields)
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; expected some of {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for key, value in d.items():
        nested = _NESTED.get((cls, key))
        if nested is not None and value is not None:
            kwargs[key] = _from_dict(nested, value, f"{where}.{key}")
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


_NESTED: dict[tuple[type, str], type] = {
    (ExperimentConfig, "model"): ModelConfig,
    (ExperimentConfig, "data"): DataConfig,
    (ExperimentConfig, "train"): TrainConfig,
    (DataConfig, "synthetic"): SyntheticConfig,
}


def save_config(cfg: ExperimentConfig, path: str | Path) -> Path:
    """Write ``cfg`` as JSON (``.json``) or YAML (``.yaml``/``.yml``).

    Args:
        cfg: the configuration.
        path: output file; its suffix picks the format.
    """
    path = Path(path)
    d = cfg.to_dict()
    if path.suffix == ".json":
        path.write_text(json.dumps(d, indent=2) + "\n")
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(d, sort_keys=False))
    else:
        raise ValueError(f"{path}: config files must end in .json, .yaml or .yml")
    return path


def load_config(path: str | Path) -> ExperimentConfig:
    """Read a config written by :func:`save_config` (JSON or YAML)."""
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        d = json.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        d = yaml.safe_load(text)
    else:
        raise ValueError(f"{path}: config files must end in .json, .yaml or .yml")
    try:
        return ExperimentConfig.from_dict(d)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
