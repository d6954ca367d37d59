"""The controls beyond the paper: oracle parsing, no parsing supervision, shuffled kernels (Table 3) and the
random frozen PIL (Table 6): their models, configs and runs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from piltools.config import ExperimentConfig
from piltools.decoding import predict_heatmaps
from piltools.errors import InputError
from piltools.experiments import get_experiment, table3_controls, with_changes
from piltools.models import create_model
from piltools.models.pil import ShuffledKernels, oracle_flip_perm, oracle_input
from piltools.planning import estimate_run
from piltools.runs import read_metrics
from piltools.training.runner import run_config, run_dir_of

P = 20  # LIP parsing classes


def _tiny_pil(parsing_input: str = "image") -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("HG-2s-1u-PIL(HG-1s-2u)", width=16, adapter_pools=1, num_parsing=P,
                        parsing_input=parsing_input).eval()


def test_oracle_input_is_the_image_then_the_one_hot_of_the_labels() -> None:
    images = torch.randn(2, 3, 4, 4)
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    labels[0, 0, 0] = 5
    labels[1, 1, 2] = 255  # unlabelled
    x = oracle_input(images, labels, P)
    assert x.shape == (2, 3 + P, 4, 4)
    assert torch.equal(x[:, :3], images)
    assert x[0, 3 + 5, 0, 0] == 1 and x[0, 3 + 0, 0, 0] == 0
    assert x[1, 3:, 1, 2].sum() == 0  # the ignore label is all zero
    assert torch.equal(x[:, 3:].sum(1)[0], torch.ones(4, 4))  # one class per labelled pixel


def test_oracle_flip_perm_keeps_the_image_and_swaps_sides() -> None:
    assert oracle_flip_perm([0, 2, 1]) == [0, 1, 2, 3, 5, 4]
    with pytest.raises(ValueError, match="own inverse"):
        oracle_flip_perm([1, 2, 0])


def test_flip_test_mirrors_an_oracle_input_with_its_channels_permuted() -> None:
    seen: list[torch.Tensor] = []

    class Recorder(torch.nn.Module):
        stride = 4

        def forward(self, x: torch.Tensor):  # noqa: ANN201
            seen.append(x.clone())
            return type("Out", (), {"final": torch.zeros(x.shape[0], 2, x.shape[2] // 4, x.shape[3] // 4)})()

    x = torch.randn(1, 5, 8, 8)
    predict_heatmaps(Recorder(), x, flip_perm=[1, 0], input_flip_perm=[0, 1, 2, 4, 3])
    assert torch.equal(seen[0], x)
    assert torch.equal(seen[1][:, :3], x[:, :3].flip(-1))
    assert torch.equal(seen[1][:, 3], x[:, 4].flip(-1)) and torch.equal(seen[1][:, 4], x[:, 3].flip(-1))


def test_oracle_model_parses_the_labels_and_refuses_an_image_alone() -> None:
    model = _tiny_pil("oracle")
    images = torch.randn(2, 3, 64, 64)
    labels = torch.randint(0, P, (2, 64, 64))
    out = model(oracle_input(images, labels, P))
    assert out.final.shape == (2, 16, 16, 16) and out.parsing.shape == (2, P, 64, 64)
    # the pose side sees only the image: other labels change the output through the kernels alone
    other = model(oracle_input(images, (labels + 1) % P, P))
    assert not torch.allclose(out.kernels, other.kernels)
    with pytest.raises(ValueError, match=f"{3 + P} channels; got 3"):
        model(images)
    with pytest.raises(ValueError, match="needs a PIL model"):
        create_model("HG-2s-1u", width=16, parsing_input="oracle")


def test_shuffled_kernels_give_each_image_the_next_images_kernels() -> None:
    model = _tiny_pil()
    shuffled = ShuffledKernels(model)
    images = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        own = model(images)
        out = shuffled(images)
        want = model(images, kernels=own.kernels[[1, 2, 0]])
        assert torch.allclose(out.final, want.final) and not torch.allclose(out.final, own.final)
        assert torch.equal(out.parsing, own.parsing)  # the parsing output stays the image's own
        single = shuffled(images[:1])  # a batch of one takes the first kernels of the last larger batch
        assert torch.allclose(single.final, model(images[:1], kernels=own.kernels[:1]).final)
    with pytest.raises(ValueError, match="batches of 2 or more"):
        ShuffledKernels(model)(images[:1])
    with pytest.raises(TypeError, match="PIL model"):
        ShuffledKernels(create_model("HG-1s-1u", width=16))


def test_the_controls_resolve_to_the_table3_pose_network_at_each_scale() -> None:
    assert table3_controls() == ("table3/oracle-parsing", "table3/no-parsing-loss", "table3/shuffled-kernels")
    cpu = {name: get_experiment(name, "cpu") for name in table3_controls()}
    assert {c.model.name for c in cpu.values()} == {"HG-2s-1u-PIL(HG-1s-2u)"}
    assert cpu["table3/oracle-parsing"].model.parsing_input == "oracle"
    assert cpu["table3/no-parsing-loss"].train.beta == 0.0
    assert cpu["table3/shuffled-kernels"].train.eval_kernels == "shuffled"
    assert cpu["table3/shuffled-kernels"].evaluate_from == "table2/hg-2s-1u-pil"  # the run holding the 2u row
    paper = get_experiment("table3/shuffled-kernels", "paper")
    assert paper.model.name == "HG-4s-2u-PIL(HG-1s-2u)" and paper.evaluate_from == "table2/hg-4s-2u-pil"
    random = get_experiment("mpii/hg-8s-1u-pil-random", "cpu")
    assert random.train.freeze_pil and not random.train.parsing_loss and random.transfer_from is None


def test_control_settings_are_checked() -> None:
    cfg = get_experiment("mpii/hg-8s-1u", "smoke")
    with pytest.raises(InputError, match="needs parsing labels"):
        with_changes(cfg, model={"parsing_input": "oracle"})
    with pytest.raises(ValueError, match="eval_kernels must be one of"):
        with_changes(cfg, train={"eval_kernels": "random"})
    with pytest.raises(InputError, match="freeze_pil"):
        with_changes(get_experiment("table2/hg-2s-1u-pil", "smoke"), train={"freeze_pil": True})
    transfer = get_experiment("mpii/hg-8s-1u-pil-transfer", "smoke")
    with pytest.raises(InputError, match="exclude each other"):
        transfer.replace(evaluate_from="table2/hg-8s-1u-pil").validate()


def test_controls_leave_the_run_ids_of_other_experiments_alone(tmp_path: Path) -> None:
    # the new config fields are hash-neutral at their defaults; these ids are the cpu runs trained before them
    assert run_dir_of(get_experiment("table2/hg-8s-1u-pil", "cpu", 0), tmp_path).name == "3be2a2af86c7"
    assert run_dir_of(get_experiment("table2/hg-1s-1u", "cpu", 0), tmp_path).name == "64c1a672b4bf"


def test_an_evaluation_run_trains_nothing_and_names_the_run_it_scores(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILTOOLS_RECORDS_DIR", str(tmp_path / "records"))
    cfg = get_experiment("table3/shuffled-kernels", "smoke")
    result = run_config(cfg, out=tmp_path / "runs", quiet=True)
    source = run_dir_of(get_experiment(cfg.evaluate_from, "smoke"), tmp_path / "runs")
    assert result.eval["evaluated_run"] == source.name and result.eval["eval_kernels"] == "shuffled"
    assert read_metrics(result.run_dir / "metrics.csv") == [] and not (result.run_dir / "last.pt").exists()
    assert estimate_run(cfg, step_seconds=1.0).epochs == 0
    other = cfg.replace(model=get_experiment("table2/hg-1s-1u-pil", "smoke").model)
    with pytest.raises(InputError, match="expected the same model"):
        run_config(other, out=tmp_path / "runs", quiet=True)


def test_a_frozen_random_pil_keeps_its_initial_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILTOOLS_RECORDS_DIR", str(tmp_path / "records"))
    cfg: ExperimentConfig = with_changes(get_experiment("mpii/hg-8s-1u-pil-random", "smoke"),
                                         model={"name": "HG-2s-1u-PIL(HG-1s-2u)"})
    result = run_config(cfg, out=tmp_path / "runs", quiet=True)
    trained = torch.load(result.run_dir / "last.pt", weights_only=False)["model"]
    torch.manual_seed(cfg.seed)
    fresh = create_model(cfg.model.name, **cfg.model.overrides()).state_dict()
    frozen = [k for k in fresh if k.startswith(("parsing_encoder.", "adapter."))]
    assert frozen and all(torch.equal(trained[k], fresh[k]) for k in frozen)
    assert any(not torch.equal(trained[k], fresh[k]) for k in fresh if k.startswith("pose_net."))
