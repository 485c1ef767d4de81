"""Running the due jobs of the registry: claim, run in its own transaction, record.

:func:`run_due` is one turn (what ``signaal worker --once`` and cron do); :func:`run_forever`
repeats turns until its stop event is set (SIGTERM, SIGINT). A turn never dies of one job: a
job that raises is rolled back, logged and recorded as failed, and the next job runs. A job
that another worker holds, or already started for this turn, is left alone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from signaal.chain.authz import SYSTEM, allowed
from signaal.errors import ConfigurationError, SignaalError
from signaal.settings import Settings
from signaal.store import worker_jobs
from signaal.store.db import transaction
from signaal.store.models import WorkerJob
from signaal.worker.jobs import JOBS, Job, JobOutcome, JobRun
from signaal.worker.schedule import Schedule, due_at, parse_schedule

log = logging.getLogger("signaal.worker")

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Planned:
    """A job with the schedule the settings give it."""

    job: Job
    schedule: Schedule


@dataclass(frozen=True)
class Finished:
    """How one run of a job ended."""

    name: str
    ok: bool
    summary: str
    started_at: datetime
    finished_at: datetime


def plan(settings: Settings, jobs: Sequence[Job] = JOBS) -> list[Planned]:
    """Every job with its schedule: ``SIGNAAL_WORKER_SCHEDULE`` overrides the defaults. A name
    there that is no job is a ConfigurationError (a typo would otherwise silently keep the
    default)."""
    by_name = {job.name: job for job in jobs}
    unknown = sorted(set(settings.worker_schedule) - set(by_name))
    if unknown:
        raise ConfigurationError(
            f"SIGNAAL_WORKER_SCHEDULE names no job {', '.join(unknown)}; the jobs are "
            + ", ".join(by_name)
        )
    return [
        Planned(job, parse_schedule(settings.worker_schedule.get(job.name, job.default_schedule)))
        for job in jobs
    ]


def next_due(planned: Planned, state: WorkerJob | None, settings: Settings) -> datetime | None:
    """When ``planned`` is next due given its row (None: off)."""
    return due_at(
        planned.schedule,
        last_started_at=state.last_started_at if state else None,
        last_finished_at=state.last_finished_at if state else None,
        failures=state.failures if state else 0,
        retry_after=timedelta(seconds=settings.worker_retry_seconds),
    )


def worker_name() -> str:
    """Who holds a claimed job: host, process and a random part (several workers per process
    in tests)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _one_line(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, SignaalError) else str(exc)
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_due(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    jobs: Sequence[Job] = JOBS,
    clock: Clock = utc_clock,
    worker: str | None = None,
    stop: threading.Event | None = None,
) -> list[Finished]:
    """One turn: run every job that is due and that this worker can claim, one after another;
    returns how each run ended. The clock is read before each job (an earlier job may have taken
    a while). A set ``stop`` ends the turn before the next job."""
    worker = worker or worker_name()
    planned = plan(settings, jobs)
    with transaction(factory) as session:
        worker_jobs.ensure_jobs(session, [p.job.name for p in planned])
        states = worker_jobs.job_states(session)
    finished: list[Finished] = []
    for item in planned:
        if stop is not None and stop.is_set():
            break
        state = states.get(item.job.name)
        due = next_due(item, state, settings)
        now = clock()
        if due is None or due > now:
            continue
        done = _run_claimed(factory, settings, item.job, state, worker=worker, now=now, clock=clock)
        if done is not None:
            finished.append(done)
    return finished


def _run_claimed(
    factory: sessionmaker[Session],
    settings: Settings,
    job: Job,
    state: WorkerJob | None,
    *,
    worker: str,
    now: datetime,
    clock: Clock,
) -> Finished | None:
    lease = timedelta(seconds=settings.worker_lease_seconds)
    seen = state.last_started_at if state else None
    with transaction(factory) as session:
        claimed = worker_jobs.claim(
            session, job.name, worker=worker, now=now, lease=lease, seen_started_at=seen
        )
    if not claimed:
        log.info("job %s: taken by another worker, skipped", job.name)
        return None
    log.info("job %s: started", job.name)
    started = time.monotonic()
    ok, summary = _run(factory, settings, job, now)
    seconds = time.monotonic() - started
    finished_at = clock()
    with transaction(factory) as session:
        held = worker_jobs.finish(
            session, job.name, worker=worker, at=finished_at, ok=ok, summary=summary
        )
    if not held:
        log.warning(
            "job %s: its lease ran out while it ran; another worker may have run it", job.name
        )
    if ok:
        log.info("job %s: done in %.1f s: %s", job.name, seconds, summary)
    else:
        log.error("job %s: failed after %.1f s: %s", job.name, seconds, summary)
    return Finished(job.name, ok, summary, now, finished_at)


def _run(
    factory: sessionmaker[Session], settings: Settings, job: Job, now: datetime
) -> tuple[bool, str]:
    """Run ``job`` in its own transaction: (ok, summary). Never raises for the job's errors."""
    if not allowed(SYSTEM, job.action):
        return False, f"PermissionDenied: the system actor may not {job.action.value}"
    try:
        with transaction(factory) as session:
            result = job.run(JobRun(session, now, settings))
    except Exception as exc:  # any failure of one job is recorded; the worker goes on
        log.debug("job %s failed", job.name, exc_info=True)
        return False, _one_line(exc)
    if isinstance(result, JobOutcome):
        if result.problems:
            return False, f"{result.summary}; problems: {'; '.join(result.problems)}"
        return True, result.summary
    return True, result


def run_forever(
    factory: sessionmaker[Session],
    settings: Settings,
    stop: threading.Event,
    *,
    jobs: Sequence[Job] = JOBS,
    clock: Clock = utc_clock,
) -> None:
    """Turns every ``SIGNAAL_WORKER_POLL_SECONDS`` until ``stop`` is set; a turn that fails as a
    whole (the database is down) is logged and the next turn tries again."""
    plan(settings, jobs)  # a bad schedule stops the worker at once, not every turn
    worker = worker_name()
    log.info("worker %s started (every %d s)", worker, settings.worker_poll_seconds)
    while not stop.is_set():
        try:
            run_due(factory, settings, jobs=jobs, clock=clock, worker=worker, stop=stop)
        except SignaalError as exc:
            log.error("turn failed: %s", _one_line(exc))
        stop.wait(settings.worker_poll_seconds)
    log.info("worker %s stopped", worker)
