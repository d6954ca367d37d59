"""DistributedDataParallel through torchrun: 2 CPU processes on gloo at smoke scale."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from piltools.experiments import get_experiment
from piltools.runs import read_metrics, run_dir_for

REPO = Path(__file__).resolve().parents[1]


def test_torchrun_two_gloo_processes_train_a_smoke_run(tmp_path):
    cfg = get_experiment("table1/vgg16-pil", "smoke")
    env = {**os.environ, "PILTOOLS_QUIET": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "piltools", "train", cfg.name, "--scale", "smoke", "--out", str(tmp_path), "--device", "cpu"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = run_dir_for(cfg, tmp_path, {"world_size": 2})
    ev = json.loads((run_dir / "eval.json").read_text())
    assert ev["world_size"] == 2 and "lip_pckh" in ev
    machine = json.loads((run_dir / "machine.json").read_text())
    assert machine["world_size"] == 2
    assert len(json.loads((run_dir / "code.json").read_text())["fingerprint"]) == 16  # stale-run check possible
    rows = read_metrics(run_dir / "metrics.csv")
    assert len(rows) == cfg.train.epochs  # rank 0 alone wrote: no duplicated rows
    # exactly one run directory: the second rank wrote nothing of its own
    assert [p.name for p in (tmp_path / "smoke" / "table1-vgg16-pil").iterdir()] == [run_dir.name]
    # rank 0 printed the summary line once
    printed = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1 and printed[0]["epochs"] == cfg.train.epochs
