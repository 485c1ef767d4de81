"""``signaal worker``: run the scheduled system jobs (see :mod:`signaal.worker`).

A thin adapter: opens the store of the settings, takes the stop signals and hands over to
:func:`signaal.worker.runner.run_forever` or, with ``--once``, one :func:`run_due` turn.
Exit codes: 0 every job that ran succeeded, 1 a job failed (``--once``), the store failed or
a setting is wrong.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from signaal.cli.store import _errors, _url, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from signaal.settings import Settings


def _shown(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _list(url: str) -> None:
    from signaal.settings import get_settings
    from signaal.store import worker_jobs
    from signaal.store.db import make_engine, session_factory, transaction
    from signaal.worker.runner import next_due, plan

    settings = get_settings()
    planned = plan(settings)
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            states = worker_jobs.job_states(session)
    finally:
        engine.dispose()
    table = Table("job", "schedule", "action", "last start", "status", "next due", "about")
    for item in planned:
        state = states.get(item.job.name)
        due = next_due(item, state, settings)
        next_text = "off" if due is None else "now" if state is None else _shown(due)
        status = ""
        if state is not None and state.last_status:
            status = state.last_status
            if state.failures:
                status += f" ({state.failures}x): {state.last_summary}"
        table.add_row(
            item.job.name,
            item.schedule.text,
            item.job.action.value,
            _shown(state.last_started_at if state else None),
            status,
            next_text,
            item.job.help,
        )
    Console(width=max(out.width, 160)).print(table)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _run_until_stopped(factory: sessionmaker[Session], settings: Settings) -> None:
    """:func:`run_forever` in a thread of its own until SIGTERM or SIGINT, then let its current
    job finish.

    No signal handler: a handler runs between two steps of the main thread, whatever it holds
    at that moment (a log handler's lock, the stop event's lock), and what it may safely do is
    next to nothing. Instead the stop signals are blocked before the job thread starts (it
    inherits the mask, so the signals stay pending for the process) and the main thread takes
    them with ``sigtimedwait``, as ordinary code that may log and set the event.
    """
    from signaal.worker.runner import run_forever

    stop = threading.Event()
    failure: list[BaseException] = []

    def _jobs() -> None:
        try:
            run_forever(factory, settings, stop)
        except BaseException as exc:  # handed to the main thread, raised there
            failure.append(exc)

    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        thread = threading.Thread(target=_jobs, name="signaal-worker-jobs")
        thread.start()
        while thread.is_alive():
            taken = signal.sigtimedwait(STOP_SIGNALS, 1.0)
            if taken is not None and not stop.is_set():
                logging.getLogger("signaal.worker").info(
                    "%s: stopping after the current job", signal.Signals(taken.si_signo).name
                )
                stop.set()
        thread.join()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if failure:
        raise failure[0]


def worker(
    once: Annotated[
        bool,
        typer.Option("--once", help="Run every due job once, then exit (for tests and cron)."),
    ] = False,
    list_jobs: Annotated[
        bool,
        typer.Option("--list", help="Show the jobs, their schedule and last run, then exit."),
    ] = False,
) -> None:
    """Run the scheduled system jobs (purge expired analysis runs, expire protective watches,
    reminders) as the system actor, until SIGTERM or SIGINT; the schedule is
    SIGNAAL_WORKER_SCHEDULE. Several workers on one database never run a job at once."""
    from signaal.settings import get_settings
    from signaal.store.db import ensure_migrated, make_engine, session_factory
    from signaal.worker.runner import run_due

    with _errors():
        settings = get_settings()
        url = _url()
        ensure_migrated(url)
        if list_jobs:
            _list(url)
            return
        if not logging.getLogger().handlers:
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
            )
        engine = make_engine(url)
        try:
            factory = session_factory(engine)
            if once:
                finished = run_due(factory, settings)
                for run in finished:
                    # One line per job, however narrow the terminal (cron mails, grep).
                    out.print(
                        f"{run.name}: {'ok' if run.ok else 'failed'}: {run.summary}",
                        highlight=False,
                        soft_wrap=True,
                    )
                if not finished:
                    out.print("no job was due", highlight=False)
                if any(not run.ok for run in finished):
                    raise typer.Exit(1)
                return
            _run_until_stopped(factory, settings)
        finally:
            engine.dispose()
