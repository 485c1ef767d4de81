"""Memory behaviour of the engines: the stages they run build millions of small objects."""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stage builds many small objects.

    The stages create no reference cycles, so reference counting frees everything; without the
    pause, every few thousand allocations the collector walks all live objects (millions of
    ads, contact points and hits), which costs a quarter of the stage's time on large inputs.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _trimmer() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None on another C library or system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _trimmer()


def release_free_memory() -> None:
    """Hand the memory a finished stage freed back to the system (glibc's ``malloc_trim``).

    A corpus-wide stage builds large transient structures among the objects that stay (the ads,
    their hits): the C allocator keeps the pages it freed in between, so the process stays as
    large as at the stage's peak, and the next stage's peak comes on top of it. A no-op where
    the C library has no ``malloc_trim``.
    """
    if _TRIM is not None:
        _TRIM(0)
