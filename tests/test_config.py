"""Config dataclasses: round trips through JSON and YAML, validation, run-dir hashing."""
from __future__ import annotations

import dataclasses

import pytest

from piltools.config import (
    PAPER_EVAL_SCALES,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SyntheticConfig,
    TrainConfig,
    load_config,
    save_config,
)
from piltools.experiments import get_experiment, with_changes
from piltools.runs import experiment_slug, run_dir_for, run_id


def _custom() -> ExperimentConfig:
    return ExperimentConfig(
        name="table2/hg-1s-1u-pil", table="Table 2", row="HG-1s-1u-PIL(HG-1s-1u)", scale="cpu",
        model=ModelConfig(name="HG-1s-1u-PIL(HG-1s-1u)", width=32, background=True, adapter_pools=1),
        data=DataConfig(kind="lip", root="data/synthetic/x", synthetic=SyntheticConfig(10, 5, 96, 3),
                        input_size=96, sigma=2.5, max_val=4),
        train=TrainConfig(milestones=(2, 4), lr_multipliers=(0.5, 0.1), epochs=5, eval_scales=(0.9, 1.0)),
        transfer_from=None, seed=7)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip_preserves_every_field(tmp_path, suffix):
    cfg = _custom()
    back = load_config(save_config(cfg, tmp_path / f"c{suffix}"))
    assert back == cfg  # dataclass equality covers nested configs and tuples
    assert isinstance(back.train.milestones, tuple) and isinstance(back.data.synthetic, SyntheticConfig)


def test_round_trip_of_real_data_config_keeps_none(tmp_path):
    cfg = get_experiment("mpii/hg-8s-1u-pil-transfer", "paper")
    back = load_config(save_config(cfg, tmp_path / "c.json"))
    assert back == cfg and back.data.synthetic is None and back.transfer_from == "table2/hg-8s-1u-pil"


def test_defaults_are_the_papers_recipe():
    t = TrainConfig()
    assert (t.optimizer, t.lr, t.milestones, t.epochs, t.batch_size, t.beta) == (
        "rmsprop", 0.0025, (150, 170, 200), 250, 24, 0.01)
    # "x0.5 at epochs 150, 170, 200": cumulative halving of the base rate
    assert t.lr_multipliers == (0.5, 0.25, 0.125)
    assert len(PAPER_EVAL_SCALES) == 6 and t.eval_flip
    assert DataConfig().input_size == 256 and ModelConfig().adapter_pools == 2


def test_unknown_key_and_bad_values_raise(tmp_path):
    d = _custom().to_dict()
    d["train"]["learning_rate"] = 1.0
    with pytest.raises(ValueError, match="learning_rate"):
        ExperimentConfig.from_dict(d)
    with pytest.raises(ValueError, match="milestones"):
        dataclasses.replace(_custom(), train=TrainConfig(milestones=(1,), lr_multipliers=(0.5, 0.1))).validate()
    with pytest.raises(ValueError, match="data.kind"):
        dataclasses.replace(_custom(), data=DataConfig(kind="coco")).validate()
    with pytest.raises(ValueError, match=r"\.txt"):
        save_config(_custom(), tmp_path / "c.txt")


def test_run_id_is_stable_and_changes_with_config_and_seed(tmp_path):
    a = get_experiment("table1/vgg16-pil", "smoke", seed=0)
    b = get_experiment("table1/vgg16-pil", "smoke", seed=0)
    assert run_id(a) == run_id(b)
    # its form: 12 hex digits (the value itself is pinned in test_run_lifecycle.py)
    assert len(run_id(a)) == 12 and all(c in "0123456789abcdef" for c in run_id(a))
    assert run_id(get_experiment("table1/vgg16-pil", "smoke", seed=1)) != run_id(a)
    assert run_id(with_changes(a, train={"lr": 0.001})) != run_id(a)
    assert run_id(with_changes(a, model={"width": 8})) != run_id(a)
    assert run_id(a, {"world_size": 2}) != run_id(a, {"world_size": 1})
    # free text (command, notes) does not change what a run computes
    assert run_id(dataclasses.replace(a, notes="x", command="y")) == run_id(a)
    d = run_dir_for(a, tmp_path)
    assert d.parent.name == "table1-vgg16-pil" and d.parent.parent.name == "smoke" and d.name == run_id(a)
    assert experiment_slug("mpii/hg-8s-1u-pil-transfer") == "mpii-hg-8s-1u-pil-transfer"


def test_only_the_papers_optimizer() -> None:
    cfg = get_experiment("table1/vgg16", "smoke")
    with pytest.raises(ValueError, match="train.optimizer must be one of"):
        with_changes(cfg, train={"optimizer": "adam"})


def test_hash_neutral_defaults_keep_run_ids(monkeypatch):
    """A field listed in HASH_NEUTRAL_DEFAULTS leaves the run id alone at its neutral value, and changes it
    at any other value."""
    import dataclasses

    from piltools import runs
    from piltools.experiments import get_experiment

    cfg = get_experiment("table1/vgg16", "cpu", 0)
    before = runs.run_id(cfg)
    # pretend train.offset_weight were a new field whose neutral value is the current one
    monkeypatch.setattr(runs, "HASH_NEUTRAL_DEFAULTS", {"train.offset_weight": cfg.train.offset_weight})
    neutral = runs.run_id(cfg)
    changed = runs.run_id(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, offset_weight=2.5)))
    assert neutral != before  # the field left the hash ...
    assert changed != neutral  # ... and comes back into it at another value
    monkeypatch.setattr(runs, "HASH_NEUTRAL_DEFAULTS", {"train.eval_scales": cfg.train.eval_scales})
    assert runs.run_id(cfg) != before  # tuples compare as their JSON lists


def test_multi_person_hyperparameters_are_hash_neutral_config_values() -> None:
    from piltools.config import HASH_NEUTRAL_DEFAULTS
    from piltools.datasets.torch_data import OFFSET_RADIUS
    from piltools.decoding import GROUP_RADIUS_FRACTION, PEAK_THRESHOLD
    from piltools.runs import hashed_config

    cfg = get_experiment("table5/pil", "smoke")
    # they reach config.json ...
    d = cfg.to_dict()
    assert d["data"]["offset_radius"] == OFFSET_RADIUS == 14.0
    assert d["train"]["eval_group_radius"] == GROUP_RADIUS_FRACTION == 0.1
    assert d["train"]["eval_peak_threshold"] == PEAK_THRESHOLD == 0.1
    # ... but at today's values stay out of the run hash, so committed run ids do not move
    assert HASH_NEUTRAL_DEFAULTS == {"data.offset_radius": 14.0, "train.eval_group_radius": 0.1,
                                     "train.eval_peak_threshold": 0.1, "train.parsing_lr_mult": 1.0,
                                     "model.parsing_input": "image", "train.eval_kernels": "own",
                                     "train.freeze_pil": False, "evaluate_from": None,
                                     "model.offset_design": "shared"}
    hashed = hashed_config(cfg)
    assert "offset_radius" not in hashed["data"] and "eval_group_radius" not in hashed["train"]
    # Table 5's offset design is not the neutral one, so it is hashed; a single-person run keeps its id
    assert cfg.model.offset_design == "separate" and hashed["model"]["offset_design"] == "separate"
    assert "offset_design" not in hashed_config(get_experiment("table1/vgg16", "smoke"))["model"]
    assert run_id(with_changes(cfg, data={"offset_radius": 10.0})) != run_id(cfg)
    assert run_id(with_changes(cfg, train={"eval_peak_threshold": 0.2})) != run_id(cfg)


def test_validate_asks_the_dataset_spec() -> None:
    from piltools.errors import InputError

    lip = get_experiment("table2/hg-1s-1u", "smoke")
    with pytest.raises(InputError, match="model.offset_head is True but lip is single-person"):
        with_changes(lip, model={"offset_head": True})
    with pytest.raises(InputError, match="model.num_joints is 14 but lip has 16 joints"):
        with_changes(lip, model={"num_joints": 14})
    with pytest.raises(InputError, match="data.mpii_mat is set but lip reads no head-box file"):
        with_changes(lip, data={"mpii_mat": "x.mat"})
    pascal = get_experiment("table5/baseline", "smoke")
    with pytest.raises(InputError, match="pascal is multi-person; set model.offset_head: true"):
        with_changes(pascal, model={"offset_head": False})
    with pytest.raises(ValueError, match=r"model.offset_design must be one of \('shared', 'separate'\), got 'x'"):
        with_changes(pascal, model={"offset_design": "x"})
    with pytest.raises(InputError, match="model.offset_design is 'separate' but the model has no offset head"):
        with_changes(lip, model={"offset_design": "separate"})
    # the design reaches config.json only with an offset head, and reads back
    assert "offset_design" not in lip.to_dict()["model"] and pascal.to_dict()["model"]["offset_design"] == "separate"
    assert ExperimentConfig.from_dict(pascal.to_dict()) == pascal and ExperimentConfig.from_dict(lip.to_dict()) == lip
    with pytest.raises(ValueError, match=r"data.kind must be one of \('lip', 'mpii', 'pascal'\), got 'coco'"):
        dataclasses.replace(lip, data=DataConfig(kind="coco")).validate()
    with pytest.raises(ValueError, match=r"scale must be one of \('smoke', 'cpu', 'paper'\)"):
        dataclasses.replace(lip, scale="huge").validate()


def test_one_home_for_scale_names_and_the_paper_recipe() -> None:
    from piltools import config, experiments
    from piltools.experiments import SCALES

    assert experiments.SCALE_NAMES is config.SCALE_NAMES and tuple(SCALES) == config.SCALE_NAMES
    paper, defaults = get_experiment("table2/hg-8s-1u", "paper"), ExperimentConfig()
    for key in ("lr", "milestones", "lr_multipliers", "epochs", "batch_size", "eval_scales", "steps_per_epoch"):
        assert getattr(paper.train, key) == getattr(defaults.train, key), key
    assert paper.train.eval_scales == PAPER_EVAL_SCALES
    assert paper.data.input_size == defaults.data.input_size
    assert paper.model.adapter_pools == defaults.model.adapter_pools
