"""Memory behaviour of the engines: the stages they run build millions of small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
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
