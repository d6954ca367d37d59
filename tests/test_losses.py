"""Losses on hand-placed tensors, with the expected value derived beside each assert."""
from __future__ import annotations

import math

import pytest
import torch

from piltools.losses import heatmap_loss, parsing_loss, total_loss
from piltools.models.output import PoseOutput


def _maps(values: list[float]) -> torch.Tensor:
    """(1, K, 1, 1) heatmaps with one value per channel."""
    return torch.tensor(values).view(1, -1, 1, 1)


def test_heatmap_loss_masks_joints_and_sums_stacks() -> None:
    target = _maps([0.0, 1.0])
    mask = torch.tensor([[1.0, 0.0]])
    stack1 = _maps([1.0, 3.0]).requires_grad_()
    stack2 = _maps([0.5, -7.0])
    # stack 1: joint 0 error 1^2 = 1, joint 1 masked -> 1 / 1 counted element = 1
    # stack 2: 0.5^2 = 0.25 -> total 1.25
    loss = heatmap_loss([stack1, stack2], target, mask)
    assert loss.item() == pytest.approx(1.25)
    loss.backward()
    # d/dpred of (pred - target)^2 = 2 (1 - 0) = 2 for joint 0; 0 for the masked joint
    assert stack1.grad.view(-1).tolist() == pytest.approx([2.0, 0.0])


def test_heatmap_loss_background_always_counted() -> None:
    target = _maps([0.0, 1.0, 1.0])  # 2 joints + background
    pred = _maps([1.0, 3.0, 2.0])
    mask = torch.tensor([[1.0, 0.0]])
    # counted: joint 0 (1^2 = 1) and background (1^2 = 1) -> 2 / 2 = 1
    assert heatmap_loss([pred], target, mask).item() == pytest.approx(1.0)
    # nothing counted (no background, all masked) -> 0, still differentiable
    p = _maps([5.0, 5.0]).requires_grad_()
    zero = heatmap_loss([p], _maps([0.0, 0.0]), torch.zeros(1, 2))
    assert zero.item() == 0.0
    zero.backward()
    assert p.grad is not None and not p.grad.any()  # a zero gradient reached the prediction
    with pytest.raises(ValueError, match="K or K\\+1"):
        heatmap_loss([pred], target, torch.ones(1, 5))


def test_parsing_loss_ignores_255() -> None:
    logits = torch.zeros(1, 2, 1, 2, requires_grad=True)  # two classes, equal logits
    target = torch.tensor([[[0, 255]]])
    # one labelled pixel with uniform 2-class softmax: -log(1/2) = ln 2
    assert parsing_loss(logits, target).item() == pytest.approx(math.log(2))
    all_ignored = parsing_loss(logits, torch.full((1, 1, 2), 255))
    assert all_ignored.item() == 0.0
    all_ignored.backward()  # connected to the graph


def test_total_loss_beta_and_has_parsing() -> None:
    heat = _maps([1.0, 0.0])  # vs target 0 -> heatmap loss (1 + 0) / 2 = 0.5
    logits = torch.zeros(1, 2, 1, 2)
    out = PoseOutput(heatmaps=[heat], parsing=logits)
    batch = {
        "heatmaps": _maps([0.0, 0.0]),
        "joint_mask": torch.ones(1, 2),
        "parsing": torch.tensor([[[0, 1]]]),
        "has_parsing": torch.tensor([True]),
    }
    loss, parts = total_loss(out, batch, beta=0.01)
    # parsing: both pixels -log(1/2) = ln 2 -> 0.5 + 0.01 ln 2
    assert parts["heatmap"] == pytest.approx(0.5)
    assert parts["parsing"] == pytest.approx(math.log(2))
    assert loss.item() == pytest.approx(0.5 + 0.01 * math.log(2))
    # a sample without parsing labels contributes no parsing loss
    batch["has_parsing"] = torch.tensor([False])
    loss, parts = total_loss(out, batch)
    assert parts["parsing"] == 0.0 and loss.item() == pytest.approx(0.5)
    # a model without a parsing branch needs no parsing target
    loss, parts = total_loss(PoseOutput(heatmaps=[heat]), {"heatmaps": batch["heatmaps"], "joint_mask": batch["joint_mask"]})
    assert loss.item() == pytest.approx(0.5) and parts["parsing"] == 0.0
    with pytest.raises(KeyError, match="joint_mask"):
        total_loss(out, {"heatmaps": batch["heatmaps"]})


def test_total_loss_parsing_only_is_cross_entropy_with_weight_one() -> None:
    # logits favour class 0 by 1 at both pixels: p(0) = e / (e + 1), p(1) = 1 / (e + 1)
    logits = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]]], requires_grad=True)  # (1, 2, 1, 2)
    out = PoseOutput(heatmaps=[], parsing=logits)
    assert out.parsing_only
    # no heatmap target needed: a parsing-only batch has only the parsing labels
    batch = {"parsing": torch.tensor([[[0, 1]]]), "has_parsing": torch.tensor([True])}
    ce = (-math.log(math.e / (math.e + 1)) - math.log(1 / (math.e + 1))) / 2  # mean over the 2 pixels
    for beta in (0.01, 1.0, 7.0):  # beta weighs parsing against pose; with no pose side the weight is 1
        loss, parts = total_loss(out, batch, beta=beta)
        assert loss.item() == pytest.approx(ce) and parts == pytest.approx({"heatmap": 0.0, "parsing": ce})
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # samples without labels are ignored as for PIL models: nothing labelled -> 0
    loss, _ = total_loss(out, {**batch, "has_parsing": torch.tensor([False])})
    assert loss.item() == 0.0
    with pytest.raises(KeyError, match="'parsing'"):
        total_loss(out, {"has_parsing": batch["has_parsing"]})
    # no heatmaps and no parsing logits: nothing to train, said explicitly
    with pytest.raises(ValueError, match="parsing-only output"):
        total_loss(PoseOutput(heatmaps=[]), batch)
