"""``signaal worker`` on SQLite and PostgreSQL with a controlled clock: due jobs run once, jobs
not due do not, a failing job is recorded and retried while the others run, two workers on one
database never run a job twice, and the registered jobs call the services as the system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from signaal.chain import accounts, watches
from signaal.chain.authz import Action, actor_for
from signaal.settings import Settings, load_settings
from signaal.store import worker_jobs
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import (
    AuditEvent,
    Notification,
    OrganisationKind,
    ProtectiveWatch,
    WorkerJob,
)
from signaal.worker.jobs import JOBS, Job, JobOutcome, JobRun
from signaal.worker.runner import run_due

T = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
KEY = "test-pseudonym-key-0123456789abcdef-012345"


class Counting:
    """Jobs that count their runs (and can fail or wait), registered like the real ones."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def job(self, name: str, schedule: str = "1h", *, fail: bool = False) -> Job:
        def run(run: JobRun) -> str:
            self.calls.append(name)
            if fail:
                raise RuntimeError(f"{name} broke")
            return f"{name} done at {run.now:%H:%M}"

        return Job(name, schedule, Action.PURGE_ANALYSIS, f"the test job {name}", run)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def second_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    """Another worker's own engine (its own connections) on the same database."""
    other = make_engine(migrated_url)
    try:
        yield session_factory(other)
    finally:
        other.dispose()


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(env="development", data_dir=tmp_path / "data", **overrides)


def _state(factory: sessionmaker[Session], name: str) -> WorkerJob:
    with transaction(factory) as session:
        return worker_jobs.job_states(session)[name]


def test_a_due_job_runs_once_and_again_only_when_due(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    counting = Counting()
    jobs = [counting.job("hourly", "1h"), counting.job("daily-at-3", "0 3 * * *")]
    settings = _settings(tmp_path)

    first = run_due(factory, settings, jobs=jobs, clock=lambda: T)
    assert [(f.name, f.ok, f.started_at) for f in first] == [
        ("hourly", True, T),
        ("daily-at-3", True, T),
    ]
    assert counting.calls == ["hourly", "daily-at-3"]

    assert run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=59)) == []
    assert counting.calls == ["hourly", "daily-at-3"]

    later = run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(hours=1))
    assert [f.name for f in later] == ["hourly"]
    night = run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(hours=19))
    assert [f.name for f in night] == ["hourly", "daily-at-3"]
    state = _state(factory, "daily-at-3")
    assert (state.last_status, state.last_summary) == ("ok", "daily-at-3 done at 03:00")
    assert state.locked_by is None
    assert state.locked_until is None


def test_a_job_switched_off_or_rescheduled_in_the_settings(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    counting = Counting()
    jobs = [counting.job("a", "1h"), counting.job("b", "1h")]
    settings = _settings(tmp_path, worker_schedule={"a": "off", "b": "10m"})
    run_due(factory, settings, jobs=jobs, clock=lambda: T)
    run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=10))
    assert counting.calls == ["b", "b"]


def test_a_failing_job_is_recorded_and_retried_and_the_others_still_run(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    counting = Counting()
    jobs = [counting.job("broken", "1h", fail=True), counting.job("fine", "1h")]
    settings = _settings(tmp_path, worker_retry_seconds=300)

    finished = run_due(factory, settings, jobs=jobs, clock=lambda: T)
    assert [(f.name, f.ok) for f in finished] == [("broken", False), ("fine", True)]
    broken = _state(factory, "broken")
    assert (broken.last_status, broken.failures) == ("failed", 1)
    assert broken.last_summary == "RuntimeError: broken broke"
    assert broken.locked_by is None

    # Retried after the retry delay, long before its hourly turn; the count goes up.
    assert run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=4)) == []
    retried = run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=5))
    assert [(f.name, f.ok) for f in retried] == [("broken", False)]
    assert _state(factory, "broken").failures == 2
    assert counting.calls == ["broken", "fine", "broken"]


def test_a_failed_job_rolls_back_its_work_and_a_job_with_problems_keeps_it(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    def notify(run: JobRun, text: str) -> None:
        organisation = accounts.create_organisation(
            run.db, name=f"Synthetisch {text}", kind=OrganisationKind.POLICE
        )
        run.db.add(Notification(organisation_id=organisation.id, kind="test", text=text))
        run.db.flush()

    def raises(run: JobRun) -> str:
        notify(run, "rolled back")
        raise RuntimeError("half way")

    def reports(run: JobRun) -> JobOutcome:
        notify(run, "kept")
        return JobOutcome("1 written", ("the mail server did not answer",))

    jobs = [
        Job("raises", "1h", Action.PURGE_ANALYSIS, "", raises),
        Job("reports", "1h", Action.PURGE_ANALYSIS, "", reports),
    ]
    finished = run_due(factory, _settings(tmp_path), jobs=jobs, clock=lambda: T)
    assert [(f.name, f.ok, f.summary) for f in finished] == [
        ("raises", False, "RuntimeError: half way"),
        ("reports", False, "1 written; problems: the mail server did not answer"),
    ]
    with transaction(factory) as session:
        assert list(session.scalars(select(Notification.text))) == ["kept"]
    assert _state(factory, "reports").failures == 1


def test_a_job_the_system_may_not_do_fails_without_running(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    calls: list[str] = []
    job = Job("reads", "1h", Action.VIEW_SIGNALS, "", lambda run: calls.append("ran") or "")
    [finished] = run_due(factory, _settings(tmp_path), jobs=[job], clock=lambda: T)
    assert not finished.ok
    assert "may not signals.view" in finished.summary
    assert calls == []


def test_two_workers_never_run_one_job_at_the_same_time(
    factory: sessionmaker[Session], second_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(run: JobRun) -> str:
        calls.append(f"run at {run.now:%H:%M}")
        started.set()
        release.wait(60)
        return "done"

    jobs = [Job("slow", "1m", Action.PURGE_ANALYSIS, "", slow)]
    settings = _settings(tmp_path)
    first: list[object] = []
    worker = threading.Thread(
        target=lambda: first.extend(run_due(factory, settings, jobs=jobs, clock=lambda: T))
    )
    worker.start()
    try:
        assert started.wait(60)
        # Another worker, past the job's next turn, while the first still runs it.
        second = run_due(
            second_factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=5)
        )
    finally:
        release.set()
        worker.join(60)
    assert second == []
    assert calls == ["run at 08:00"]
    assert len(first) == 1
    # Free again: the next worker takes it.
    again = run_due(second_factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=5))
    assert [f.name for f in again] == ["slow"]


def test_two_workers_that_read_the_same_turn_run_it_once(
    factory: sessionmaker[Session], second_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The second worker read the job's row before the first one ran it (and finished): its
    claim of that turn fails, so a fast job is not run twice either."""
    with transaction(second_factory) as session:
        worker_jobs.ensure_jobs(session, ["fast"])
        seen = worker_jobs.job_states(session)["fast"].last_started_at
    counting = Counting()
    assert [
        f.name
        for f in run_due(factory, _settings(tmp_path), jobs=[counting.job("fast")], clock=lambda: T)
    ] == ["fast"]
    with transaction(second_factory) as session:
        assert not worker_jobs.claim(
            session, "fast", worker="second", now=T, lease=timedelta(hours=1), seen_started_at=seen
        )
    assert _state(factory, "fast").last_started_at == T


def test_a_job_held_by_a_worker_that_died_is_taken_after_its_lease(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = _settings(tmp_path, worker_lease_seconds=600)
    with transaction(factory) as session:
        worker_jobs.ensure_jobs(session, ["orphan"])
        assert worker_jobs.claim(
            session,
            "orphan",
            worker="died",
            now=T,
            lease=timedelta(seconds=600),
            seen_started_at=None,
        )
    counting = Counting()
    jobs = [counting.job("orphan", "1m")]
    assert run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=9)) == []
    taken = run_due(factory, settings, jobs=jobs, clock=lambda: T + timedelta(minutes=10))
    assert [f.name for f in taken] == ["orphan"]
    assert counting.calls == ["orphan"]


def _watch(db: Session, ends_at: datetime) -> int:
    youth = accounts.create_organisation(
        db, name="Synthetisch Jeugdzorg", kind=OrganisationKind.YOUTH_CARE
    )
    user = accounts.create_user(
        db,
        email="jeugd@example.test",
        password="correct horse battery staple",
        display_name="Synthetisch",
        organisation=youth,
        role="youth_care_worker",
    )
    watch = watches.register_watch(
        db,
        actor_for(user),
        watches.WatchDraft("Jongere J.", "06-94320911", "consent", ends_at),
        pseudonym_key=KEY,
        ip=None,
        now=T,
    )
    return watch.id


def test_the_registered_jobs_delete_an_ended_watch_as_the_system_audited(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as session:
        watch_id = _watch(session, T + timedelta(days=1))
    settings = _settings(tmp_path)

    first = run_due(factory, settings, clock=lambda: T)
    assert [f.name for f in first] == [job.name for job in JOBS]
    assert all(f.ok for f in first), first
    with transaction(factory) as session:
        assert session.get(ProtectiveWatch, watch_id) is not None

    later = run_due(factory, settings, clock=lambda: T + timedelta(days=1, minutes=1))
    expired = next(f for f in later if f.name == "expire-watches")
    assert expired.summary == "1 protective watch(es) past their end date deleted"
    with transaction(factory) as session:
        assert session.get(ProtectiveWatch, watch_id) is None
        events = [
            (event.actor_email, json.loads(event.details))
            for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
    assert [actor for actor, details in events if details.get("change") == "expired"] == ["system"]


WORKER_PROCESS = """
import pathlib, sys, time
from datetime import UTC, datetime
from signaal.chain.authz import Action
from signaal.settings import load_settings
from signaal.store.db import make_engine, session_factory
from signaal.worker.jobs import Job
from signaal.worker.runner import run_due

url, runs, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])


def slow(run):
    with runs.open("a") as out:
        out.write("ran\\n")
    time.sleep(1)
    return "done"


factory = session_factory(make_engine(url))
settings = load_settings(env="development", data_dir=runs.parent / "data")
jobs = [Job("slow", "1h", Action.PURGE_ANALYSIS, "", slow)]
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
print(len(run_due(factory, settings, jobs=jobs, clock=lambda: datetime(2026, 12, 3, tzinfo=UTC))))
"""


def test_two_worker_processes_started_together_run_a_due_job_once(
    migrated_url: str, tmp_path: Path
) -> None:
    runs, go = tmp_path / "runs.txt", tmp_path / "go"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNAAL_")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_PROCESS, migrated_url, str(runs), str(go)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        go.touch()  # both read the job's row and claim it at the same moment
        outputs = sorted(process.communicate(timeout=120)[0].strip() for process in processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == ["0", "1"]
    assert runs.read_text() == "ran\n"


def test_the_retention_job_deletes_what_is_past_its_period_with_the_settings_periods(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as session:
        organisation = accounts.create_organisation(
            session, name="Synthetisch Zorg", kind=OrganisationKind.CARE_COORDINATION
        )
        for days in (31, 29):
            session.add(
                Notification(
                    organisation_id=organisation.id,
                    role="care_coordinator",
                    kind="reminder",
                    text=f"{days} days old",
                    created_at=T - timedelta(days=days),
                )
            )
    settings = _settings(tmp_path, retention_notifications_days=30)
    only = [job for job in JOBS if job.name == "enforce-retention"]

    (finished,) = run_due(factory, settings, jobs=only, clock=lambda: T)

    assert finished.ok, finished
    assert finished.summary.startswith("1 record(s) past their retention period deleted")
    assert "notifications 1" in finished.summary
    with transaction(factory) as session:
        assert [n.text for n in session.scalars(select(Notification))] == ["29 days old"]
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.enforced")
        )
        assert event.actor_email == "system"


def test_the_ingest_folder_job_ingests_the_drop_folder_and_analyses_as_the_system(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from ads.adfactories import record_json

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "today.jsonl").write_text(
        json.dumps(record_json(id="site:1")) + "\n" + json.dumps(record_json(id="site:2")) + "\n",
        encoding="utf-8",
    )
    with transaction(factory) as session:
        accounts.create_organisation(session, name="Eenheid", kind=OrganisationKind.POLICE)
    only = [job for job in JOBS if job.name == "ingest-folder"]

    (unset,) = run_due(factory, _settings(tmp_path), jobs=only, clock=lambda: T)
    assert unset.ok
    assert unset.summary == "no ingest folder (SIGNAAL_INGEST_FOLDER is not set)"

    nobody = _settings(tmp_path, ingest_folder=drop, ingest_organisation="Onbekend")
    (refused,) = run_due(factory, nobody, jobs=only, clock=lambda: T + timedelta(hours=1))
    assert not refused.ok
    assert "no organisation 'Onbekend'" in refused.summary
    assert (drop / "today.jsonl").exists()  # nothing was taken

    settings = _settings(tmp_path, ingest_folder=drop, ingest_organisation="Eenheid")
    (finished,) = run_due(factory, settings, jobs=only, clock=lambda: T + timedelta(hours=3))
    assert finished.ok, finished
    assert finished.summary.startswith("1 input(s) ingested (2 new ad(s) or version(s)")
    assert "analysis 1: 2 ads" in finished.summary
    assert [p.name for p in (drop / "done").iterdir()] == ["20261203T110000Z-today.jsonl"]
    with transaction(factory) as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "ads.ingested"))
        assert event.actor_email == "system"
