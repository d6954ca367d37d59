"""The notebooks' runs and their plan (``python -m piltools plan``, ``reproduce --plan-only``) at smoke scale.

The step-time measurement is replaced by a stub (:func:`fake_steps`) everywhere except in
:func:`test_measure_step_seconds_times_real_steps`; one smoke run of ``table1/vgg16`` is really trained.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import piltools.collection as C
import piltools.planning as PL
from piltools.__main__ import main
from piltools.errors import InputError
from piltools.experiments import get_experiment, list_experiments
from piltools.runs import CODE_FILE, write_json
from piltools.training import run_experiment
from piltools.training.runner import run_dir_of

TABLE1 = [n for n in list_experiments() if n.startswith("table1/")]
NB01 = [*TABLE1, "calib/parsing-vgg16"]  # notebook 01 also reads the VGG16 parsing network alone
# Stub step seconds: VGG16 (the Table 1 baseline) 0.5 s, every other model 2 s.
VGG16_STEP, OTHER_STEP = 0.5, 2.0


@pytest.fixture
def fake_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the measurement by the stub; the returned list records the model of each measurement."""
    calls: list[str] = []

    def measure(cfg, steps: int) -> float:  # noqa: ANN001 (the stub of measure_step_seconds)
        calls.append(cfg.model.name)
        return VGG16_STEP if cfg.model.name == "VGG16" else OTHER_STEP

    monkeypatch.setattr(PL, "measure_step_seconds", measure)
    return calls


def test_registry_lists_each_notebooks_runs() -> None:
    # 01: the 7 Table 1 experiments and the VGG16 parsing network alone x seeds 0, 1, 2 at cpu scale; seed 0
    # only at smoke scale (as the notebook)
    assert C.needed_runs("01", "cpu") == [(n, s) for n in (*TABLE1, "calib/parsing-vgg16") for s in (0, 1, 2)]
    assert len(TABLE1) == 7
    assert C.needed_runs("01_table1_vgg16_ablation.ipynb", "smoke") == [(n, 0) for n in
                                                                          (*TABLE1, "calib/parsing-vgg16")]
    # 02: the 8 Table 2 experiments and the parsing networks of its PIL rows alone (HG-1s-1u, HG-1s-2u)
    table2 = [n for n in list_experiments() if n.startswith("table2/")]
    assert len(table2) == 8
    assert C.needed_runs("02", "cpu") == [(n, s) for n in (*table2, "calib/parsing-hg-1s-1u", "calib/parsing-hg-1s-2u")
                                          for s in (0, 1, 2)]
    # 03: the 4 Table 3 runs and the pose network's baseline row; at cpu the pose network is HG-2s-1u and the
    # HG-1s-2u row is Table 2's HG-2s-1u-PIL(HG-1s-2u) run; at paper scale HG-4s-2u and Table 2's HG-4s-2u PIL row;
    # then the three controls and the four parsing networks alone
    controls = ["table3/oracle-parsing", "table3/no-parsing-loss", "table3/shuffled-kernels"]
    alone = [f"calib/parsing-hg-1s-{u}u" for u in (1, 2, 4, 8)]
    assert list(dict.fromkeys(n for n, _ in C.needed_runs("03", "cpu"))) == [
        "table3/pil-hg-1s-1u", "table2/hg-2s-1u-pil", "table3/pil-hg-1s-4u", "table3/pil-hg-1s-8u",
        "table2/hg-2s-1u", *controls, *alone]
    assert [n for n, _ in C.needed_runs("03", "paper")] == [
        "table3/pil-hg-1s-1u", "table2/hg-4s-2u-pil", "table3/pil-hg-1s-4u", "table3/pil-hg-1s-8u",
        "table2/hg-4s-2u", *controls, *alone]
    # 04: the transfer run's LIP source comes before it, per seed: 3 seeds x (baseline, source, transfer, random
    # frozen PIL) = 12 runs
    runs04 = C.needed_runs("04", "cpu")
    assert len(runs04) == 12 and ("mpii/hg-8s-1u-pil-random", 2) in runs04
    for seed in (0, 1, 2):
        assert runs04.index(("table2/hg-8s-1u-pil", seed)) < runs04.index(("mpii/hg-8s-1u-pil-transfer", seed))
    # 06: seed 0 only, at every scale
    assert C.needed_runs("06", "cpu") == [("table2/hg-1s-1u", 0), ("table2/hg-1s-1u-pil", 0)]


def test_unknown_notebook_is_one_line_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError, match="notebook '07_extra.ipynb': no registered notebook"):
        C.notebook_prefix("07_extra.ipynb")
    assert main(["plan", "07", "--scale", "smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("piltools plan: notebook '07': ") and "01 (Table 1" in err[0]


def test_plan_without_notebooks_is_one_line_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--notebooks", str(tmp_path), "--scale", "smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"piltools plan: --notebooks {tmp_path}: no registered numbered "
                                               "notebook there")


def test_jobs_below_one_is_input_error(tmp_path: Path, fake_steps: list[str]) -> None:
    with pytest.raises(InputError, match="--jobs 0: expected at least 1"):
        PL.make_plan(["06"], "smoke", jobs=0, out=tmp_path)


def test_estimate_uses_measured_step_times_cached_per_model(tmp_path: Path, fake_steps: list[str]) -> None:
    plan = PL.make_plan(["01"], "smoke", jobs=1, out=tmp_path)
    assert [r.config.name for r in plan.runs] == NB01
    assert all(r.status == "to train" for r in plan.runs)
    assert sorted(fake_steps) == sorted(get_experiment(n, "smoke").model.name for n in NB01)  # 8 distinct models
    vgg16 = plan.runs[0]
    # smoke table1/vgg16: 16 training images // batch 4 = 4 batches, capped at steps_per_epoch 2; 2 epochs
    # -> 4 steps x 0.5 s = 2.0 s. Evaluation: 8 val images = 2 batches; a quick validation after each of
    # the 2 epochs (1 pass) + the final one with flip (2 passes) = 4 passes x 2 batches = 8 forward passes
    # at a third of a step: 8 x 0.5 / 3 = 1.333 s.
    assert vgg16.estimate.steps_per_epoch == 2 and vgg16.estimate.epochs == 2
    assert vgg16.estimate.train_seconds == pytest.approx(2.0)
    assert vgg16.estimate.eval_seconds == pytest.approx(8 * 0.5 / 3)
    assert vgg16.seconds == pytest.approx(2.0 + 8 * 0.5 / 3)
    # the other 7 models at 2 s a step: each 4 x 2 + 8 x 2 / 3 s
    assert plan.training_seconds() == pytest.approx(vgg16.seconds + 7 * (8.0 + 16.0 / 3))
    # the second plan reads the cache file: nothing measured again, same numbers
    cache = json.loads((tmp_path / PL.STEP_TIMES_FILE).read_text())
    assert len(cache) == 8 and any(" | VGG16 | " in key for key in cache)
    again = PL.make_plan(["01"], "smoke", jobs=1, out=tmp_path)
    assert len(fake_steps) == 8 and again.step_times.measured == []
    assert again.training_seconds() == pytest.approx(plan.training_seconds())


def test_corrupt_step_time_cache_is_input_error(tmp_path: Path, fake_steps: list[str]) -> None:
    (tmp_path / PL.STEP_TIMES_FILE).write_text("{not json")
    with pytest.raises(InputError, match=r"step-time cache .*\.step_times\.json: unreadable .*delete it"):
        PL.make_plan(["06"], "smoke", jobs=1, out=tmp_path)


def test_trained_run_is_done_and_costs_nothing(tmp_path: Path, fake_steps: list[str]) -> None:
    trained = run_experiment("table1/vgg16", "smoke", seed=0, out=tmp_path, quiet=True)
    plan = PL.make_plan(["01"], "smoke", jobs=1, out=tmp_path)
    done = plan.runs[0]
    assert done.run_dir == trained.run_dir and done.status == "done" and done.seconds == 0.0
    assert [r.config.name for r in plan.to_train()] == NB01[1:]
    assert "VGG16" not in fake_steps  # a done run needs no step time
    assert plan.training_seconds() == pytest.approx(7 * (8.0 + 16.0 / 3))
    # code other than today's trained it: still done (reproduce does not retrain it), marked stale
    write_json(trained.run_dir / CODE_FILE, {"fingerprint": "0123456789abcdef", "version": "old"})
    stale = PL.make_plan(["01"], "smoke", jobs=1, out=tmp_path).runs[0]
    assert stale.complete and stale.freshness == "stale" and stale.status == "done, STALE"


def test_interrupted_run_resumes_in_the_estimate(tmp_path: Path, fake_steps: list[str]) -> None:
    cfg = get_experiment("table1/vgg16", "smoke", 0)
    run_dir = run_dir_of(cfg, tmp_path)
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.csv").write_text("epoch,loss,heatmap_loss,parsing_loss,train_acc,val_pck,lr,seconds\n"
                                         "1,1,1,0,0,0,0.0001,1\n")
    run = PL.make_plan(["01"], "smoke", jobs=1, out=tmp_path).runs[0]
    # 1 of 2 epochs left: 2 steps x 0.5 s; evaluation: the last quick validation + the final flip test
    # = 3 passes x 2 batches = 6 forward passes x 0.5 / 3 s
    assert run.status == "resume at epoch 2" and run.estimate.epochs == 1
    assert run.seconds == pytest.approx(1.0 + 6 * 0.5 / 3)


def test_shared_runs_listed_once_and_totals_add_up(tmp_path: Path, fake_steps: list[str]) -> None:
    plan = PL.make_plan(["02", "06", "04"], "smoke", jobs=2, out=tmp_path)
    # 02: 8 runs + 2 parsing networks alone; 06: 2 runs, both in 02; 04: mpii baseline, transfer + its source
    # table2/hg-8s-1u-pil (in 02), random frozen PIL
    assert len(plan.runs) == 10 + 3
    assert plan.runs_of("06") == [r for r in plan.runs if r.config.name in ("table2/hg-1s-1u", "table2/hg-1s-1u-pil")]
    source = next(r for r in plan.runs if r.config.name == "table2/hg-8s-1u-pil")
    assert source.notebooks == ["02", "04"] and source.is_source
    assert plan.training_seconds() == pytest.approx(sum(r.seconds for r in plan.runs))
    assert plan.training_seconds() < sum(plan.training_seconds(p) for p in plan.notebooks)  # shared runs once
    # two at a time: at least half the one-after-the-other time, at most all of it
    assert plan.training_seconds() / 2 <= plan.wall_seconds() < plan.training_seconds()
    serial = PL.make_plan(["02", "06", "04"], "smoke", jobs=1, out=tmp_path)
    assert serial.wall_seconds() == pytest.approx(serial.training_seconds())
    text = plan.lines()
    assert sum("table2/hg-8s-1u-pil " in line for line in text) == 1
    assert any("shared by 02, 04" in line and "(transfer source)" in line for line in text)
    assert any(line.startswith("total: 13 distinct runs, 0 done, 13 to train") and "--jobs 2" in line
               for line in text)


def test_wall_seconds_waits_for_each_wave() -> None:
    # wave 1: one 3 s source; wave 2 starts at 3 s: two processes take 2 s each (until 5 s), the third
    # run starts on the first one free (5 s) and ends at 7 s
    assert PL.wall_seconds([[3.0], [2.0, 2.0, 2.0]], jobs=2) == pytest.approx(7.0)
    assert PL.wall_seconds([[3.0], [2.0, 2.0, 2.0]], jobs=1) == pytest.approx(9.0)
    assert PL.wall_seconds([[], [4.0, 1.0, 1.0]], jobs=2) == pytest.approx(4.0)  # 1 + 1 beside the 4


def test_plan_command_prints_the_plan(tmp_path: Path, fake_steps: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "06", "--scale", "smoke", "--jobs", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "table2/hg-1s-1u " in out and "table2/hg-1s-1u-pil " in out
    assert "total: 2 distinct runs, 0 done, 2 to train" in out and "wall with --jobs 2" in out


def test_train_plan_one_bar_over_all_runs(tmp_path: Path, fake_steps: list[str], monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    plan = PL.make_plan(["06"], "smoke", jobs=2, out=tmp_path)
    calls = []

    def run_many(names, scale, seeds, out, quiet, jobs):  # noqa: ANN001 (stands in for training.run_many)
        calls.append((list(names), list(seeds), jobs))
        for name in names:  # "train": a run is complete once its eval.json exists
            for seed in seeds:
                run_dir = run_dir_of(get_experiment(name, scale, seed), out)
                run_dir.mkdir(parents=True)
                (run_dir / "eval.json").write_text("{}")
        return []

    monkeypatch.setattr(PL, "run_many", run_many)
    PL.train_plan(plan, poll_seconds=0.01)
    assert calls == [(["table2/hg-1s-1u", "table2/hg-1s-1u-pil"], [0], 2)]
    err = capsys.readouterr().err
    assert "2/2 runs" in err and "ETA ~0 s" in err


def test_reproduce_plan_only_trains_nothing(tmp_path: Path, fake_steps: list[str], monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PILTOOLS_HOME", str(tmp_path))  # the default runs folder results/runs under tmp_path
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "06_hg1s.ipynb").write_text("{}")
    (notebooks / "09_unregistered.ipynb").write_text("{}")
    assert main(["reproduce", "--scale", "smoke", "--notebooks", str(notebooks), "--plan-only"]) == 0
    out = capsys.readouterr().out
    assert "09_unregistered.ipynb: no runs registered" in out
    assert "06  06_hg1s.ipynb" in out and "total: 2 distinct runs, 0 done, 2 to train" in out
    assert not (tmp_path / "results" / "runs" / "smoke").exists()  # nothing trained
    assert (tmp_path / "results" / "runs" / PL.STEP_TIMES_FILE).is_file()


def test_measure_step_seconds_times_real_steps() -> None:
    seconds = PL.measure_step_seconds(get_experiment("table1/vgg16", "smoke"), steps=2)
    assert 0.0 < seconds < 30.0
