"""Figures of one stored analysis run, computed once per process.

A stored run never changes: it is written whole in one transaction and afterwards only
deleted. Aggregates over all its ads ("Mijn gemeente"'s counts per municipality, the newest ad,
the sites of the triage filter) are therefore the same on every page view, and at national
scale each costs a scan of the run's ads (about 0.2 s per 100,000 ads on PostgreSQL). They are
kept here, per database, run id and the moment the run was stored (so that a run id used again
after a purge on SQLite is never mistaken for the old run), in a small LRU.

Only what the caller computed from the run itself goes in; access checks stay with the callers
(``allowed()`` before anything is read). Values must be immutable: the same object is handed
to every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from signaal.store.models import AnalysisRun

T = TypeVar("T")

#: Figures kept per process (a few per run, each at most one row per municipality or site).
MAX_ENTRIES = 256

_entries: OrderedDict[tuple[str, int, str, int, str], object] = OrderedDict()
_lock = threading.Lock()


def run_figure(session: Session, run_id: int, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` for run ``run_id``, kept for the next call with the same ``name``.

    A run that is not in the store is computed every time and not kept.
    """
    run = session.get(AnalysisRun, run_id)
    if run is None:
        return compute()
    key = (str(session.get_bind().engine.url), run_id, run.stored_at.isoformat(), run.n_ads, name)
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every kept figure (the tests, which empty a database and store runs again under
    the same ids with a fixed clock)."""
    with _lock:
        _entries.clear()
