"""Transfer of the parsing side of PIL from a LIP run to an MPII run (paper Sec. 4.4).

The parsing encoder (with its parsing classifier) and the parameter adapter of
a finished LIP-side PIL run are loaded into a fresh model and frozen; the pose
network and the adaptive convolution's static 1x1 convs U and V train from
scratch on MPII, which has no parsing labels (so the parsing loss is off).
"""
from __future__ import annotations

from pathlib import Path

from torch import nn

from piltools.runs import load_checkpoint


def transfer_prefixes(model: nn.Module) -> list[str]:
    """State-dict prefixes (``"parsing_encoder."``, ``"adapter."``) of ``model.transfer_modules()``."""
    if not hasattr(model, "transfer_modules"):
        raise TypeError(f"{type(model).__name__} has no transfer_modules(): only PIL models can be transferred")
    wanted = {id(m) for m in model.transfer_modules()}
    prefixes = [f"{name}." for name, module in model.named_modules() if id(module) in wanted and name]
    if len(prefixes) != len(wanted):
        raise RuntimeError(f"{type(model).__name__}.transfer_modules() returned modules that are not submodules")
    return prefixes


def load_transferred(model: nn.Module, checkpoint: Path) -> list[str]:
    """Copy the transferable modules' weights from a checkpoint into ``model`` and freeze them.

    Args:
        model: a fresh PIL model of the same architecture as the source's.
        checkpoint: the source run's ``last.pt``.

    Returns:
        The state-dict keys that were loaded.

    Raises:
        KeyError / ValueError: the checkpoint lacks a key or a shape differs
            (naming the key and both shapes).
    """
    prefixes = transfer_prefixes(model)
    source = load_checkpoint(checkpoint)["model"]
    own = model.state_dict()
    loaded: dict = {}
    for key, value in own.items():
        if not key.startswith(tuple(prefixes)):
            continue
        if key not in source:
            raise KeyError(f"{checkpoint}: no weight {key!r} for the transferred modules {prefixes}")
        if tuple(source[key].shape) != tuple(value.shape):
            raise ValueError(f"{checkpoint}: {key!r} has shape {tuple(source[key].shape)}, "
                             f"the model expects {tuple(value.shape)} (same scale and width needed)")
        loaded[key] = source[key]
    model.load_state_dict(loaded, strict=False)
    freeze(model)
    return sorted(loaded)


def freeze(model: nn.Module) -> None:
    """No gradients for the transferred modules; keep their BN statistics fixed (eval mode)."""
    for module in model.transfer_modules():
        for p in module.parameters():
            p.requires_grad_(False)
        module.eval()


def keep_frozen_in_eval(model: nn.Module) -> None:
    """After ``model.train()``: put the frozen transferred modules back in eval mode."""
    for module in model.transfer_modules():
        module.eval()
