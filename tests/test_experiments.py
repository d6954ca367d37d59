"""The experiment registry: every table row resolves at every scale; the paper's numbers line up."""
from __future__ import annotations

import subprocess
import sys

import pytest

from piltools.experiments import EXPERIMENTS, SCALE_NAMES, get_experiment, list_experiments
from piltools.paper import PAPER_NUMBERS, paper_numbers, paper_value


@pytest.mark.parametrize("scale", SCALE_NAMES)
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_experiment_resolves(name, scale):
    cfg = get_experiment(name, scale, seed=3)
    assert cfg.name == name and cfg.scale == scale and cfg.seed == 3
    assert cfg.command == f"python -m piltools train {name} --scale {scale} --seed 3"
    if scale == "paper":
        assert cfg.data.synthetic is None and cfg.data.input_size == 256 and cfg.train.epochs == 250
        assert cfg.model.width is None
        assert len(cfg.train.eval_scales) == (1 if cfg.data.kind == "pascal" else 6)
    else:
        assert cfg.data.synthetic is not None and cfg.data.root.startswith("data/synthetic/")


def test_every_model_name_is_registered():
    from piltools.models import list_models

    registered = set(list_models())
    for name in list_experiments():
        assert EXPERIMENTS[name].model in registered, name


def test_tables_are_covered():
    names = list_experiments()
    assert sum(n.startswith("table1/") for n in names) == 7
    assert sum(n.startswith("table2/") for n in names) == 8
    assert [n for n in names if n.startswith("table3/")] == [f"table3/pil-hg-1s-{u}u" for u in (1, 2, 4, 8)] + [
        "table3/oracle-parsing", "table3/no-parsing-loss", "table3/shuffled-kernels"]  # the last three: controls
    assert {"table5/baseline", "table5/pil", "mpii/hg-8s-1u", "mpii/hg-8s-1u-pil-transfer",
            "mpii/hg-8s-1u-pil-random"} <= set(names)
    assert get_experiment("mpii/hg-8s-1u-pil-transfer", "cpu").transfer_from == "table2/hg-8s-1u-pil"
    assert get_experiment("mpii/hg-8s-1u", "cpu").train.parsing_loss is False  # MPII has no parsing labels


PARSING_CALIBRATION = {"calib/parsing-vgg16": ("Parsing(VGG16)", "table1/vgg16-pil")} | {
    f"calib/parsing-hg-1s-{u}u": (f"Parsing(HG-1s-{u}u)", f"table3/pil-hg-1s-{u}u") for u in (1, 2, 4, 8)}


@pytest.mark.parametrize("scale", SCALE_NAMES)
@pytest.mark.parametrize(("name", "model", "pil"), [(n, m, p) for n, (m, p) in PARSING_CALIBRATION.items()])
def test_parsing_calibration_experiments_follow_the_scale_recipe(name, model, pil, scale):
    # the parsing net alone, trained as the PIL experiment that uses it: same data, input, width, batch,
    # epochs, schedule and rate (the scale's VGG or HG rate), cross-entropy on
    cfg, ref = get_experiment(name, scale), get_experiment(pil, scale)
    assert cfg.table == "Calibration" and cfg.row == model == cfg.model.name
    assert cfg.train.parsing_loss is True and cfg.transfer_from is None
    assert cfg.data == ref.data and cfg.train == ref.train and cfg.model.width == ref.model.width
    assert cfg.model.num_parsing == ref.model.num_parsing == 20


def test_parsing_calibration_rates_are_the_scales_vgg_and_hg_rates():
    # cpu scale: VGG 1e-4, hourglass 1e-3 (experiments.SCALES["cpu"])
    assert get_experiment("calib/parsing-vgg16", "cpu").train.lr == 1e-4
    assert get_experiment("calib/parsing-hg-1s-8u", "cpu").train.lr == 1e-3
    assert get_experiment("calib/parsing-vgg16", "cpu").model.width == 16
    assert get_experiment("calib/parsing-hg-1s-8u", "cpu").model.width == 64


def test_parsing_calibration_runs_are_read_by_the_notebooks_of_their_pil_rows():
    from piltools.collection import NOTEBOOKS

    def read_by(prefix: str) -> set[str]:
        return {n for scale in SCALE_NAMES for n in NOTEBOOKS[prefix].experiments_at(scale)} & set(PARSING_CALIBRATION)

    assert read_by("01") == {"calib/parsing-vgg16"}
    # Table 2's PIL rows parse with HG-1s-1u (the first row) and HG-1s-2u (the other three); Table 3 with all four
    assert read_by("02") == {"calib/parsing-hg-1s-1u", "calib/parsing-hg-1s-2u"}
    assert read_by("03") == {f"calib/parsing-hg-1s-{u}u" for u in (1, 2, 4, 8)}
    assert not read_by("04") | read_by("05") | read_by("06")
    assert [n for n in list_experiments() if n.startswith("calib/")] == list(PARSING_CALIBRATION)


def test_cpu_vgg_adapter_gives_3x3_kernels():
    # VGG stride 8 at 128 px -> 16x16 features; (16 - 3) // 2 + 1 = 7, one pool -> 3 (paper: 3x3 at 256 px)
    cfg = get_experiment("table1/vgg16-pil", "cpu")
    assert cfg.data.input_size == 128 and cfg.model.adapter_pools == 1


def test_paper_numbers_name_existing_experiments():
    assert {p.experiment for p in PAPER_NUMBERS} <= set(list_experiments())
    assert paper_value("table1/vgg16-pil", "PCK") == 75.0
    assert paper_value("mpii/hg-8s-1u-pil-transfer", "PCKh") == 91.0
    assert len(paper_numbers("Table 1")) == 7
    with pytest.raises(KeyError):
        paper_numbers("Table 9")


def test_cli_lists_experiments():
    out = subprocess.run([sys.executable, "-m", "piltools", "experiments", "--scale", "smoke"],
                         capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 1 + len(EXPERIMENTS)
    assert lines[1].split()[:2] == ["table1/vgg16", "Table"]


def test_committed_table1_runs_keep_their_ids():
    """The committed Table 1 rows name the runs that made them: today's code must resolve the same run ids,
    or a re-run would train new runs instead of reproducing those (a refactor must not move them)."""
    import csv

    from piltools.runs import resolve_path, run_dir_for

    with open(resolve_path("results/table1.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 21  # 7 rows x 3 seeds
    for row in rows:
        cfg = get_experiment(row["experiment"], row["scale"], int(row["seed"]))
        assert run_dir_for(cfg, extra={"world_size": 1}).name == row["run_id"], row["experiment"]


def test_unknown_name_or_scale_names_the_closest_known_ones() -> None:
    from piltools.errors import InputError

    with pytest.raises(InputError) as info:
        get_experiment("tabel1/vgg16", "smoke")
    message = str(info.value)
    assert "\n" not in message and message.startswith("unknown experiment 'tabel1/vgg16'; did you mean 'table1/vgg16'")
    with pytest.raises(InputError, match=r"^unknown scale 'smok'; did you mean 'smoke'\?$"):
        get_experiment("table1/vgg16", "smok")
    # nothing close: every known name is listed
    with pytest.raises(InputError, match=r"^unknown scale 'xyz'; known: smoke, cpu, paper$"):
        get_experiment("table1/vgg16", "xyz")


def test_cli_unknown_experiment_is_one_line_and_exit_2(capsys) -> None:
    from piltools.__main__ import main

    assert main(["train", "tabel1/vgg16", "--scale", "smoke"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("piltools train: unknown experiment 'tabel1/vgg16'; did you mean 'table1/vgg16'")


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_dataset_dependent_fields_come_from_the_spec(name) -> None:
    from piltools.datasets.specs import get_spec

    cfg = get_experiment(name, "paper")
    spec = get_spec(cfg.data.kind)
    assert cfg.model.num_joints == spec.num_joints and cfg.model.num_parsing == spec.num_parsing
    assert cfg.model.offset_head == spec.multi_person and cfg.data.augment == spec.augment
    assert cfg.data.root == spec.default_root and cfg.data.mpii_mat == spec.head_box_file
    assert cfg.train.parsing_loss == spec.has_parsing_labels


def test_table3_pose_network_is_a_scale_value_and_its_2u_row_is_shared_with_table2():
    from piltools.experiments import table3_experiments

    assert get_experiment("table3/pil-hg-1s-4u", "paper").model.name == "HG-4s-2u-PIL(HG-1s-4u)"
    assert get_experiment("table3/pil-hg-1s-4u", "cpu").model.name == "HG-2s-1u-PIL(HG-1s-4u)"
    assert table3_experiments("cpu") == ("table3/pil-hg-1s-1u", "table2/hg-2s-1u-pil", "table3/pil-hg-1s-4u",
                                         "table3/pil-hg-1s-8u", "table2/hg-2s-1u")
    assert table3_experiments("paper")[1] == "table2/hg-4s-2u-pil" and table3_experiments("paper")[-1] == "table2/hg-4s-2u"
    # the shared row is the Table 2 run: same model, data and recipe as the Table 3 experiment of that depth
    t3, t2 = get_experiment("table3/pil-hg-1s-2u", "cpu"), get_experiment("table2/hg-2s-1u-pil", "cpu")
    assert (t3.model, t3.data, t3.train) == (t2.model, t2.data, t2.train)


def test_cpu_v2_recipe():
    cfg = get_experiment("table2/hg-1s-1u", "cpu")
    assert (cfg.train.epochs, cfg.train.milestones, cfg.train.batch_size) == (8, (6,), 4)
    assert get_experiment("table1/vgg16-pil", "cpu").train.parsing_lr_mult == 3.0
    assert get_experiment("table1/vgg16-pil", "paper").train.parsing_lr_mult == 1.0


def test_multi_person_budget_keeps_the_schedule_shape():
    from piltools.experiments import scaled_milestones

    for name in ("table5/baseline", "table5/pil"):
        cfg = get_experiment(name, "cpu")
        assert (cfg.train.epochs, cfg.train.milestones) == (32, (24,))  # rate halved after 6 of 8 -> 24 of 32
        assert cfg.data.synthetic.difficulty == "default-near"
        assert get_experiment(name, "smoke").train.epochs == 2  # no multi-person budget at smoke
        assert get_experiment(name, "paper").train.epochs == get_experiment("table2/hg-8s-1u", "paper").train.epochs
    assert scaled_milestones((150, 170, 200), 250, 250) == (150, 170, 200)
    assert scaled_milestones((1,), 2, 3) == (2,) and scaled_milestones((6,), 8, 1) == (1,)
