"""``python -m piltools bench train``: rows, FLOPs, model selection, errors, and the tuned step's numerics."""
from __future__ import annotations

import copy
import csv
import platform

import pytest
import torch

from piltools.__main__ import main as cli_main
from piltools.benchmarks import train as train_bench
from piltools.benchmarks.model import CSV_COLUMNS, make_train_step
from piltools.errors import InputError
from piltools.experiments import get_experiment, list_experiments
from piltools.training.builders import build_model


def test_smoke_run_appends_structured_rows_with_positive_flops(tmp_path) -> None:
    out = tmp_path / "bench.csv"
    assert train_bench.main(scale="smoke", models=["hg-1s-1u"], steps=1, out=out) == 0
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    # one matmul-peak row, then throughput and GFLOP/s rows for the one model chosen
    assert [r["benchmark"] for r in rows] == ["matmul_peak", "train_step_throughput", "train_step_gflops"]
    peak, throughput, gflops = (float(r["value"]) for r in rows)
    assert peak > 0 and throughput > 0 and gflops > 0
    cfg = get_experiment("table2/hg-1s-1u", "smoke")
    setting = rows[1]["setting"]
    assert setting.startswith("HG-1s-1u (table2/hg-1s-1u, smoke)")
    assert f"batch {cfg.train.batch_size}, input {cfg.data.input_size}" in setting
    assert setting.endswith(", today")
    # the note states the step's FLOPs: "<x> GFLOP/step (...)", x > 0
    step_gflop = float(rows[2]["note"].split(" GFLOP/step")[0])
    assert step_gflop > 0
    # and GFLOP/s = GFLOP/step / seconds per step, the ms quoted in the note (rounded to 0.1 ms, 4 digits in the CSV)
    ms = float(rows[2]["note"].split(" at ")[1].split(" ms/step")[0])
    assert gflops == pytest.approx(step_gflop / (ms / 1e3), rel=0.02)


def test_model_cases_one_per_distinct_model_in_experiment_order() -> None:
    cases = train_bench.model_cases("cpu")
    models = [get_experiment(name, "cpu").model.name for name in list_experiments()]
    assert [c.model for c in cases] == list(dict.fromkeys(models))
    # each case's experiment trains that model, and is the first one that does
    for case in cases:
        assert models[list_experiments().index(case.experiment)] == case.model
        assert models.index(case.model) == list_experiments().index(case.experiment)
    # a slug selects by paper name
    assert [c.model for c in train_bench.model_cases("cpu", ["hg-8s-1u-pil-hg-1s-2u"])] == ["HG-8s-1u-PIL(HG-1s-2u)"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--models", "HG-3s-1u"], "--models: unknown model 'HG-3s-1u'"),
    (["--steps", "0"], "--steps: expected a positive number of timed steps, got 0"),
    (["--threads", "0"], "--threads: expected a positive thread count, got 0"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys) -> None:
    code = cli_main(["bench", "train", "--scale", "smoke", "--out", str(tmp_path / "b.csv"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"piltools bench: {message}") and err.count("\n") == 1
    assert not (tmp_path / "b.csv").exists()


def test_unknown_variant_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--variant: expected one of today, tuned, got 'fast'"):
        train_bench.main(scale="smoke", variant="fast")


def test_tuned_step_is_bit_identical_to_todays_step() -> None:
    # tuned = RMSProp foreach (+ the process-wide allocator setting, which computes nothing)
    cfg = get_experiment("table2/hg-1s-1u-pil", "smoke")
    torch.manual_seed(0)
    today = build_model(cfg).to(memory_format=torch.channels_last)
    tuned = copy.deepcopy(today)
    initial = copy.deepcopy(today)
    step_today = make_train_step(cfg, today, torch.device("cpu"), channels_last=True)
    step_tuned = make_train_step(cfg, tuned, torch.device("cpu"), channels_last=True, foreach=True)
    for _ in range(2):  # the second step reads RMSProp's running averages
        step_today()
        step_tuned()
    for (name, p), q in zip(today.named_parameters(), tuned.parameters()):
        assert torch.equal(p, q), name
    assert not all(torch.equal(p, q) for p, q in zip(today.parameters(), initial.parameters()))


def test_retain_freed_memory_reports_whether_it_applied() -> None:
    # glibc Linux: mallopt accepts both settings; elsewhere it is a no-op that says so
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert train_bench.retain_freed_memory() is glibc


def test_speedup_row_is_the_ratio_of_cpu_medians() -> None:
    case = train_bench.ModelCase("HG-1s-1u", "table2/hg-1s-1u")
    # today 120 ms CPU (150 wall), tuned 100 ms CPU (110 wall): speedup 120 / 100 = 1.2 on CPU time
    result = train_bench.CaseResult(case, "HG-1s-1u (...)", batch_size=4, ms=50.0, cpu_ms=40.0, flops=2 * 10**9,
                                    compare_ms={"today": (150.0, 120.0), "tuned": (110.0, 100.0)})
    rows = train_bench.result_rows(result, "today", steps=3, peak=100.0)
    assert [r[0] for r in rows] == ["train_step_throughput", "train_step_gflops", "train_step_speedup"]
    assert rows[0][2] == pytest.approx(4 / 0.050)  # 4 images per 50 ms step = 80 images/s
    assert rows[1][2] == pytest.approx(2.0 / 0.050)  # 2 GFLOP per 50 ms = 40 GFLOP/s
    assert "= 40.0% of the 1024x1024 fp32 matmul peak 100.0 GFLOP/s" in rows[1][4]
    assert rows[2][2] == pytest.approx(1.2)
    assert "wall ms today 150.0, tuned 110.0 (x1.36)" in rows[2][4]
