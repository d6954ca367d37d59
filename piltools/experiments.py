"""Named experiments: one per row of the paper's Tables 1, 2, 3, 5, 6 and per Fig. 4 curve, and the
calibration runs of the parsing side (``calib/parsing-*``: the parsing networks of Tables 1 and 3 alone).

Each experiment is a small builder entry (:data:`EXPERIMENTS`: name -> table,
row, model name, dataset kind, transfer source) resolved at one of three
scales by :func:`get_experiment`:

- ``smoke``: seconds per run on 2 CPU cores (CI): tiny widths, 64 px input,
  a handful of optimiser steps on a tiny synthetic dataset.
- ``cpu``: the embedded default: synthetic data in the real formats (at the
  generator's calibrated difficulty), reduced width and input size (128 px),
  batch 4 for 8 epochs, the parsing network at 3x the pose rate (v2 of this
  scale): 2-7 minutes per Table 1 run on one CPU thread, the whole collection
  in about 4 hours on 2 cores (``python -m piltools plan --scale cpu``). The
  pose budget and the data difficulty were calibrated together on the
  pose-only baseline HG-1s-1u (``python -m piltools calibrate``,
  ``results/calibration.csv``), the parsing rate on the parsing networks
  alone (``calibrate --parsing``, ``results/calibration_parsing.csv``).
- ``paper``: the paper's recipe (Sec. 4.1): 256 px input, full widths,
  RMSProp lr 0.0025 halved at epochs 150/170/200, 250 epochs, batch 24,
  six-scale flip test, real data under ``data/lip``, ``data/mpii``,
  ``data/pascal_person_part``.

Every smaller-scale deviation from the paper is a value in :data:`SCALES`
with a comment. Run one with ``python -m piltools train NAME --scale S`` and
list them with ``python -m piltools experiments --scale S``.
"""
from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from piltools.config import (
    SCALE_NAMES,  # noqa: F401  (re-exported: piltools.experiments.SCALE_NAMES is config.SCALE_NAMES)
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SyntheticConfig,
    TrainConfig,
)
from piltools.datasets.specs import get_spec
from piltools.errors import InputError
from piltools.models.registry import uses_vgg


@dataclass(frozen=True)
class ExperimentSpec:
    """What a named experiment is, independent of scale.

    Args:
        table: paper table / figure (``"Table 1"``).
        row: the row label as printed in the paper.
        model: registered model name (paper spelling).
        kind: dataset kind (``lip``, ``mpii``, ``pascal``).
        transfer_from: experiment providing the frozen parsing encoder +
            adapter (Sec. 4.4), or None.
        notes: assumptions where the paper is silent.
        beta: parsing loss weight (the reference code's 0.01; 0 = the parsing
            branch gets no parsing supervision).
        parsing_input: ``"image"`` or ``"oracle"`` (:class:`~piltools.config.ModelConfig`).
        eval_kernels: ``"own"`` or ``"shuffled"`` (:class:`~piltools.config.TrainConfig`).
        freeze_pil: keep the parsing encoder and adapter untrained and frozen.
        evaluate_from: experiment whose run (same scale and seed) this one
            evaluates without training; a Table 3 row resolves to the run that
            holds it at the scale (:func:`table3_experiments`).
    """

    table: str
    row: str
    model: str
    kind: str = "lip"
    transfer_from: str | None = None
    notes: str = ""
    beta: float = 0.01
    parsing_input: str = "image"
    eval_kernels: str = "own"
    freeze_pil: bool = False
    evaluate_from: str | None = None


#: The pose network of the paper's Table 3; smaller scales may name another (:attr:`ScaleSpec.table3_pose`).
TABLE3_PAPER_POSE = "HG-4s-2u"

#: The "table" of the controls of Table 3 (beyond the paper); their pose network is Table 3's too.
TABLE3_CONTROLS = "Table 3 controls"

#: The "table" and name prefix of the calibration experiments (no paper table; no notebook trains them).
CALIBRATION_TABLE = "Calibration"
CALIBRATION_PREFIX = "calib/"


def _table_entries() -> dict[str, ExperimentSpec]:
    e: dict[str, ExperimentSpec] = {}
    # Table 1: VGG16-FCN ablation on LIP val (PCK).
    for slug, row in [
        ("vgg16", "VGG16"),
        ("vgg16-add", "VGG16-Add"),
        ("vgg16-multi", "VGG16-Multi"),
        ("vgg16-concat", "VGG16-Concat"),
        ("vgg16-mtl", "VGG16-MTL"),
        ("vgg16-self", "VGG16-Self"),
        ("vgg16-pil", "VGG16-PIL(VGG16)"),
    ]:
        e[f"table1/{slug}"] = ExperimentSpec("Table 1", row, row)
    # Table 2: hourglass baselines and their PIL versions on LIP val (PCK).
    for base, parsing in [("HG-1s-1u", "HG-1s-1u"), ("HG-2s-1u", "HG-1s-2u"),
                          ("HG-4s-2u", "HG-1s-2u"), ("HG-8s-1u", "HG-1s-2u")]:
        slug = base.lower()
        e[f"table2/{slug}"] = ExperimentSpec("Table 2", base, base)
        pil = f"{base}-PIL({parsing})"
        notes = ("the parsing net of the HG-8s-1u PIL row is taken as HG-1s-2u (the one Table 6 names)"
                 if base == "HG-8s-1u" else "")
        e[f"table2/{slug}-pil"] = ExperimentSpec("Table 2", pil, pil, notes=notes)
    # Table 3: pose net HG-4s-2u (a scale value: ScaleSpec.table3_pose), parsing net depth 1/2/4/8 units
    # (PCK and parsing mIoU).
    for units in (1, 2, 4, 8):
        name = f"{TABLE3_PAPER_POSE}-PIL(HG-1s-{units}u)"
        e[f"table3/pil-hg-1s-{units}u"] = ExperimentSpec(
            "Table 3", f"HG-1s-{units}u", name,
            notes="the pose network is the scale's table3_pose (paper HG-4s-2u, baseline row 84.5 = table2/hg-4s-2u); "
                  "parsing mIoU is read from eval.json")
    # Controls of Table 3 (beyond the paper), on the Table 3 pose network with the HG-1s-2u parsing net: what
    # PIL gets from parsing, from dynamic kernels without parsing supervision, and from image-specific kernels.
    pil_2u = f"{TABLE3_PAPER_POSE}-PIL(HG-1s-2u)"
    e["table3/oracle-parsing"] = ExperimentSpec(
        TABLE3_CONTROLS, "Oracle parsing (true labels)", pil_2u, parsing_input="oracle",
        notes="the parsing encoder (HG-1s-2u) is fed the one-hot of the ground-truth parsing labels of the crop "
              "instead of the image (flipped with the left/right labels swapped at the flip test): the upper "
              "bound of what parsing can give PIL; its parsing loss is kept as in every PIL row")
    e["table3/no-parsing-loss"] = ExperimentSpec(
        TABLE3_CONTROLS, "No parsing supervision (beta = 0)", pil_2u, beta=0.0,
        notes="the PIL model with beta = 0: dynamic kernels predicted by an image network that never sees a "
              "parsing label")
    e["table3/shuffled-kernels"] = ExperimentSpec(
        TABLE3_CONTROLS, "Shuffled kernels at test time", pil_2u, eval_kernels="shuffled",
        evaluate_from="table3/pil-hg-1s-2u",
        notes="the trained HG-1s-2u row evaluated with each image's kernels taken from the next image of its "
              "evaluation batch (no training)")
    # Table 5: multi-person on PASCAL-Person-Part (mAP).
    e["table5/baseline"] = ExperimentSpec(
        "Table 5", "Baseline", "HG-8s-1u", kind="pascal",
        notes="the paper's multi-person backbone is assumed to be HG-8s-1u with an offset head")
    e["table5/pil"] = ExperimentSpec(
        "Table 5", "With PIL", "HG-8s-1u-PIL(HG-1s-2u)", kind="pascal",
        notes="the paper's multi-person backbone is assumed to be HG-8s-1u with an offset head")
    # Table 6 and Fig. 4: MPII val PCKh; the PIL side is transferred from LIP (Sec. 4.4).
    e["mpii/hg-8s-1u"] = ExperimentSpec(
        "Table 6 / Fig. 4", "HG-8s-1u", "HG-8s-1u", kind="mpii",
        notes="Fig. 4 'without PIL' curve = this run's metrics.csv (train_acc, loss)")
    e["mpii/hg-8s-1u-pil-transfer"] = ExperimentSpec(
        "Table 6 / Fig. 4", "HG-8s-1u + PIL(HG-1s-2u)", "HG-8s-1u-PIL(HG-1s-2u)", kind="mpii",
        transfer_from="table2/hg-8s-1u-pil",
        notes="parsing encoder + adapter loaded frozen from the LIP run table2/hg-8s-1u-pil; "
              "Fig. 4 'with PIL' curve = this run's metrics.csv")
    e["mpii/hg-8s-1u-pil-random"] = ExperimentSpec(
        "Table 6 / Fig. 4", "HG-8s-1u + random frozen PIL", "HG-8s-1u-PIL(HG-1s-2u)", kind="mpii", freeze_pil=True,
        notes="control beyond the paper: the parsing encoder + adapter keep their random initialisation, frozen; "
              "if this helps as much as the transferred PIL, the gain is frozen extra capacity, not parsing")
    # Calibration of the parsing side (not a paper row): the parsing networks of Table 1 (VGG16) and of
    # Tables 2 / 3 (HG-1s-{1,2,4,8}u) trained alone with cross-entropy only (python -m piltools calibrate --parsing).
    parsing_note = ("parsing network alone (encoder + classifier), cross-entropy only with weight 1; "
                    "the paper's LIP mIoU of the Table 3 parsing nets is 41.1 / 42.4 / 43.3 / 43.9 (1u..8u)")
    for slug, net in [("vgg16", "VGG16"), *((f"hg-1s-{u}u", f"HG-1s-{u}u") for u in (1, 2, 4, 8))]:
        e[f"{CALIBRATION_PREFIX}parsing-{slug}"] = ExperimentSpec(CALIBRATION_TABLE, f"Parsing({net})",
                                                                  f"Parsing({net})", notes=parsing_note)
    return e


EXPERIMENTS: dict[str, ExperimentSpec] = _table_entries()


@dataclass(frozen=True)
class ScaleSpec:
    """Scale-dependent settings (everything not fixed by the experiment's row)."""

    input_size: int
    vgg_width: int | None        # None = the model's paper default (64)
    hg_width: int | None         # None = the model's paper default (256)
    vgg_adapter_pools: int
    hg_adapter_pools: int
    synthetic: dict[str, SyntheticConfig] | None  # per dataset kind; None = real data
    epochs: int
    steps_per_epoch: int | None
    batch_size: int
    vgg_lr: float
    hg_lr: float
    parsing_lr_mult: float       # the parsing network's rate as a multiple of the VGG / HG rate (paper 1)
    table3_pose: str             # Table 3's pose network (paper HG-4s-2u)
    milestones: tuple[int, ...]
    lr_multipliers: tuple[float, ...]
    num_workers: int
    eval_scales: tuple[float, ...]
    max_val: int | None
    cpu_threads: int | None
    multi_person_epochs: int | None = None  # the multi-person runs' (Table 5) budget; None = ``epochs``. The
                                            # milestones move to the same fraction of the run (scaled_milestones)


_PAPER_MODEL, _PAPER_DATA, _PAPER_TRAIN = ModelConfig(), DataConfig(), TrainConfig()

SCALES: dict[str, ScaleSpec] = {
    # smoke: CI. Seconds per run on 2 cores; shows only that the path runs.
    "smoke": ScaleSpec(
        input_size=64,             # paper 256
        vgg_width=4,               # paper 64
        hg_width=16,               # paper 256
        vgg_adapter_pools=0,       # paper 2; 8x8 VGG features at 64 px -> 3x3 kernels without pools
        hg_adapter_pools=1,        # paper 2; 16x16 hourglass features at 64 px -> 3x3 kernels
        synthetic={                # paper: real data
            "lip": SyntheticConfig(n_train=16, n_val=8, size=64, seed=0),
            "mpii": SyntheticConfig(n_train=16, n_val=8, size=64, seed=0),
            "pascal": SyntheticConfig(n_train=16, n_val=8, size=64, seed=0),
        },
        epochs=2,                  # paper 250
        steps_per_epoch=2,         # paper: full pass
        batch_size=4,              # paper 24
        vgg_lr=0.0001,             # paper 0.0025; the reference code's VGG rate (0.0025 diverges without BN)
        hg_lr=0.0025,              # paper 0.0025
        parsing_lr_mult=3.0,       # paper 1; as cpu, so CI trains the two rate groups
        table3_pose="HG-2s-1u",    # paper HG-4s-2u; as cpu
        milestones=(1,),           # paper (150, 170, 200): one change so the schedule is exercised
        lr_multipliers=(0.5,),     # paper (0.5, 0.25, 0.125)
        num_workers=0,             # paper: several
        eval_scales=(1.0,),        # paper: six scales
        max_val=8,                 # paper: the whole val split
        cpu_threads=1,             # fixed for bit-reproducible CPU runs
    ),
    # cpu: the embedded default; minutes per run on 2 cores, enough to show learning.
    "cpu": ScaleSpec(
        input_size=128,            # paper 256
        vgg_width=16,              # paper 64 (VGG16 channels 16/32/64/128 instead of 64/.../512)
        hg_width=64,               # paper 256
        vgg_adapter_pools=1,       # paper 2: VGG at 128 px sees 16x16 features; 1 pool -> 3x3 kernels,
                                   # as the paper's VGG at 256 px gets 3x3
        hg_adapter_pools=2,        # paper 2: 32x32 hourglass features -> 3x3 kernels (paper 7x7 at 64x64)
        synthetic={                # paper: real LIP / MPII / PASCAL. Difficulty "default", the calibrated level
            "lip": SyntheticConfig(n_train=1000, n_val=200, size=128, seed=0),
            "mpii": SyntheticConfig(n_train=1000, n_val=200, size=128, seed=0),
            "pascal": SyntheticConfig(n_train=500, n_val=100, size=160, seed=0, difficulty="default-near"),
                                   # default-near: the default level with larger people (0.6-0.95 of the frame
                                   # instead of the style's 0.35-0.85). Calibrated on the pose-only baseline
                                   # table5/baseline (results/calibration_table5-baseline.csv, seed 0, 8 epochs):
                                   # mAP 3.3 (default) / 5.5 (default-near) / 4.4 (default-close); the style's
                                   # people got a true-positive tolerance of about one heatmap cell
        },
        epochs=8,                  # paper 250. v1 of this scale had 10 epochs (chosen with the data difficulty in
                                   # the calibration, results/calibration.csv); v2 trains 8 so that the whole
                                   # collection fits 4 hours on 2 cores (python -m piltools plan --scale cpu).
                                   # The pose-only baseline was re-checked in its 50-85 band at 8 epochs.
        steps_per_epoch=None,      # one pass over the synthetic training split (250 steps of 4)
        batch_size=4,              # paper 24. On one CPU thread a step costs about the same per image at batch 4
                                   # as at 16, so 4x the updates per epoch: after 6 epochs (old data level "hard")
                                   # VGG16 reached 30.7 PCK at batch 4 (seed 0) against 22.7+-2.6 at batch 16.
        vgg_lr=0.0001,             # paper 0.0025; the reference code's VGG rate: at 0.0025 (and 0.001) our
                                   # BN-free VGG16 diverged in its first steps (loss 1e3-1e5, then all-zero maps);
                                   # at batch 4, 3e-4 was no better than 1e-4 (val PCK after 4 epochs 26.9 vs 27.1)
        hg_lr=0.001,               # paper 0.0025. Calibration (HG-1s-1u, batch 4, data level "hard"): val PCK after
                                   # 4 epochs 18.6 at 2.5e-4, 25.4 at 1e-3, 26.1 at 2e-3; 1e-3 keeps a margin from
                                   # the large first RMSProp steps that made 2.5e-3 fail at batch 16 (8.6 PCK)
        parsing_lr_mult=3.0,       # paper 1 (one rate for the whole model). The parsing networks trained alone
                                   # (calib/parsing-*, 10 epochs, seed 0) starve at the pose rates: HG-1s-1u
                                   # mIoU 23.1 at 1e-3 vs 29.3 at 3e-3 (29.6 at seed 1), HG-1s-8u 28.9 vs 33.6,
                                   # VGG16 15.1 at 1e-4 vs 21.1 at 3e-4 (18.2 at 1e-3). So the parsing network
                                   # (parsing_encoder) of every model trains at 3x the pose rate; pose-only models
                                   # are unchanged. Chosen on the parsing-only networks, never on a PIL row.
        table3_pose="HG-2s-1u",    # paper HG-4s-2u. Table 3's four PIL runs cost 0.15-0.2 s per step with HG-2s-1u
                                   # against 0.25-0.37 s with HG-4s-2u (measured by `plan`), and its HG-1s-2u row
                                   # is then Table 2's HG-2s-1u-PIL(HG-1s-2u) run, trained once for both tables
        milestones=(6,),           # paper (150, 170, 200): same shape, scaled to the short run (halved for the
                                   # last 2 epochs, as in v1's 8-of-10)
        lr_multipliers=(0.5,),     # paper (0.5, 0.25, 0.125)
        num_workers=0,             # 2 shared cores: loading in the main process is fastest
        eval_scales=(1.0,),        # paper: six scales; flip test kept
        max_val=None,
        cpu_threads=1,             # fixed for bit-reproducible CPU runs (and fastest on 2 shared cores)
        multi_person_epochs=32,    # Table 5 (paper: 250 like the rest). Its 500 training images give 125 steps per
                                   # epoch, so 32 epochs are 4000 steps (LIP / MPII at 8 epochs: 2000). Chosen on
                                   # the pose-only baseline (results/calibration_table5-baseline.csv, seed 0),
                                   # with the first ("shared") offset head: mAP 5.5 after 8 epochs, 16.9 after
                                   # 32 (rate halved after 24), about 12 min per baseline run on one thread;
                                   # kept with the "separate" head (21.3 after 8 epochs, at the band's floor)
    ),
    # paper: the paper's recipe (Sec. 4.1) on the real datasets: the config defaults, which are the paper's.
    "paper": ScaleSpec(
        input_size=_PAPER_DATA.input_size,
        vgg_width=None,
        hg_width=None,
        vgg_adapter_pools=_PAPER_MODEL.adapter_pools,
        hg_adapter_pools=_PAPER_MODEL.adapter_pools,
        synthetic=None,
        epochs=_PAPER_TRAIN.epochs,
        steps_per_epoch=_PAPER_TRAIN.steps_per_epoch,
        batch_size=_PAPER_TRAIN.batch_size,
        vgg_lr=_PAPER_TRAIN.lr,
        hg_lr=_PAPER_TRAIN.lr,
        parsing_lr_mult=_PAPER_TRAIN.parsing_lr_mult,
        table3_pose=TABLE3_PAPER_POSE,
        milestones=_PAPER_TRAIN.milestones,
        lr_multipliers=_PAPER_TRAIN.lr_multipliers,
        num_workers=8,             # not part of the recipe: loader processes of a GPU machine
        eval_scales=_PAPER_TRAIN.eval_scales,
        max_val=None,
        cpu_threads=None,
    ),
}


def list_experiments() -> list[str]:
    """All experiment names, in paper order."""
    return list(EXPERIMENTS)


def get_experiment(name: str, scale: str = "cpu", seed: int = 0) -> ExperimentConfig:
    """Resolve a named experiment at a scale.

    Args:
        name: e.g. ``"table1/vgg16-pil"`` (see :func:`list_experiments`).
        scale: ``"smoke"``, ``"cpu"`` or ``"paper"``.
        seed: training seed.

    Returns:
        A validated :class:`ExperimentConfig`.

    Raises:
        InputError: an unknown name or scale (the message names the closest known ones).
    """
    if name not in EXPERIMENTS:
        raise _unknown("experiment", name, EXPERIMENTS)
    if scale not in SCALES:
        raise _unknown("scale", scale, SCALES)
    spec, sc = EXPERIMENTS[name], SCALES[scale]
    ds = get_spec(spec.kind)
    is_vgg = uses_vgg(spec.model)
    model = ModelConfig(
        name=_model_at(spec, sc),
        width=sc.vgg_width if is_vgg else sc.hg_width,
        num_joints=ds.num_joints,
        background=False,              # paper: J maps; the reference code's background map is optional
        num_parsing=ds.num_parsing,    # MPII keeps LIP's parsing head (the transferred PIL, Sec. 4.4)
        adapter_pools=sc.vgg_adapter_pools if is_vgg else sc.hg_adapter_pools,
        pil_stack=-1,                  # reference code: adaptive conv on the last stack
        offset_head=ds.multi_person,   # multi-person grouping by centroid offsets (Sec. 4.3)
        offset_design="separate" if ds.multi_person else "shared",
                                       # the paper describes no offset head (Sec. 4.3). Chosen on the pose-only
                                       # baseline table5/baseline (cpu, default-near, 8 epochs, seed 0, calibrate
                                       # --offset-designs, results/calibration_table5-baseline.csv): a 1x1 conv on
                                       # the shared pose features ("shared") 5.5 mAP (12.8 grouped by the truth);
                                       # "separate" 21.3 (30.5): the offset loss no longer pulls the joints away
        parsing_input=spec.parsing_input,
    )
    synthetic = None if sc.synthetic is None else sc.synthetic[spec.kind]
    data = DataConfig(
        kind=spec.kind,
        root=ds.default_root if synthetic is None else f"data/synthetic/{spec.kind}-{scale}",
        synthetic=synthetic,
        input_size=sc.input_size,
        sigma=7.0,                     # reference code: 7 input px at every scale, so the Gaussian keeps the
                                       # paper's width in heatmap cells (0.875 cells at stride 8, 1.75 at stride 4);
                                       # (calibration, VGG16 lr 5e-4: 3.5 px reached 17.5 PCK in 8 epochs, 7 px 18.7 in 4)
        convention="reference",
        augment=ds.augment,
        max_val=sc.max_val,
        # real MPII: head boxes come from the official annotation file (synthetic entries carry them)
        mpii_mat=ds.head_box_file if synthetic is None else None,
    )
    epochs = sc.multi_person_epochs if ds.multi_person and sc.multi_person_epochs is not None else sc.epochs
    train = TrainConfig(
        lr=sc.vgg_lr if is_vgg else sc.hg_lr,
        milestones=scaled_milestones(sc.milestones, sc.epochs, epochs),
        lr_multipliers=sc.lr_multipliers,
        epochs=epochs,
        steps_per_epoch=sc.steps_per_epoch,
        batch_size=sc.batch_size,
        beta=spec.beta,                # reference code 0.01
        parsing_lr_mult=sc.parsing_lr_mult,
        parsing_loss=ds.has_parsing_labels,  # MPII has no parsing labels (Sec. 4.4)
        num_workers=sc.num_workers,
        eval_flip=True,
        # multi-person decoding runs at one scale (flip kept): a deviation from the paper's pyramid
        eval_scales=(1.0,) if ds.multi_person else sc.eval_scales,
        cpu_threads=sc.cpu_threads,
        eval_kernels=spec.eval_kernels,
        freeze_pil=spec.freeze_pil,
    )
    cfg = ExperimentConfig(
        name=name,
        table=spec.table,
        row=spec.row,
        scale=scale,
        model=model,
        data=data,
        train=train,
        transfer_from=spec.transfer_from,
        evaluate_from=None if spec.evaluate_from is None else _holder(spec.evaluate_from, scale),
        seed=seed,
        command=f"python -m piltools train {name} --scale {scale} --seed {seed}",
        notes=spec.notes,
    )
    return cfg.validate()


def scaled_milestones(milestones: tuple[int, ...], epochs: int, new_epochs: int) -> tuple[int, ...]:
    """The learning-rate milestones of an ``epochs`` schedule moved to the same fractions of a ``new_epochs`` one,
    rounded to an epoch, at least 1 (``cpu``: the rate halves after 6 of 8 epochs, so after 24 of 32)."""
    if new_epochs == epochs:
        return tuple(milestones)
    return tuple(max(1, round(m * new_epochs / epochs)) for m in milestones)


def _model_at(spec: ExperimentSpec, sc: ScaleSpec) -> str:
    """The model of an experiment at a scale: its own, except that Table 3's pose network (also that of its
    controls) is the scale's."""
    if spec.table in ("Table 3", TABLE3_CONTROLS):
        return spec.model.replace(TABLE3_PAPER_POSE, sc.table3_pose, 1)
    return spec.model


def table3_experiments(scale: str) -> tuple[str, ...]:
    """The experiments behind Table 3 at a scale: its four parsing-depth rows, then the pose network's baseline
    row of Table 2. A row whose model is a Table 2 PIL row's at that scale is that Table 2 experiment (one run
    for both tables: at ``paper`` HG-4s-2u-PIL(HG-1s-2u), at ``cpu`` HG-2s-1u-PIL(HG-1s-2u))."""
    if scale not in SCALES:
        raise _unknown("scale", scale, SCALES)
    pose = SCALES[scale].table3_pose
    table2 = {_model_at(s, SCALES[scale]): name for name, s in EXPERIMENTS.items() if s.table == "Table 2"}
    if pose not in table2:
        raise InputError(f"scale {scale!r}: table3_pose {pose!r} is not a Table 2 row; expected one of "
                         f"{', '.join(m for m in table2 if 'PIL' not in m)}")
    rows = [_holder(name, scale) for name, s in EXPERIMENTS.items() if s.table == "Table 3"]
    return (*rows, table2[pose])


def table3_controls() -> tuple[str, ...]:
    """The controls of Table 3 (beyond the paper), in registry order."""
    return tuple(name for name, s in EXPERIMENTS.items() if s.table == TABLE3_CONTROLS)


def _holder(name: str, scale: str) -> str:
    """The experiment whose run holds ``name`` at ``scale``: a Table 3 row whose model is a Table 2 row's at that
    scale is that Table 2 experiment (one run for both tables), any other name is itself."""
    spec = EXPERIMENTS[name]
    if spec.table != "Table 3":
        return name
    model = _model_at(spec, SCALES[scale])
    same = [n for n, s in EXPERIMENTS.items() if s.table == "Table 2" and _model_at(s, SCALES[scale]) == model]
    return same[0] if same else name


def _unknown(what: str, given: str, known: Iterable[str]) -> InputError:
    """One-line error naming the known names closest to ``given`` (all of them when none is close)."""
    names = list(known)
    close = difflib.get_close_matches(given, names, n=3, cutoff=0.6)
    if close:
        return InputError(f"unknown {what} {given!r}; did you mean {' or '.join(repr(c) for c in close)}?")
    return InputError(f"unknown {what} {given!r}; known: {', '.join(names)}")


def with_changes(cfg: ExperimentConfig, **sections: dict) -> ExperimentConfig:
    """A copy of ``cfg`` with fields of its sections replaced.

    Example: ``with_changes(cfg, train={"epochs": 3}, model={"width": 8})``.
    """
    updates = {}
    for section, changes in sections.items():
        updates[section] = dataclasses.replace(getattr(cfg, section), **changes)
    return dataclasses.replace(cfg, **updates).validate()
