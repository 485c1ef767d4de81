"""The jobs ``signaal worker`` runs: one registry, :data:`JOBS`.

Each job calls the same service functions as its command (``signaal db purge-expired``,
``signaal chain expire-watches``, ``signaal chain remind``, ``signaal chain enforce-retention``,
``signaal chain sync-matches``; ``mail-alerts`` calls the watchlists' mail function), as the
system actor: the worker asks ``allowed(SYSTEM, job.action)`` before it runs a job, and the
services check and audit every record as they do for the command. A job returns a one-line
summary with counts (or a
:class:`JobOutcome` when it did its work but has problems to report, such as mails that could
not be sent yet); an exception fails the run, rolls its transaction back and is retried.

Adding a job is one entry in :data:`JOBS`: a name, a default schedule, the system action, a
help text and a function of the :class:`JobRun`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from signaal.chain.authz import SYSTEM, Action
from signaal.chain.referrals import overdue_routing_reminders
from signaal.chain.remote_matching import RemoteMatching, sync
from signaal.chain.retention import enforce_retention, periods_from
from signaal.chain.sessions import purge_dead_sessions
from signaal.chain.tasks import send_reminders
from signaal.chain.watches import expire_watches
from signaal.monitor.watchlists import send_alert_mails
from signaal.settings import Settings
from signaal.store.analysis import purge_expired
from signaal.store.ingested import purge_expired_ads


@dataclass(frozen=True)
class JobRun:
    """What a job gets: a session in the job's own transaction (committed when the job returns,
    rolled back when it raises), the worker's clock reading for this turn, and the settings."""

    db: Session
    now: datetime
    settings: Settings


@dataclass(frozen=True)
class JobOutcome:
    """A job that did its work (committed) but reports problems: the run counts as failed and
    is retried after ``SIGNAAL_WORKER_RETRY_SECONDS``."""

    summary: str
    problems: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Job:
    name: str
    default_schedule: str
    action: Action  # what the system actor must be allowed to do
    help: str
    run: Callable[[JobRun], str | JobOutcome]


def _purge_expired(run: JobRun) -> str:
    runs = purge_expired(run.db, actor=SYSTEM, now=run.now)
    sessions = purge_dead_sessions(run.db, settings=run.settings, now=run.now)
    ads = purge_expired_ads(run.db, actor=SYSTEM, now=run.now)
    return f"{len(runs)} expired analysis run(s) and {sessions} dead login session(s) deleted" + (
        f"; {ads} expired ingested ad version(s)" if ads else ""
    )


def _expire_watches(run: JobRun) -> str:
    deleted = expire_watches(run.db, run.now, actor=SYSTEM)
    return f"{len(deleted)} protective watch(es) past their end date deleted"


def _enforce_retention(run: JobRun) -> str:
    report = enforce_retention(run.db, now=run.now, periods=periods_from(run.settings))
    counts = ", ".join(f"{name} {count}" for name, count in report.counts.items() if count)
    return f"{report.total} record(s) past their retention period deleted" + (
        f" ({counts})" if counts else ""
    )


def _remind(run: JobRun) -> JobOutcome:
    summary = send_reminders(run.db, run.now, run.settings)
    routing = overdue_routing_reminders(
        run.db, run.now, hours=run.settings.chain_routing_overdue_hours
    )
    text = f"{summary.describe()}; {routing} reminder(s) of overdue routing"
    problems = list(summary.errors)
    if summary.failed and not problems:
        problems.append(f"{summary.failed} mail(s) could not be sent")
    return JobOutcome(text, tuple(problems))


def _mail_alerts(run: JobRun) -> JobOutcome:
    summary = send_alert_mails(run.db, run.now, run.settings)
    problems = list(summary.errors)
    if summary.failed and not problems:
        problems.append(f"{summary.failed} alert mail(s) could not be sent")
    return JobOutcome(summary.describe(), tuple(problems))


def _match_service_sync(run: JobRun) -> str | JobOutcome:
    remote = RemoteMatching.from_settings(run.settings)
    if remote is None:
        return "no match service (SIGNAAL_REMOTE_MATCH_URL is not set)"
    report = sync(run.db, remote, now=run.now)
    if report.problems:
        return JobOutcome(report.describe(), tuple(report.problems))
    return report.describe()


def _ingest_folder(run: JobRun) -> str | JobOutcome:
    from signaal.chain.accounts import find_organisation
    from signaal.errors import ConfigurationError
    from signaal.monitor.ingest import ingest_folder

    folder = run.settings.ingest_folder
    if folder is None:
        return "no ingest folder (SIGNAAL_INGEST_FOLDER is not set)"
    name = run.settings.ingest_organisation.strip()
    organisation = find_organisation(run.db, name) if name else None
    if organisation is None:
        raise ConfigurationError(
            "SIGNAAL_INGEST_ORGANISATION must name the organisation the ingested ads belong to"
            + (f" (no organisation {name!r})" if name else "")
        )
    outcome = ingest_folder(
        run.db.get_bind().engine,
        folder,
        organisation_id=organisation.id,
        settings=run.settings,
        now=run.now,
        actor=SYSTEM,
    )
    if outcome.failed:
        problems = tuple(f"{entry}: {why}" for entry, why in outcome.failed)
        return JobOutcome(outcome.describe(), problems)
    return outcome.describe()


JOBS: tuple[Job, ...] = (
    Job(
        "purge-expired",
        "1h",
        Action.PURGE_ANALYSIS,
        "Delete analysis runs past SIGNAAL_ANALYSIS_RETENTION_DAYS and dead login sessions "
        "(as `signaal db purge-expired`).",
        _purge_expired,
    ),
    Job(
        "expire-watches",
        "1h",
        Action.EXPIRE_WATCHES,
        "Delete protective watches past their end date, with their hits "
        "(as `signaal chain expire-watches`).",
        _expire_watches,
    ),
    Job(
        "enforce-retention",
        "1d",
        Action.ENFORCE_RETENTION,
        "Delete chain records past their category's SIGNAAL_RETENTION_*_DAYS, except what a "
        "legal hold keeps (as `signaal chain enforce-retention`).",
        _enforce_retention,
    ),
    Job(
        "remind",
        "15m",
        Action.REMIND_TASKS,
        "Remind the owners of due tasks, send queued mails, remind care coordinators of "
        "overdue routing (as `signaal chain remind`).",
        _remind,
    ),
    Job(
        "mail-alerts",
        "5m",
        Action.MAIL_WATCHLIST_ALERTS,
        "Tell users by e-mail that a watch on their watchlist has new alerts (no content, a "
        "link to log in); a failed mail is tried again next run.",
        _mail_alerts,
    ),
    Job(
        "match-service-sync",
        "5m",
        Action.SYNC_REMOTE_MATCHES,
        "Send queued encodings and withdrawals to the cross-deployment match service and read "
        "back its hits (as `signaal chain sync-matches`); does nothing while "
        "SIGNAAL_REMOTE_MATCH_URL is empty.",
        _match_service_sync,
    ),
    Job(
        "ingest-folder",
        "1h",
        Action.INGEST_ADS,
        "Ingest every file and folder of saved pages in SIGNAAL_INGEST_FOLDER for "
        "SIGNAAL_INGEST_ORGANISATION (as `signaal ingest`), move it to done/ or failed/, and "
        "analyse once; does nothing while SIGNAAL_INGEST_FOLDER is empty.",
        _ingest_folder,
    ),
)
