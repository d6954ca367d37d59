"""Multi-person predictions image by image (piltools.inspection.people): per-image mAP, the rule picking the
figure's images, the people drawn, and the recomputation from a run's checkpoint matching its evaluation."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from piltools.errors import InputError
from piltools.experiments import get_experiment
from piltools.inspection import people as P
from piltools.runs import CheckpointNotFoundError
from piltools.training import run_experiment

K = 14


def _person(x0: float) -> np.ndarray:
    """A person of 14 valid joints on a row at y = 50, x = x0, x0 + 2, ..."""
    joints = np.ones((K, 3))
    joints[:, 0] = x0 + 2.0 * np.arange(K)
    joints[:, 1] = 50.0
    return joints


def test_image_maps_score_each_image_alone() -> None:
    gt = _person(10.0)[None]  # (1, K, 3)
    box = np.array([[0.0, 0.0, 30.0, 40.0]])  # diagonal 50: reference 0.1 x 50 = 5 px, a hit within 2.5 px
    exact = _person(10.0)[None]
    off = _person(10.0)[None]
    off[0, :7, 0] += 3.0  # half the joints 3 px off (> 2.5): missed
    empty = np.zeros((0, K, 3))
    unannotated = _person(10.0)[None]
    unannotated[..., 2] = 0.0
    maps = P.image_maps([exact, off, empty, exact], [gt, gt, gt, unannotated], [box, box, box, box])
    # exact: every joint's only detection is a hit -> AP 100; off: the 7 moved joint types have AP 0 and the
    # others 100 -> 50; no prediction -> 0; no annotated joint -> NaN
    assert maps[:3] == pytest.approx([100.0, 50.0, 0.0]) and math.isnan(maps[3])


def test_ground_truth_grouping_keeps_the_placement_and_drops_the_grouping() -> None:
    gt = np.stack([_person(10.0), _person(60.0)])  # two people, (2, K, 3)
    boxes = np.array([[0.0, 0.0, 30.0, 40.0]] * 2)  # tolerance 2.5 px each
    # the joints are placed exactly, but grouped wrongly: each predicted "person" takes half of both people
    mixed = np.stack([_person(10.0), _person(60.0)])
    mixed[0, 7:], mixed[1, 7:] = _person(60.0)[7:], _person(10.0)[7:]
    mixed[..., 2] = 0.9
    val = P.ValPeople(experiment="x", kind="pascal", names=["a"], image_paths=[Path("a.jpg")], gt=[gt],
                      boxes=[boxes], people=[mixed], mAP=float("nan"))
    # its own grouping: each predicted person matches one annotated person and half of its joints lie on the
    # other one, so half the detections of every joint type are false positives
    assert val.image_maps()[0] < 100.0
    assert val.ground_truth_grouping_map() == {"mAP_gt_grouping": pytest.approx(100.0)}
    # a joint placed 3 px off (> 2.5) stays a miss when the truth groups
    shifted = mixed.copy()
    shifted[:, 0, 0] += 3.0
    val.people = [shifted]
    assert val.ground_truth_grouping_map()["mAP_gt_grouping"] == pytest.approx(100.0 * 13 / 14)


def test_pick_examples_takes_the_largest_gains_then_losses_once_each() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    base = np.array([10.0, 50.0, 20.0, 30.0, np.nan, 40.0])
    pil = np.array([30.0, 20.0, 40.0, 30.0, 90.0, 45.0])
    picks = P.pick_examples(names, base, pil, n=2)
    # differences a +20, b -30, c +20, d 0, e NaN (skipped), f +5: gains a, c (tie: split order), losses b, d
    assert list(picks.name) == ["a", "c", "b", "d"] and list(picks.position) == [0, 2, 1, 3]
    assert list(picks.difference) == [20.0, 20.0, -30.0, 0.0]
    assert list(picks.why) == ["PIL's largest gains"] * 2 + ["PIL's largest losses"] * 2
    # three valid images, two per side: the losses side gets what the gains left
    few = P.pick_examples(["x", "y", "z"], np.array([0.0, 0.0, 0.0]), np.array([3.0, 2.0, 1.0]), n=2)
    assert list(few.name) == ["x", "y", "z"]


def test_strongest_people_rank_by_the_sum_of_joint_scores() -> None:
    people = np.full((3, K, 3), np.nan)
    people[0, :2] = (1.0, 1.0, 0.9)  # two joints at 0.9: 1.8
    people[1, :5] = (1.0, 1.0, 0.5)  # five at 0.5: 2.5
    people[2, :1] = (1.0, 1.0, 0.95)  # one: 0.95
    kept = P.strongest_people(people, 2)
    assert kept.shape == (2, K, 3) and np.nansum(kept[0, :, 2]) == pytest.approx(2.5)
    assert np.nansum(kept[1, :, 2]) == pytest.approx(1.8)
    assert P.strongest_people(np.zeros((0, K, 3)), 3).shape == (0, K, 3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A smoke multi-person run with its checkpoint."""
    return run_experiment("table5/baseline", "smoke", seed=0, out=tmp_path_factory.mktemp("runs"), quiet=True)


def test_recomputed_people_give_the_runs_own_map_and_a_figure(trained) -> None:
    import matplotlib

    matplotlib.use("Agg")
    val = P.predict_val_people(trained.config, trained.run_dir)
    n = trained.config.data.max_val
    assert len(val.names) == len(val.people) == len(val.gt) == len(val.image_paths) == n
    assert val.mAP == trained.eval["mAP"]  # the evaluation's own code: the same number, exactly
    assert all(p.shape[1:] == (K, 3) for p in val.people) and all(Path(p).is_file() for p in val.image_paths)
    maps = val.image_maps()
    picks = P.pick_examples(val.names, maps, maps[::-1].copy(), n=1)
    fig = P.people_figure(val, val, picks)
    assert len(fig.axes) == 3 * len(picks)
    other = P.ValPeople(**{**val.__dict__, "names": val.names[::-1]})
    with pytest.raises(InputError, match="different val images"):
        P.people_figure(val, other, picks)


def test_without_a_checkpoint_or_for_single_person_data_it_says_so(trained, tmp_path: Path) -> None:
    with pytest.raises(CheckpointNotFoundError):
        P.predict_val_people(trained.config, tmp_path)  # a run record: no last.pt
    with pytest.raises(InputError, match="lip is single-person"):
        P.predict_val_people(get_experiment("table2/hg-1s-1u", "smoke"), trained.run_dir)
