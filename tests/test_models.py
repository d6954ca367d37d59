"""Every registered model: forward + backward at a tiny size, shapes as documented, names resolve."""
from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from piltools.errors import InputError
from piltools.models import (
    MODELS,
    ParameterAdapter,
    PoseOutput,
    create_model,
    list_models,
    resolve_name,
    slug,
    uses_vgg,
)

torch.set_num_threads(1)

INPUT = 64
BATCH = 2
NUM_PARSING = 20
PAPER_NAMES = [
    "VGG16", "VGG16-Add", "VGG16-Multi", "VGG16-Concat", "VGG16-MTL", "VGG16-Self", "VGG16-PIL(VGG16)",
    "HG-1s-1u", "HG-1s-1u-PIL(HG-1s-1u)", "HG-2s-1u", "HG-2s-1u-PIL(HG-1s-2u)", "HG-4s-2u",
    "HG-4s-2u-PIL(HG-1s-1u)", "HG-4s-2u-PIL(HG-1s-2u)", "HG-4s-2u-PIL(HG-1s-4u)", "HG-4s-2u-PIL(HG-1s-8u)",
    "HG-8s-1u", "HG-8s-1u-PIL(HG-1s-2u)",
]
#: Table 3 at the cpu scale (pose network HG-2s-1u, experiments.SCALES["cpu"].table3_pose); not paper rows
CPU_TABLE3_NAMES = ["HG-2s-1u-PIL(HG-1s-1u)", "HG-2s-1u-PIL(HG-1s-4u)", "HG-2s-1u-PIL(HG-1s-8u)"]
PARSING_NAMES = ["Parsing(VGG16)", "Parsing(HG-1s-1u)", "Parsing(HG-1s-2u)", "Parsing(HG-1s-4u)", "Parsing(HG-1s-8u)"]


def tiny_overrides(name: str) -> dict:
    # 64x64 input: VGG features are 8x8 (adapter without pools: 8 -> 3), HG features 16x16
    # (one pool: 16 -> 7 -> 3), so both predict 3x3 kernels.
    if uses_vgg(name):
        return dict(width=8, adapter_pools=0)
    return dict(width=16, adapter_pools=1)


def expected_stacks(name: str) -> int:
    match = re.match(r"HG-(\d+)s", name)
    return int(match.group(1)) if match else 1


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("options", [{}, {"background": True, "offset_head": True, "num_joints": 14}])
def test_forward_backward_shapes_and_gradients(name: str, options: dict) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_parsing=NUM_PARSING, **tiny_overrides(name), **options)
    num_joints = options.get("num_joints", 16)
    images = torch.randn(BATCH, 3, INPUT, INPUT)
    out = model(images)

    assert isinstance(out, PoseOutput)
    stride = 8 if uses_vgg(name) else 4
    h = INPUT // stride
    assert model.stride == stride
    parsing_only = name in PARSING_NAMES
    assert out.parsing_only == parsing_only == getattr(model, "parsing_only", False)
    if parsing_only:  # no pose side: the pose overrides are accepted and unused
        assert out.heatmaps == [] and model.num_heatmaps == 0
    else:
        assert model.num_joints == num_joints
        assert model.num_heatmaps == num_joints + int(options.get("background", False))
        assert len(out.heatmaps) == expected_stacks(name)
    for hm in out.heatmaps:
        assert hm.shape == (BATCH, model.num_heatmaps, h, h)

    has_parsing = "PIL" in name or parsing_only or name in ("VGG16-Add", "VGG16-Multi", "VGG16-Concat", "VGG16-MTL")
    assert model.has_parsing == has_parsing
    assert (out.parsing is not None) == has_parsing
    if has_parsing:
        assert out.parsing.shape == (BATCH, NUM_PARSING, INPUT, INPUT)

    is_pil = "PIL" in name
    assert (out.kernels is not None) == is_pil and (out.adapted is not None) == is_pil
    if is_pil:
        channels = model.adaptive_conv.pre.in_channels
        k = ParameterAdapter.kernel_size(h, tiny_overrides(name)["adapter_pools"])
        assert k == 3 and model.kernel_size(INPUT) == k
        assert out.kernels.shape == (BATCH, channels, k, k)
        assert out.adapted.shape == (BATCH, channels, h, h)

    if options.get("offset_head") and not parsing_only:
        assert out.offsets.shape == (BATCH, 2 * num_joints, h, h)
    else:
        assert out.offsets is None

    # A loss touching every output; squared so BN-normalised sums do not cancel.
    loss = sum((hm ** 2).mean() for hm in out.heatmaps)
    if out.parsing is not None:
        loss = loss + (out.parsing ** 2).mean()
    if out.offsets is not None:
        loss = loss + (out.offsets ** 2).mean()
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: {pname} has a non-finite gradient"
    if is_pil:  # the predicted kernels really drive the pose output
        assert any(p.grad.abs().sum() > 0 for p in model.adapter.parameters())


@pytest.mark.parametrize("name", ["HG-2s-1u", "HG-2s-1u-PIL(HG-1s-2u)", "VGG16-MTL"])
def test_separate_offset_head_leaves_the_pose_network_to_the_heatmaps(name: str) -> None:
    # an offset-only loss: the "shared" head back-propagates it into the pose network, the "separate" one does not
    images = torch.randn(BATCH, 3, INPUT, INPUT)
    touched = {}
    for design in ("shared", "separate"):
        torch.manual_seed(0)
        model = create_model(name, offset_head=True, offset_design=design, **tiny_overrides(name))
        out = model(images)
        (out.offsets ** 2).mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.offset_head.parameters())
        touched[design] = any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.pose_net.parameters())
        convs = [m for m in model.offset_head.modules() if isinstance(m, nn.Conv2d)]
        assert [c.kernel_size for c in convs] == ([(1, 1)] if design == "shared" else [(3, 3), (3, 3), (1, 1)])
        assert out.offsets.shape[1] == 2 * model.num_joints
    assert touched == {"shared": True, "separate": False}
    with pytest.raises(ValueError, match="offset head design 'joint' is not one of shared, separate"):
        create_model("HG-1s-1u", offset_head=True, offset_design="joint", **tiny_overrides("HG-1s-1u"))


def test_a_shared_offset_head_loads_the_checkpoints_of_the_bare_conv_it_was() -> None:
    # before the designs existed the offset head was a bare 1x1 conv: its weights sat at offset_head.weight / .bias
    torch.manual_seed(0)
    model = create_model("HG-1s-1u", offset_head=True, **tiny_overrides("HG-1s-1u"))
    state = model.state_dict()
    old = {k.replace("offset_head.body.0.", "offset_head."): v for k, v in state.items()}
    assert "offset_head.weight" in old and "offset_head.body.0.weight" not in old
    torch.manual_seed(1)
    fresh = create_model("HG-1s-1u", offset_head=True, **tiny_overrides("HG-1s-1u"))
    fresh.load_state_dict(old)
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in state.items())
    separate = create_model("HG-1s-1u", offset_head=True, offset_design="separate", **tiny_overrides("HG-1s-1u"))
    with pytest.raises(RuntimeError, match="Unexpected key.*offset_head.weight"):  # a separate head is no bare conv
        separate.load_state_dict(old)


@pytest.mark.parametrize("name", [n for n in list_models("*PIL*")])
def test_pil_submodules_for_transfer(name: str) -> None:
    model = create_model(name, **tiny_overrides(name))
    assert model.transfer_modules() == [model.parsing_encoder, model.adapter]
    pre, post = model.adaptive_conv.pre, model.adaptive_conv.post
    assert isinstance(pre, nn.Conv2d) and isinstance(post, nn.Conv2d)
    assert pre.kernel_size == (1, 1) and pre.in_channels == pre.out_channels == post.in_channels == post.out_channels


def test_pil_stack_option_moves_the_adaptive_conv() -> None:
    images = torch.randn(BATCH, 3, INPUT, INPUT)
    for pil_stack, first_stack_uses_parsing in [(-1, False), (1, False), (0, True)]:
        model = create_model("HG-2s-1u-PIL(HG-1s-2u)", width=16, adapter_pools=1, pil_stack=pil_stack)
        out = model(images)
        grads = torch.autograd.grad(out.heatmaps[0].pow(2).sum(), list(model.adapter.parameters()), allow_unused=True)
        assert all(g is not None for g in grads) == first_stack_uses_parsing, pil_stack
    with pytest.raises(ValueError, match="out of range"):
        create_model("HG-2s-1u-PIL(HG-1s-2u)", width=16, pil_stack=2)
    with pytest.raises(ValueError, match="one stack"):
        create_model("VGG16-PIL(VGG16)", width=8, pil_stack=1)


@pytest.mark.parametrize(("name", "width", "k"), [("HG-1s-1u-PIL(HG-1s-1u)", 8, 7), ("VGG16-PIL(VGG16)", 4, 3)])
def test_paper_input_gives_paper_kernel_size(name: str, width: int, k: int) -> None:
    # the paper's sizes: 256 input -> 7x7 kernels from 64x64 HG features, 3x3 from 32x32 VGG features.
    model = create_model(name, width=width).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 256))
    assert out.kernels.shape[-2:] == (k, k)
    assert out.parsing.shape[-2:] == (256, 256)


def test_too_small_input_for_the_adapter_raises() -> None:
    model = create_model("VGG16-PIL(VGG16)", width=8)  # 64 input -> 8x8 features: empty kernel with 2 pools
    with pytest.raises(ValueError, match="adapter_pools"):
        model(torch.randn(1, 3, INPUT, INPUT))


def test_paper_names_and_slugs_resolve() -> None:
    assert sorted(PAPER_NAMES + CPU_TABLE3_NAMES + PARSING_NAMES) == list_models()
    for name in PAPER_NAMES + CPU_TABLE3_NAMES + PARSING_NAMES:
        assert resolve_name(name) == name
        assert resolve_name(slug(name)) == name
        assert resolve_name(name.lower()) == name
    assert resolve_name("vgg16-pil-vgg16") == "VGG16-PIL(VGG16)"
    assert resolve_name("hg-4s-2u-pil-hg-1s-4u") == "HG-4s-2u-PIL(HG-1s-4u)"
    assert resolve_name("parsing-hg-1s-2u") == "Parsing(HG-1s-2u)"


def test_unknown_name_lists_close_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'HG-4s-2u-PIL\(HG-1s-3u\)'.*HG-4s-2u-PIL\(HG-1s-4u\)"):
        create_model("HG-4s-2u-PIL(HG-1s-3u)")


def test_list_models_patterns() -> None:
    assert len(list_models()) == len(MODELS) == 18 + 3 + 5
    assert len(list_models("*PIL*")) == 8 + 3
    assert list_models("parsing*") == sorted(PARSING_NAMES)
    assert list_models("hg-4s-2u-pil-*") == [f"HG-4s-2u-PIL(HG-1s-{u}u)" for u in (1, 2, 4, 8)]
    assert list_models("vgg16") == ["VGG16"]
    assert list_models("nothing*") == []


def test_parameter_counts_grow_with_parsing_depth() -> None:
    counts = [sum(p.numel() for p in create_model(f"HG-4s-2u-PIL(HG-1s-{u}u)", width=16).parameters())
              for u in (1, 2, 4, 8)]
    assert counts == sorted(counts) and len(set(counts)) == 4


PIL_AND_PARSING = [("VGG16-PIL(VGG16)", "Parsing(VGG16)"),
                   *((f"HG-4s-2u-PIL(HG-1s-{u}u)", f"Parsing(HG-1s-{u}u)") for u in (1, 2, 4, 8))]


@pytest.mark.parametrize(("pil", "alone"), PIL_AND_PARSING)
def test_parsing_only_model_is_the_pil_models_parsing_branch(pil: str, alone: str) -> None:
    # Same builders, same attribute name: the parsing-only weights load into the PIL model's parsing encoder
    # key for key, and then both predict the same parsing logits.
    overrides = tiny_overrides(pil)
    torch.manual_seed(0)
    pil_model = create_model(pil, num_parsing=NUM_PARSING, **overrides).eval()
    torch.manual_seed(1)
    parsing = create_model(alone, num_parsing=NUM_PARSING, **overrides).eval()
    branch = {k[len("parsing_encoder."):]: v for k, v in pil_model.state_dict().items()
              if k.startswith("parsing_encoder.")}
    assert set(branch) == {k[len("parsing_encoder."):] for k in parsing.state_dict()}
    pil_model.parsing_encoder.load_state_dict(parsing.parsing_encoder.state_dict())
    images = torch.randn(1, 3, INPUT, INPUT)
    with torch.no_grad():
        assert torch.equal(pil_model(images).parsing, parsing(images).parsing)


def test_parsing_only_output_has_no_final_heatmaps() -> None:
    out = create_model("Parsing(HG-1s-1u)", width=16).eval()(torch.randn(1, 3, INPUT, INPUT))
    with pytest.raises(InputError, match="parsing-only model"):
        out.final


def test_parsing_only_width_defaults_to_the_paper_widths() -> None:
    # no width override: VGG16 first block 64 channels, hourglass 256, as the PIL models' parsing branches
    assert create_model("Parsing(VGG16)").parsing_encoder.channels == create_model("VGG16-PIL(VGG16)").pose_net.channels
    assert create_model("Parsing(HG-1s-1u)").parsing_encoder.channels == 256
