"""Retention per record category, and the legal hold that suspends it for one subject.

Each category of the chain's records has a period (``SIGNAAL_RETENTION_<CATEGORY>_DAYS``,
:data:`CATEGORIES`), counted from the date that says the record's work is done: a closed case
from its closing, a task from its finishing, a person from the last activity on her records;
never from the creation of something still in use (an open case, a referral in progress).
:func:`enforce_retention` (``signaal chain enforce-retention``, the system actor with action
``retention.enforce``) deletes what is past its period at ``now`` and writes one audit event
with the counts per category, nothing else. The clock is injected (``now``), so that tests and
a scheduled worker decide what "now" is; until the worker schedules it, cron runs the command.

A **legal hold** (:func:`set_legal_hold`, action ``subjects.legal_hold``) on a subject keeps
everything about her, whatever its age: her signals, cases, outreach contacts, tasks and
contact requests, and the subject herself; an erasure request is refused while it is on
(:mod:`signaal.chain.data_requests`). Setting and lifting it are audited with the reason's
presence, never its text (which is encrypted at rest).

What is not here: analysis runs (``SIGNAAL_ANALYSIS_RETENTION_DAYS``, ``signaal db
purge-expired``), protective watches (deleted at their end date, ``signaal chain
expire-watches``), the audit log (append-only and hash-chained: never deleted by Signaal),
accounts, sessions and sharing agreements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import journal, remote_matching
from signaal.chain.authz import SYSTEM, Action, Actor, Resource, allowed
from signaal.chain.signals import clean_text
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.settings import Settings, get_settings
from signaal.store.models import (
    AangifteSupport,
    Case,
    CaseEvent,
    ContactRequest,
    EmergencyAccess,
    Notification,
    OutboxMail,
    OutreachContact,
    Placement,
    RecordShare,
    Referral,
    Signal,
    Subject,
    SubjectContact,
    SubjectEncoding,
    Task,
    TriageDecision,
    VulnerabilityAssessment,
    utcnow,
)

MAX_HOLD_REASON = 500
FINISHED_TASKS = ("done", "cancelled")
# A referral in one of these states still needs its signal (the receiver is working on it).
ACTIVE_REFERRALS = ("in_progress", "accepted")
# A placement offered or running keeps its subject, however long ago it started.
ACTIVE_PLACEMENTS = ("offered", "placed")


@dataclass(frozen=True)
class Category:
    """A record category with its own retention period."""

    name: str
    setting: str  # the Settings field with the period in days
    counted_from: str  # what the period counts from (for docs and the command's table)


CATEGORIES: tuple[Category, ...] = (
    Category("signals", "retention_signals_days", "last change; signals linked to no person"),
    Category("cases", "retention_cases_days", "closing"),
    Category(
        "subjects",
        "retention_subjects_days",
        "last activity on her records; no open case",
    ),
    Category("outreach_contacts", "retention_outreach_contacts_days", "the contact"),
    Category("tasks", "retention_tasks_days", "done or cancelled"),
    Category("contact_requests", "retention_contact_requests_days", "answer (or sending)"),
    Category("notifications", "retention_notifications_days", "creation"),
    Category("triage_decisions", "retention_triage_decisions_days", "the decision"),
    Category("sent_mails", "retention_sent_mails_days", "sending"),
)


def periods_from(settings: Settings) -> dict[str, int]:
    """The period in days of every category, from the settings."""
    return {c.name: int(getattr(settings, c.setting)) for c in CATEGORIES}


@dataclass(frozen=True)
class RetentionReport:
    """What one run deleted (or, in a dry run, would delete): counts per category."""

    counts: Mapping[str, int]
    periods: Mapping[str, int]
    dry_run: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# ----------------------------------------------------------------------------------------------
# Which records are past their period


def _held() -> Any:
    return select(Subject.id).where(Subject.legal_hold.is_(True)).scalar_subquery()


def _not_held(subject_id: Any) -> ColumnElement[bool]:
    return or_(subject_id.is_(None), subject_id.not_in(_held()))


def _case_not_open_nor_held(case_id: Any) -> ColumnElement[bool]:
    """The record's case (if any) is closed and its subject is not under a hold."""
    return or_(
        case_id.is_(None),
        ~exists().where(
            Case.id == case_id,
            or_(Case.closed_at.is_(None), Case.subject_id.in_(_held())),
        ),
    )


def _finished_before(finished: Any, started: Any, cutoff: datetime) -> ColumnElement[bool]:
    """Finished before ``cutoff``, or never finished and started before it."""
    return or_(
        and_(finished.is_not(None), finished < cutoff),
        and_(finished.is_(None), started < cutoff),
    )


def _expired_signals(db: Session, cutoff: datetime) -> list[int]:
    active = exists().where(Referral.signal_id == Signal.id, Referral.state.in_(ACTIVE_REFERRALS))
    return list(
        db.scalars(
            select(Signal.id).where(
                Signal.subject_id.is_(None), Signal.updated_at < cutoff, ~active
            )
        )
    )


def _expired_cases(db: Session, cutoff: datetime) -> list[int]:
    return list(
        db.scalars(
            select(Case.id).where(
                Case.closed_at.is_not(None), Case.closed_at < cutoff, _not_held(Case.subject_id)
            )
        )
    )


def _expired_subjects(db: Session, cutoff: datetime) -> list[int]:
    """Subjects not under a hold, without an open case or a running placement, without a
    partner's case about them, and without anything done on their records since ``cutoff``."""
    recent = or_(
        exists().where(Signal.subject_id == Subject.id, Signal.updated_at >= cutoff),
        exists().where(
            Case.subject_id == Subject.id,
            or_(Case.closed_at.is_(None), Case.updated_at >= cutoff),
        ),
        exists().where(OutreachContact.subject_id == Subject.id, OutreachContact.at >= cutoff),
        exists().where(
            Task.subject_id == Subject.id,
            or_(Task.created_at >= cutoff, Task.done_at >= cutoff),
        ),
        exists().where(Referral.subject_id == Subject.id, Referral.updated_at >= cutoff),
        exists().where(
            Placement.subject_id == Subject.id,
            or_(
                and_(Placement.ended_at.is_(None), Placement.state.in_(ACTIVE_PLACEMENTS)),
                Placement.offered_at >= cutoff,
                Placement.ended_at >= cutoff,
            ),
        ),
        # A partner's case about her (on a share) is the partner's: she stays while it exists.
        exists().where(
            Case.subject_id == Subject.id, Case.organisation_id != Subject.organisation_id
        ),
        exists().where(
            or_(
                ContactRequest.subject_id == Subject.id, ContactRequest.to_subject_id == Subject.id
            ),
            or_(ContactRequest.created_at >= cutoff, ContactRequest.answered_at >= cutoff),
        ),
    )
    return list(
        db.scalars(
            select(Subject.id).where(
                Subject.legal_hold.is_(False), Subject.updated_at < cutoff, ~recent
            )
        )
    )


def _expired_outreach_contacts(db: Session, cutoff: datetime) -> list[int]:
    return list(
        db.scalars(
            select(OutreachContact.id).where(
                OutreachContact.at < cutoff,
                _not_held(OutreachContact.subject_id),
                _case_not_open_nor_held(OutreachContact.case_id),
            )
        )
    )


def _expired_tasks(db: Session, cutoff: datetime) -> list[int]:
    return list(
        db.scalars(
            select(Task.id).where(
                Task.status.in_(FINISHED_TASKS),
                _finished_before(Task.done_at, Task.created_at, cutoff),
                _not_held(Task.subject_id),
                _case_not_open_nor_held(Task.case_id),
            )
        )
    )


def _expired_contact_requests(db: Session, cutoff: datetime) -> list[int]:
    return list(
        db.scalars(
            select(ContactRequest.id).where(
                _finished_before(ContactRequest.answered_at, ContactRequest.created_at, cutoff),
                _not_held(ContactRequest.subject_id),
                _not_held(ContactRequest.to_subject_id),
            )
        )
    )


def _expired_notifications(db: Session, cutoff: datetime) -> list[int]:
    return list(db.scalars(select(Notification.id).where(Notification.created_at < cutoff)))


def _expired_triage_decisions(db: Session, cutoff: datetime) -> list[int]:
    return list(db.scalars(select(TriageDecision.id).where(TriageDecision.at < cutoff)))


def _expired_sent_mails(db: Session, cutoff: datetime) -> list[int]:
    return list(
        db.scalars(
            select(OutboxMail.id).where(
                OutboxMail.sent_at.is_not(None), OutboxMail.sent_at < cutoff
            )
        )
    )


_EXPIRED = {
    "signals": _expired_signals,
    "cases": _expired_cases,
    "subjects": _expired_subjects,
    "outreach_contacts": _expired_outreach_contacts,
    "tasks": _expired_tasks,
    "contact_requests": _expired_contact_requests,
    "notifications": _expired_notifications,
    "triage_decisions": _expired_triage_decisions,
    "sent_mails": _expired_sent_mails,
}


# ----------------------------------------------------------------------------------------------
# Deleting


def _count(db: Session, model: Any, condition: ColumnElement[bool]) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _forget_references(db: Session, record_type: str, ids: Sequence[int]) -> int:
    """Delete the shares, emergency accesses and notifications that name deleted records (they
    refer by type and id, without a foreign key). Returns how many rows went."""
    if not ids:
        return 0
    gone = 0
    for model in (RecordShare, EmergencyAccess, Notification):
        condition = and_(model.record_type == record_type, model.record_id.in_(ids))
        gone += _count(db, model, condition)
        db.execute(delete(model).where(condition).execution_options(synchronize_session=False))
    return gone


def _delete(db: Session, model: Any, ids: Sequence[int]) -> None:
    if ids:
        db.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        )


def _ids(db: Session, column: Any, condition: ColumnElement[bool]) -> list[int]:
    return sorted(set(db.scalars(select(column).where(condition))))


def _delete_signals(db: Session, ids: Sequence[int]) -> None:
    """Signals with their persona links and referrals (foreign keys cascade)."""
    _forget_references(db, "signal", ids)
    _delete(db, Signal, ids)


def _delete_cases(db: Session, ids: Sequence[int]) -> None:
    """Cases with their history, assessments, aangifte support and referrals (cascade)."""
    _forget_references(db, "case", ids)
    _delete(db, Case, ids)


def erase_subject_records(db: Session, subject_ids: Sequence[int]) -> dict[str, int]:
    """Delete the subjects and everything that hangs on them in their organisation: contact
    points and encodings, signals, cases (history, assessments, aangifte support), outreach
    contacts, tasks, placements, referrals, contact requests on either side, and the shares,
    emergency accesses and notifications that name these records. The audit log stays. Returns
    the rows deleted per record kind. No permission check: the callers decide."""
    subjects = sorted(set(subject_ids))
    if not subjects:
        return {}
    owners: dict[int, int] = dict(
        db.execute(
            select(Subject.id, Subject.organisation_id).where(Subject.id.in_(subjects))
        ).all()
    )
    counts: Counter[str] = Counter()
    for organisation_id in sorted(set(owners.values())):
        own = [s for s in subjects if owners.get(s) == organisation_id]
        counts.update(_erase_within(db, organisation_id, own))
    return {kind: n for kind, n in sorted(counts.items()) if n}


@dataclass(frozen=True)
class Dependents:
    """The ids of an organisation's records that hang on some of its subjects: what an erasure
    deletes and an access request exports (contact requests: of both sides)."""

    signals: list[int]
    cases: list[int]
    contacts: list[int]
    tasks: list[int]
    placements: list[int]
    referrals: list[int]
    requests: list[int]


def dependents(db: Session, organisation_id: int, subjects: list[int]) -> Dependents:
    signals = _ids(
        db,
        Signal.id,
        and_(Signal.organisation_id == organisation_id, Signal.subject_id.in_(subjects)),
    )
    cases = _ids(
        db, Case.id, and_(Case.organisation_id == organisation_id, Case.subject_id.in_(subjects))
    )
    contacts = _ids(
        db,
        OutreachContact.id,
        and_(
            OutreachContact.organisation_id == organisation_id,
            or_(OutreachContact.subject_id.in_(subjects), OutreachContact.case_id.in_(cases)),
        ),
    )
    tasks = _ids(
        db,
        Task.id,
        and_(
            Task.organisation_id == organisation_id,
            or_(
                Task.subject_id.in_(subjects),
                Task.case_id.in_(cases),
                Task.signal_id.in_(signals),
                Task.contact_id.in_(contacts),
            ),
        ),
    )
    placements = _ids(
        db,
        Placement.id,
        and_(
            Placement.organisation_id == organisation_id,
            or_(Placement.subject_id.in_(subjects), Placement.case_id.in_(cases)),
        ),
    )
    referrals = _ids(
        db,
        Referral.id,
        and_(
            Referral.organisation_id == organisation_id,
            or_(
                Referral.subject_id.in_(subjects),
                Referral.signal_id.in_(signals),
                Referral.case_id.in_(cases),
            ),
        ),
    )
    # A contact request joins a subject of each side and cannot stand without either.
    requests = _ids(
        db,
        ContactRequest.id,
        or_(ContactRequest.subject_id.in_(subjects), ContactRequest.to_subject_id.in_(subjects)),
    )
    return Dependents(signals, cases, contacts, tasks, placements, referrals, requests)


def _erase_within(db: Session, organisation_id: int, subjects: list[int]) -> Counter[str]:
    """:func:`erase_subject_records` for subjects of one organisation: only its own records."""
    found = dependents(db, organisation_id, subjects)
    cases = found.cases
    counts: Counter[str] = Counter()
    counts["subjects"] = len(subjects)
    # Her records at the match service are withdrawn with her (queued in this transaction).
    remote_matching.withdraw_subjects(db, subjects, now=utcnow())
    counts["remote_match_records"], counts["remote_hits"] = remote_matching.forget_subjects(
        db, subjects
    )
    counts["subject_contacts"] = _count(db, SubjectContact, SubjectContact.subject_id.in_(subjects))
    counts["subject_encodings"] = _count(
        db, SubjectEncoding, SubjectEncoding.subject_id.in_(subjects)
    )
    counts["signals"] = len(found.signals)
    counts["cases"] = len(cases)
    counts["case_events"] = _count(db, CaseEvent, CaseEvent.case_id.in_(cases))
    counts["vulnerability_assessments"] = _count(
        db, VulnerabilityAssessment, VulnerabilityAssessment.case_id.in_(cases)
    )
    counts["aangifte_supports"] = _count(db, AangifteSupport, AangifteSupport.case_id.in_(cases))
    counts["outreach_contacts"] = len(found.contacts)
    counts["tasks"] = len(found.tasks)
    counts["placements"] = len(found.placements)
    counts["referrals"] = len(found.referrals)
    counts["contact_requests"] = len(found.requests)
    references = 0
    for record_type, ids in (
        ("subject", subjects),
        ("signal", found.signals),
        ("case", cases),
        ("task", found.tasks),
        ("referral", found.referrals),
        ("contact_request", found.requests),
    ):
        references += _forget_references(db, record_type, ids)
    counts["references"] = references
    for model, ids in (
        (Task, found.tasks),
        (OutreachContact, found.contacts),
        (Placement, found.placements),
        (Referral, found.referrals),
        (ContactRequest, found.requests),
        (Case, cases),
        (Signal, found.signals),
        (Subject, subjects),
    ):
        _delete(db, model, ids)
    return counts


def _delete_category(db: Session, name: str, ids: list[int]) -> None:
    if name == "signals":
        _delete_signals(db, ids)
    elif name == "cases":
        _delete_cases(db, ids)
    elif name == "subjects":
        erase_subject_records(db, ids)
    elif name == "outreach_contacts":
        _delete(db, OutreachContact, ids)
    elif name == "tasks":
        _forget_references(db, "task", ids)
        _delete(db, Task, ids)
    elif name == "contact_requests":
        _forget_references(db, "contact_request", ids)
        _delete(db, ContactRequest, ids)
    elif name == "notifications":
        _delete(db, Notification, ids)
    elif name == "triage_decisions":
        _delete(db, TriageDecision, ids)
    elif name == "sent_mails":
        _delete(db, OutboxMail, ids)
    else:  # pragma: no cover - CATEGORIES and this list are kept together
        raise ValueError(f"unknown retention category {name!r}")


def enforce_retention(
    db: Session,
    *,
    now: datetime,
    actor: Actor = SYSTEM,
    periods: Mapping[str, int] | None = None,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete every record whose category's period ended before ``now`` (``periods``: days per
    category, default from the settings), except what a legal hold keeps; ``dry_run`` only
    counts. Writes one audit event with the counts per category. The caller commits."""
    if not allowed(actor, Action.ENFORCE_RETENTION):
        raise PermissionDenied("retention.enforce not allowed")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    days = {**periods_from(get_settings()), **(periods or {})}
    unknown = set(days) - set(_EXPIRED)
    if unknown:
        raise ValueError(f"unknown retention categories: {sorted(unknown)}")
    # Every category is decided on the store as it is before this run deletes anything, so that
    # a dry run counts exactly what a real run deletes; persons go last, with what still hangs
    # on them.
    expired = {
        category.name: _EXPIRED[category.name](db, now - timedelta(days=days[category.name]))
        for category in CATEGORIES
    }
    if not dry_run:
        for category in sorted(CATEGORIES, key=lambda c: c.name == "subjects"):
            _delete_category(db, category.name, expired[category.name])
        db.flush()
    counts = {name: len(ids) for name, ids in expired.items()}
    audit.record(
        db,
        audit.RetentionEnforced(counts=counts, dry_run=dry_run, now=now.isoformat()),
        actor=actor,
        ip=None,
    )
    return RetentionReport(counts=counts, periods=days, dry_run=dry_run)


# ----------------------------------------------------------------------------------------------
# The legal hold


def _owned(subject: Subject) -> Resource:
    return Resource("subject", str(subject.id), organisation_id=subject.organisation_id)


def set_legal_hold(
    db: Session,
    actor: Actor,
    subject: Subject,
    *,
    hold: bool,
    reason: str = "",
    ip: str | None,
    now: datetime | None = None,
) -> Subject:
    """Put a legal hold on an own subject (a reason is required: an aangifte, a court case, a
    complaint) or lift it. Audited with the change, never the reason's text."""
    if not allowed(actor, Action.HOLD_SUBJECTS, _owned(subject)):
        raise NotFoundError("no such subject")
    cleaned = clean_text(reason, MAX_HOLD_REASON)
    if hold and not cleaned:
        raise FieldErrors({"reason": f"required, at most {MAX_HOLD_REASON} characters"})
    if cleaned is None:
        raise FieldErrors({"reason": f"at most {MAX_HOLD_REASON} characters"})
    now = now or utcnow()
    subject.legal_hold = hold
    subject.legal_hold_reason = cleaned if hold else None
    subject.legal_hold_at = now if hold else None
    subject.legal_hold_by_user_id = (
        (actor.user_id if actor.token_id is None else None) if hold else None
    )
    db.flush()
    journal.written(
        db,
        actor,
        "subject",
        subject.id,
        "legal_hold_set" if hold else "legal_hold_lifted",
        ip=ip,
        subject_id=subject.id,
        fields={"legal_hold": hold},
    )
    return subject


def categories_table(periods: Mapping[str, int]) -> Iterable[tuple[str, int, str]]:
    """(category, days, counted from) for the command's table."""
    return ((c.name, periods[c.name], c.counted_from) for c in CATEGORIES)
