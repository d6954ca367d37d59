"""Runs trained side by side: one process per run, started with ``spawn``.

``spawn`` (not ``fork``) so that each process starts with a fresh torch (no
inherited thread pools or CUDA state); the callable and its arguments must be
picklable (module-level functions and plain values).
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def parallel_waves(fn: Callable[..., Any], waves: Sequence[Sequence[tuple]], jobs: int) -> list[list[Any]]:
    """``fn(*args)`` for every argument tuple, at most ``jobs`` at once, one wave after the other.

    Args:
        fn: a picklable (module-level) function.
        waves: lists of argument tuples; a wave starts once every call of the previous one has
            finished (e.g. transfer sources before the runs that load them).
        jobs: processes.

    Returns:
        The results, wave by wave, each in the order of its argument tuples. The first exception
        raised by a call is raised here.
    """
    results: list[list[Any]] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        for wave in waves:
            futures = [pool.submit(fn, *args) for args in wave]
            results.append([f.result() for f in futures])
    return results
