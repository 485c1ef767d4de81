"""The in-process engine: runs a per-item function over chunks, on one or more local processes.

Results always come back in input order, and a chunk's result depends only on the chunk, so the
output does not depend on the number of workers. With ``workers=1`` everything runs in the
calling process (no pickling, easy to debug). Worker processes are forked where the platform
allows it, so the module-level caches (the indicator automaton, the municipality table) are
built once and shared.

Workers end when their parent dies, even by ``kill -9`` (nothing could tell them otherwise: they
would wait for work forever). On Linux each worker asks the kernel for ``SIGKILL`` when its
parent goes (``prctl(PR_SET_PDEATHSIG)``); everywhere a watcher thread in each worker also
polls whether its parent process is still the one that started it.

A Spark engine runs the same chunk functions as ``mapPartitions`` over the same inputs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
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


#: How often a worker's watcher thread checks that its parent is alive (seconds).
PARENT_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int, thread_safe_signal: bool) -> None:
    """Worker initializer: end this process when the process ``parent`` is gone."""
    if thread_safe_signal and sys.platform.startswith("linux"):
        # The kernel signals when the parent *thread* that forked us ends, so this is only
        # asked for when that thread is the parent's main thread (whose end is the process's).
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent:  # the parent died before the request above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:  # re-parented: our parent is gone
            os._exit(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end when this process dies (forked where possible)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    main_thread = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_end_with_parent,
        initargs=(os.getpid(), main_thread),
    )


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
        with worker_pool(self.workers) as pool:
            pending: list[Future[R]] = []
            for chunk in chunks:
                pending.append(pool.submit(function, chunk))
                if len(pending) >= self.max_pending:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()

    def map_items(
        self, function: Callable[[T], R], items: Sequence[T], *, per_task: int | None = None
    ) -> list[R]:
        """``function(item)`` for every item, in order; items go to the workers ``per_task``
        at a time (default: about eight tasks per worker), for many small independent items
        such as photo files. Runs in this process for one worker or too few items."""
        if self.workers == 1 or len(items) < 2 * self.workers:
            return [function(item) for item in items]
        size = per_task or max(1, len(items) // (self.workers * 8))
        with worker_pool(self.workers) as pool:
            return list(pool.map(function, items, chunksize=size))
