"""Rows of ``worker_jobs``: the state and the lock of each scheduled job (see
:class:`~signaal.store.models.WorkerJob` and :mod:`signaal.worker`).

The lock is the same on SQLite and PostgreSQL: :func:`claim` is one conditional UPDATE that only
succeeds when the job is free (or its lease ran out) *and* its last start is still the one the
worker read. PostgreSQL re-checks that condition after waiting for a concurrent update of the
row; SQLite runs writers one after another. Either way the second of two workers updates no row
and leaves the job alone. Each function runs in the caller's transaction; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from signaal.store.models import WorkerJob

SUMMARY_LENGTH = 500


def ensure_jobs(session: Session, names: Iterable[str]) -> None:
    """Create the missing rows of ``names`` (two workers may do this at the same moment)."""
    rows = [{"name": name, "last_summary": "", "failures": 0} for name in names]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(WorkerJob).values(rows).on_conflict_do_nothing(index_elements=["name"]))


def job_states(session: Session) -> dict[str, WorkerJob]:
    """Every job's row by name."""
    return {job.name: job for job in session.scalars(select(WorkerJob))}


def claim(
    session: Session,
    name: str,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    seen_started_at: datetime | None,
) -> bool:
    """Take job ``name`` for ``worker`` until ``now + lease`` and mark it started at ``now``;
    False when another worker holds it or started it after ``seen_started_at`` was read."""
    result = session.execute(
        update(WorkerJob)
        .where(
            WorkerJob.name == name,
            or_(WorkerJob.locked_until.is_(None), WorkerJob.locked_until <= now),
            WorkerJob.last_started_at.is_not_distinct_from(seen_started_at),
        )
        .values(locked_by=worker, locked_until=now + lease, last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def finish(
    session: Session, name: str, *, worker: str, at: datetime, ok: bool, summary: str
) -> bool:
    """Record how the run of ``worker`` ended and free the job; False when the worker no longer
    held it (its lease ran out and another worker took the job)."""
    failures = 0 if ok else WorkerJob.failures + 1
    result = session.execute(
        update(WorkerJob)
        .where(WorkerJob.name == name, WorkerJob.locked_by == worker)
        .values(
            locked_by=None,
            locked_until=None,
            last_finished_at=at,
            last_status="ok" if ok else "failed",
            last_summary=summary[:SUMMARY_LENGTH],
            failures=failures,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
