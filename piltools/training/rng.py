"""The torch / numpy / python random states of a run: seeding, and saving them in a checkpoint.

A resumed run restores the states saved after its last finished epoch, so it draws the same random
numbers an uninterrupted run would have drawn. The states are stored as tensors and ints only, so a
checkpoint stays readable with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and python's ``random`` from one training seed."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng_state() -> dict[str, Any]:
    """The three generators' states as tensors and ints (see :func:`set_rng_state`)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
        "numpy_pos": int(np_state[2]),
        "numpy_has_gauss": int(np_state[3]),
        "numpy_cached_gauss": float(np_state[4]),
        "python": torch.tensor(list(py_state[1]), dtype=torch.int64),
        "python_version": int(py_state[0]),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(state["numpy_pos"]),
                         int(state["numpy_has_gauss"]), float(state["numpy_cached_gauss"])))
    random.setstate((int(state["python_version"]), tuple(int(v) for v in state["python"].tolist()), None))
