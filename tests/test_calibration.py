"""Difficulty calibration on the pose-only baseline."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from piltools.__main__ import main as cli_main
from piltools.experiments import get_experiment
from piltools.training.calibration import (
    BASELINE,
    calibration_config,
    calibration_frame,
    plot_calibration,
    run_calibration,
)


def test_calibration_config_levels() -> None:
    base = get_experiment(BASELINE, "smoke", 1)
    assert calibration_config("default", "smoke", 1) == base  # shared with the Table 2 run
    hard = calibration_config("hard", "smoke", 1)
    assert hard.data.synthetic.difficulty == "hard"
    assert hard.data.root == f"{base.data.root}-hard" and hard.data.root != base.data.root
    assert hard.train == base.train and hard.model == base.model
    with pytest.raises(ValueError, match="data.synthetic.difficulty"):
        calibration_config("brutal", "smoke")
    with pytest.raises(ValueError, match="real data"):
        calibration_config("hard", "paper")


def test_calibration_runs_table_and_figure(tmp_path: Path) -> None:
    results = run_calibration(["hard", "default"], "smoke", seeds=[0], out=tmp_path / "runs", quiet=True)
    frame = calibration_frame(results)
    assert list(frame["level"]) == ["hard", "default"]
    assert (frame["experiment"] == BASELINE).all() and (frame["scale"] == "smoke").all()
    epochs = get_experiment(BASELINE, "smoke").train.epochs
    assert all(len(c.split(";")) == epochs for c in frame["val_pck_by_epoch"])
    assert frame["PCK"].between(0, 100).all()
    # the two levels trained on different data folders
    assert frame["run_id"].nunique() == 2
    fig = plot_calibration(frame)
    assert len(fig.axes[0].lines) == 4  # a curve and a final dot per run


def test_calibrate_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "brutal"]) == 2
    assert "unknown difficulty level" in capsys.readouterr().err
    csv, png = tmp_path / "cal.csv", tmp_path / "cal.png"
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "--runs", str(tmp_path / "runs"),
                     "--csv", str(csv), "--figure", str(png), "--quiet"]) == 0
    table = pd.read_csv(csv)
    assert list(table["level"]) == ["mild"] and table.loc[0, "lr"] > 0
    assert png.stat().st_size > 10_000
    # --append keeps other rows, replaces a re-run (level, seed) and sorts hardest level first
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "hard", "--runs", str(tmp_path / "runs"),
                     "--csv", str(csv), "--figure", str(png), "--quiet", "--append"]) == 0
    table = pd.read_csv(csv)
    assert list(table["level"]) == ["hard", "mild"]
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "other.csv", index=False)
    assert cli_main(["calibrate", "--scale", "smoke", "--levels", "mild", "--runs", str(tmp_path / "runs"),
                     "--csv", str(tmp_path / "other.csv"), "--figure", str(png), "--quiet", "--append"]) == 2
