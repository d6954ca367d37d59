"""Process-group set-up for DistributedDataParallel under ``torchrun``.

``torchrun --nproc_per_node=N -m piltools train EXPERIMENT --scale S`` sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`init_from_env` reads them
and joins the group (``nccl`` on CUDA, ``gloo`` on CPU). Without them the run
is a single process and nothing here does anything. Rank 0 alone writes the
run directory; the others wait at :func:`barrier`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process stands.

    Attributes:
        rank: global rank (0 for a single process).
        world_size: number of processes.
        local_rank: rank on this node (selects the CUDA device).
        device: ``"cpu"`` or ``"cuda:<local_rank>"``.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and prints progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1


def init_from_env(device: str | None = None) -> DistContext:
    """Join the process group described by torchrun's environment, if any.

    Args:
        device: ``"cpu"``, ``"cuda"`` or None (CUDA when available).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    dev = f"cuda:{local}" if use_cuda else "cpu"
    if world > 1 and not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(rank=rank, world_size=world, local_rank=local, device=dev)


def barrier(ctx: DistContext) -> None:
    """Wait for every process (no-op for a single process)."""
    if ctx.distributed:
        dist.barrier()


def mean_over_processes(ctx: DistContext, values: list[float]) -> list[float]:
    """Average a list of floats over all processes (identity for one process)."""
    if not ctx.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device if ctx.device != "cpu" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / ctx.world_size).tolist()


def shutdown(ctx: DistContext) -> None:
    """Leave the process group if this module joined one."""
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
