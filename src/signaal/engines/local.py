"""The in-process engine: runs a per-item function over chunks, on one or more local processes.

Results always come back in input order, and a chunk's result depends only on the chunk, so the
output does not depend on the number of workers. With ``workers=1`` everything runs in the
calling process (no pickling, easy to debug). Worker processes are forked where the platform
allows it, so the module-level caches (the indicator automaton, the municipality table) are
built once and shared.

A Spark engine runs the same chunk functions as ``mapPartitions`` over the same inputs.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LocalEngine:
    """Map a chunk function over chunks of work with ``workers`` processes, in order."""

    def __init__(self, workers: int = 1, *, max_pending: int | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        # Bounded read-ahead: enough chunks in flight to keep every worker busy, few enough
        # that a huge input is never held in memory twice.
        self.max_pending = max_pending or workers * 3

    def map_chunks(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]:
        """``function(chunk)`` for every chunk, yielded in input order."""
        if self.workers == 1:
            for chunk in chunks:
                yield function(chunk)
            return
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            pending: list[Future[R]] = []
            for chunk in chunks:
                pending.append(pool.submit(function, chunk))
                if len(pending) >= self.max_pending:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()
