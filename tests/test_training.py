"""Training engine at ``smoke`` scale: end to end, caching, determinism, resume after SIGKILL,
non-finite loss, transfer. Runs write under pytest's tmp_path; the smoke synthetic data is
generated once under data/synthetic/ (cached)."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from piltools.config import save_config
from piltools.experiments import get_experiment, with_changes
from piltools.lipcsv import read_lip_csv
from piltools.runs import METRIC_COLUMNS, load_checkpoint, read_metrics, run_dir_for
from piltools.training import NonFiniteLossError, run_config, run_experiment
from piltools.training import builders, loop, rng

REPO = Path(__file__).resolve().parents[1]
COMPARED = [c for c in METRIC_COLUMNS if c != "seconds"]  # wall time differs between runs


def _same_metrics(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        for c in COMPARED:
            va, vb = float(ra[c]), float(rb[c])
            assert (math.isnan(va) and math.isnan(vb)) or va == vb, (c, ra["epoch"], va, vb)


def test_lr_schedule_is_a_step_function_of_the_base_rate():
    cfg = get_experiment("table1/vgg16", "paper")
    # paper: 0.0025, halved at epochs 150, 170, 200 (0-based epoch index)
    assert [builders.lr_at(cfg, e) for e in (0, 149, 150, 169, 170, 200, 249)] == [
        0.0025, 0.0025, 0.00125, 0.00125, 0.000625, 0.0003125, 0.0003125]


def test_parsing_network_trains_at_its_multiple_of_the_scheduled_rate():
    cfg = get_experiment("table1/vgg16-pil", "cpu")
    assert cfg.train.parsing_lr_mult == 3.0  # cpu v2; the paper's single rate is 1
    model = builders.build_model(cfg)
    opt = builders.make_optimizer(cfg, model)
    base, parsing = opt.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)].split(".")[0] for p in parsing["params"]} == {"parsing_encoder"}
    assert not any(names[id(p)].startswith("parsing_encoder.") for p in base["params"])
    assert len(base["params"]) + len(parsing["params"]) == len(list(model.parameters()))
    builders.set_lr(opt, builders.lr_at(cfg, 7))  # after the cpu milestone: half the base rate
    assert base["lr"] == 0.5e-4 and parsing["lr"] == pytest.approx(1.5e-4)
    # one group at the paper's rate (the optimiser of the committed v1 runs), and for models without a parsing net
    paper = builders.make_optimizer(get_experiment("table1/vgg16-pil", "paper"), model)
    assert len(paper.param_groups) == 1 and paper.param_groups[0]["lr"] == 0.0025
    pose_only = get_experiment("table1/vgg16", "cpu")
    assert len(builders.make_optimizer(pose_only, builders.build_model(pose_only)).param_groups) == 1


def test_frozen_transferred_parsing_network_is_in_no_group():
    cfg = get_experiment("mpii/hg-8s-1u-pil-transfer", "smoke")
    model = builders.build_model(cfg)
    for p in model.parsing_encoder.parameters():
        p.requires_grad_(False)
    groups = builders.param_groups(cfg, model)
    assert [g["lr_scale"] for g in groups] == [1.0]
    assert sum(len(g["params"]) for g in groups) == sum(p.requires_grad for p in model.parameters())


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    import random

    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    state = rng.rng_state()
    from piltools.runs import save_checkpoint

    save_checkpoint(tmp_path / "s.pt", {"rng": state})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    rng.set_rng_state(load_checkpoint(tmp_path / "s.pt")["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], got[0]) and np.array_equal(expected[1], got[1]) and expected[2] == got[2]


def test_smoke_run_end_to_end_cached_and_deterministic(tmp_path):
    a = run_experiment("table1/vgg16-pil", "smoke", seed=0, out=tmp_path / "a", quiet=True)
    cfg = a.config
    assert not a.cached and a.run_dir == run_dir_for(cfg, tmp_path / "a", {"world_size": 1})
    for f in ("config.json", "version.txt", "machine.json", "metrics.csv", "eval.json", "last.pt",
              "predictions_val.csv"):
        assert (a.run_dir / f).is_file(), f
    rows = read_metrics(a.run_dir / "metrics.csv")
    assert [r["epoch"] for r in rows] == list(range(1, cfg.train.epochs + 1))
    assert [r["lr"] for r in rows] == [builders.lr_at(cfg, e) for e in range(cfg.train.epochs)]
    assert all(math.isfinite(r["loss"]) and 0 <= r["train_acc"] <= 100 for r in rows)
    table = a.eval["lip_pckh"]
    assert set(["Head", "Sho.", "Elb.", "Wri.", "Hip", "Knee", "Ank.", "U.Body", "PCK"]) <= set(table)
    assert a.eval["pck"] == table["PCK"] and a.eval["n_images"] == cfg.data.max_val
    # the prediction CSV is LIP format, one row per evaluated val image, in original image coordinates
    preds = read_lip_csv(a.run_dir / "predictions_val.csv")
    assert len(preds) == cfg.data.max_val
    assert "mIoU" in a.eval["parsing"]
    # checkpoint: tensors and plain values only
    state = load_checkpoint(a.run_dir / "last.pt")
    assert state["epoch"] == cfg.train.epochs and len(state["rows"]) == cfg.train.epochs
    # a completed run is returned from disk
    t0 = time.time()
    again = run_experiment("table1/vgg16-pil", "smoke", seed=0, out=tmp_path / "a", quiet=True)
    assert again.cached and time.time() - t0 < 2.0 and again.eval == a.eval
    # same config + seed in another folder -> the same numbers
    b = run_experiment("table1/vgg16-pil", "smoke", seed=0, out=tmp_path / "b", quiet=True)
    _same_metrics(a.metrics, b.metrics)
    assert b.eval["lip_pckh"] == a.eval["lip_pckh"]


def _kill_cfg():
    # many one-step epochs, so a SIGKILL after the second checkpoint lands mid-training
    cfg = get_experiment("table1/vgg16", "smoke", seed=5)
    return with_changes(cfg, train={"epochs": 60, "steps_per_epoch": 1, "milestones": (10,)},
                        data={"max_val": 4})


def test_sigkill_mid_training_then_resume_gives_the_uninterrupted_metrics(tmp_path):
    cfg = _kill_cfg()
    cfg_file = save_config(cfg, tmp_path / "cfg.json")
    out = tmp_path / "killed"
    run_dir = run_dir_for(cfg, out, {"world_size": 1})
    env = {**os.environ, "PILTOOLS_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "piltools", "train", "--config", str(cfg_file),
                             "--out", str(out), "--device", "cpu"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            metrics = run_dir / "metrics.csv"
            if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:  # header + 2 epochs
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "eval.json").exists(), "the run finished before it could be killed"
    done_before = load_checkpoint(run_dir / "last.pt")["epoch"]
    assert 2 <= done_before < cfg.train.epochs
    resumed = run_config(cfg, out=out, quiet=True)
    straight = run_config(cfg, out=tmp_path / "straight", quiet=True)
    assert len(resumed.metrics) == cfg.train.epochs
    _same_metrics(resumed.metrics, straight.metrics)
    assert resumed.eval["lip_pckh"] == straight.eval["lip_pckh"]


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    cfg = with_changes(get_experiment("table1/vgg16", "smoke"), train={"epochs": 3})
    calls = {"n": 0}
    real = loop.total_loss

    def poisoned(out, batch, beta):
        loss, parts = real(out, batch, beta=beta)
        calls["n"] += 1
        if calls["n"] == cfg.train.steps_per_epoch + 1:  # epoch 2, step 1
            loss = loss * float("nan")
        return loss, parts

    monkeypatch.setattr(loop, "total_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2 step 1.*last good checkpoint"):
        run_config(cfg, out=tmp_path, quiet=True)
    run_dir = run_dir_for(cfg, tmp_path, {"world_size": 1})
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 1
    assert not (run_dir / "eval.json").exists()
    assert all(torch.isfinite(v).all() for v in load_checkpoint(run_dir / "last.pt")["model"].values()
               if v.is_floating_point())


def test_transfer_loads_and_freezes_the_lip_parsing_side(tmp_path):
    res = run_experiment("mpii/hg-8s-1u-pil-transfer", "smoke", out=tmp_path, quiet=True)
    source = run_experiment("table2/hg-8s-1u-pil", "smoke", out=tmp_path, quiet=True)
    assert source.cached  # trained first, as the transfer source
    src = load_checkpoint(source.run_dir / "last.pt")["model"]
    dst = load_checkpoint(res.run_dir / "last.pt")["model"]
    frozen = [k for k in dst if k.startswith(("parsing_encoder.", "adapter."))]
    assert frozen, "no transferred weights found"
    for k in frozen:  # loaded and never updated (BN statistics included: eval mode)
        assert torch.equal(src[k], dst[k]), k
    trained = [k for k in dst if k.startswith("adaptive_conv.") and dst[k].is_floating_point()]
    assert trained and any(not torch.equal(src[k], dst[k]) for k in trained)  # U, V train from scratch
    assert "mpii_pckh" in res.eval and all(r["parsing_loss"] == 0.0 for r in res.metrics)
    cfg_saved = json.loads((res.run_dir / "config.json").read_text())
    assert cfg_saved["transfer_from"] == "table2/hg-8s-1u-pil"


def test_decode_people_groups_peaks_by_centroid_offset():
    from piltools.decoding import decode_people
    from piltools.losses import offset_loss

    k, size, stride, inp = 3, 16, 4, 64
    hm = np.zeros((k, size, size), dtype=np.float32)
    off = np.zeros((2 * k, size, size), dtype=np.float32)
    # person A: joints at cells (u, v) = (2, 2), (2, 6), (3, 10); centroid at input px (10, 30)
    # person B: the same joint types at (12, 2), (12, 6), (13, 10); centroid at input px (50, 30)
    for (cu, cx_c), person in (((2, 10.0), "A"), ((12, 50.0), "B")):
        for j, (du, v) in enumerate([(0, 2), (0, 6), (1, 10)]):
            u = cu + du
            hm[j, v, u] = 0.9 if person == "A" else 0.8
            x, y = (u + 0.5) * stride - 0.5, (v + 0.5) * stride - 0.5
            off[2 * j, v, u] = (cx_c - x) / inp
            off[2 * j + 1, v, u] = (30.0 - y) / inp
    people = decode_people(hm, off, stride, inp, threshold=0.1)
    assert people.shape == (2, k, 3)
    a, b = sorted(people, key=lambda p: p[0, 0])
    # cell u -> x = (u + 0.5) * 4 - 0.5: A's joint 0 at u=2 -> 9.5, B's at u=12 -> 49.5
    assert a[0, 0] == 9.5 and b[0, 0] == 49.5
    assert np.allclose(a[:, 2], 0.9) and np.allclose(b[:, 2], 0.8)
    # without offsets every candidate votes for itself: joints 8+ px apart in y cannot group (radius 6.4 px)
    apart = decode_people(hm, np.zeros_like(off), stride, inp, threshold=0.1)
    assert len(apart) == 6
    # masked loss: only defined entries count; |0.1| < beta=0.05? no -> smooth-L1 = 0.1 - 0.025 = 0.075
    pred = torch.zeros(1, 2 * k, 2, 2)
    target = torch.full((1, 2 * k, 2, 2), 0.1)
    mask = torch.zeros(1, k, 2, 2)
    mask[0, 1, 0, 0] = 1.0
    assert float(offset_loss(pred, target, mask)) == pytest.approx(0.075)
    assert float(offset_loss(pred, target, torch.zeros_like(mask))) == 0.0


def test_decode_people_places_peaks_as_decode_heatmaps_does():
    from piltools.decoding import decode_heatmaps, decode_people

    stride, inp = 4, 32
    hm = np.zeros((2, 8, 8), dtype=np.float32)
    hm[0, 3, 4], hm[0, 3, 5], hm[0, 2, 4] = 0.9, 0.5, 0.3  # right and upper neighbours higher: +1/4, -1/4 cell
    hm[1, 0, 7], hm[1, 1, 7] = 0.8, 0.6  # corner peak: no shift at the border
    people = decode_people(hm, np.zeros((4, 8, 8), dtype=np.float32), stride, inp, threshold=0.1, radius=100.0)
    assert people.shape == (1, 2, 3)
    # joint 0: cell (u, v) = (4, 3) -> x = (4 + 0.25 + 0.5) * 4 - 0.5 = 18.5, y = (3 - 0.25 + 0.5) * 4 - 0.5 = 12.5
    assert people[0, 0, :2].tolist() == [18.5, 12.5]
    assert people[0, 1, :2].tolist() == [29.5, 1.5]  # cell (7, 0) centre
    single = decode_heatmaps(torch.from_numpy(hm)[None], stride)[0]
    assert np.allclose(people[0, :, :2], single[:, :2].numpy())


def test_multi_person_smoke_run_reports_map(tmp_path):
    res = run_experiment("table5/baseline", "smoke", out=tmp_path, quiet=True)
    assert res.config.model.offset_head and res.config.data.kind == "pascal"
    assert 0.0 <= res.eval["mAP"] <= 100.0 and res.eval["pck"] == res.eval["mAP"]
    assert len(res.eval["AP"]) == res.config.model.num_joints
    assert all(math.isfinite(r["loss"]) for r in res.metrics)


def test_run_many_in_parallel_processes_matches_sequential(tmp_path):
    # Two smoke runs trained by two processes, then asked for again sequentially:
    # the second call must find both cached, with the same evaluation, in (name, seed) order.
    from piltools.training import run_many

    names = ["table1/vgg16", "table1/vgg16-self"]
    par = run_many(names, scale="smoke", seeds=[0], out=tmp_path, quiet=True, jobs=2)
    seq = run_many(names, scale="smoke", seeds=[0], out=tmp_path, quiet=True, jobs=1)
    assert [r.config.name for r in par] == names
    assert all(r.cached for r in seq)
    assert [r.run_dir for r in par] == [r.run_dir for r in seq]
    assert [r.eval["pck"] for r in par] == [r.eval["pck"] for r in seq]


def test_run_many_trains_a_transfer_source_beside_the_runs_that_load_nothing(tmp_path):
    # wave 1: the source table2/hg-8s-1u-pil and table1/vgg16 (two processes); wave 2: the transfer run
    from piltools.runs import is_complete
    from piltools.training import run_many

    names = ["mpii/hg-8s-1u-pil-transfer", "table1/vgg16"]
    res = run_many(names, scale="smoke", seeds=[0], out=tmp_path, quiet=True, jobs=2)
    assert [r.config.name for r in res] == names  # results in the order asked, whatever the waves
    source = run_experiment("table2/hg-8s-1u-pil", "smoke", out=tmp_path, quiet=True)
    assert source.cached and is_complete(source.run_dir)
    # the transfer run started (wrote its machine record) after its source had finished (written its evaluation)
    assert (res[0].run_dir / "machine.json").stat().st_mtime >= (source.run_dir / "eval.json").stat().st_mtime


def test_parsing_only_smoke_run_scores_parsing_alone(tmp_path):
    from piltools.datasets.specs import get_spec
    from piltools.reports import summary_row

    res = run_experiment("calib/parsing-hg-1s-1u", "smoke", seed=0, out=tmp_path, quiet=True)
    cfg = res.config
    assert cfg.table == "Calibration" and cfg.train.parsing_loss and cfg.model.name == "Parsing(HG-1s-1u)"
    rows = res.metrics
    assert [r["epoch"] for r in rows] == [1, 2] == list(range(1, cfg.train.epochs + 1))
    for r in rows:
        # cross-entropy alone (weight 1): the loss is the parsing term, no heatmap term, no pose accuracy
        assert r["loss"] == pytest.approx(r["parsing_loss"]) and r["parsing_loss"] > 0
        assert r["heatmap_loss"] == 0.0 and math.isnan(r["train_acc"])
        assert 0.0 <= r["val_pck"] <= 100.0  # val_pck holds the quick validation mIoU for parsing-only runs
    ev = res.eval
    assert "pck" not in ev and "lip_pckh" not in ev and not (res.run_dir / "predictions_val.csv").exists()
    parsing = ev["parsing"]
    labels = get_spec("lip").parsing_labels
    assert len(parsing["IoU"]) == len(labels) == 20
    assert list(parsing["IoU_by_class"]) == list(labels) and parsing["IoU_by_class"]["background"] == parsing["IoU"][0]
    assert 0.0 <= parsing["mIoU"] <= 100.0 and 0.0 <= parsing["pixel_acc"] <= 100.0
    # the last epoch's quick validation is the same measurement as the final one (single scale, no flip)
    assert rows[-1]["val_pck"] == pytest.approx(parsing["mIoU"])
    assert ev["eval_flip"] is False and ev["eval_scales"] == [1.0] and ev["n_images"] == cfg.data.max_val
    on_disk = json.loads((res.run_dir / "eval.json").read_text())
    assert on_disk["parsing"]["IoU_by_class"].keys() == parsing["IoU_by_class"].keys()
    row = summary_row(res)
    assert math.isnan(row["PCK"]) and row["parsing_mIoU"] == parsing["mIoU"]


def test_parsing_only_run_without_parsing_loss_is_refused(tmp_path):
    cfg = with_changes(get_experiment("calib/parsing-vgg16", "smoke"), train={"parsing_loss": False})
    with pytest.raises(ValueError, match="parsing_loss is off"):
        run_config(cfg, out=tmp_path, quiet=True)
