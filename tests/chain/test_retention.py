"""Retention per record category with a controlled clock: a record just inside its period
stays, one just outside goes; a legal hold keeps everything about its subject; a dry run
deletes nothing; one audit event per run with counts only. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import cases, retention, sharing, shelters
from signaal.chain.authz import SYSTEM
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import (
    AuditEvent,
    Case,
    ContactRequest,
    Notification,
    OutboxMail,
    OutreachContact,
    Signal,
    Subject,
    Task,
    TriageDecision,
    TriageItem,
)

from .retention_world import World, make_world

PERIODS = {
    "signals": 365,
    "cases": 730,
    "subjects": 730,
    "outreach_contacts": 365,
    "tasks": 180,
    "contact_requests": 180,
    "notifications": 90,
    "triage_decisions": 730,
    "sent_mails": 30,
}
MARGIN = timedelta(minutes=1)


@pytest.fixture
def w(db_session: Session) -> World:
    return make_world(db_session)


def _age(record: Any, **dates: datetime) -> None:
    for name, value in dates.items():
        setattr(record, name, value)


# One maker per category: a record of that category whose period counts from ``at``; returns
# the model and its id.
Maker = Callable[[World, datetime], tuple[type[Any], int]]


def _signal(w: World, at: datetime) -> tuple[type[Any], int]:
    signal = w.signal(text="Synthetisch signaal zonder persoon")
    _age(signal, updated_at=at)
    return Signal, signal.id


def _case(w: World, at: datetime) -> tuple[type[Any], int]:
    case = w.closed_case(w.subject(alias="Casus"), note="Synthetische notitie")
    _age(case, closed_at=at, updated_at=at)
    return Case, case.id


def _subject(w: World, at: datetime) -> tuple[type[Any], int]:
    subject = w.subject(alias="Stil", phones=["06-94320913"])
    _age(subject, created_at=at, updated_at=at)
    return Subject, subject.id


def _contact(w: World, at: datetime) -> tuple[type[Any], int]:
    contact = w.contact(outcome="Synthetisch gesprek")
    _age(contact, at=at)
    return OutreachContact, contact.id


def _task(w: World, at: datetime) -> tuple[type[Any], int]:
    task = w.finished_task(notes="Synthetisch")
    _age(task, done_at=at)
    return Task, task.id


def _request(w: World, at: datetime) -> tuple[type[Any], int]:
    theirs = w.person(w.officer, f"Politie {at.timestamp()}")
    w.person(w.coordinator, f"Zorg {at.timestamp()}")
    request = w.request_to_care(theirs, "Synthetisch verzoek", answer="Bel ons")
    _age(request, answered_at=at)
    return ContactRequest, request.id


def _notification(w: World, at: datetime) -> tuple[type[Any], int]:
    note = Notification(
        organisation_id=w.care.id, role="care_coordinator", kind="test", text="x", created_at=at
    )
    w.db.add(note)
    w.db.flush()
    return Notification, note.id


def _triage_decision(w: World, at: datetime) -> tuple[type[Any], int]:
    item = w.db.scalar(select(TriageItem).where(TriageItem.organisation_id == w.care.id))
    if item is None:
        item = TriageItem(organisation_id=w.care.id, kind="persona", item_id="P-1")
        w.db.add(item)
        w.db.flush()
    decision = TriageDecision(
        organisation_id=w.care.id, triage_item_id=item.id, run_id=1, decision="dismissed", at=at
    )
    w.db.add(decision)
    w.db.flush()
    return TriageDecision, decision.id


def _mail(w: World, at: datetime) -> tuple[type[Any], int]:
    mail = OutboxMail(
        organisation_id=w.care.id, to_address="a@example.test", subject="s", body="b", sent_at=at
    )
    w.db.add(mail)
    w.db.flush()
    return OutboxMail, mail.id


MAKERS: dict[str, Maker] = {
    "signals": _signal,
    "cases": _case,
    "subjects": _subject,
    "outreach_contacts": _contact,
    "tasks": _task,
    "contact_requests": _request,
    "notifications": _notification,
    "triage_decisions": _triage_decision,
    "sent_mails": _mail,
}


def _exists(db: Session, model: type[Any], record_id: int) -> bool:
    db.expire_all()
    return db.get(model, record_id) is not None


def test_every_category_has_a_setting_and_a_test() -> None:
    assert [c.name for c in retention.CATEGORIES] == list(MAKERS) == list(PERIODS)
    assert retention.periods_from(retention.get_settings()) == PERIODS


@pytest.mark.parametrize("category", list(MAKERS))
def test_just_inside_the_period_stays_and_just_outside_goes(w: World, category: str) -> None:
    cutoff = w.now - timedelta(days=PERIODS[category])
    inside = MAKERS[category](w, cutoff + MARGIN)
    outside = MAKERS[category](w, cutoff - MARGIN)
    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert _exists(w.db, *inside)
    assert not _exists(w.db, *outside)
    assert report.counts[category] == 1
    # Nothing else in this world was old enough for any category.
    assert report.total == 1


def test_the_period_counts_from_the_end_of_the_work_not_the_creation(w: World) -> None:
    long_ago = w.now - timedelta(days=3000)
    subject = w.subject(alias="Lopend")
    open_case = cases.open_case(w.db, w.coordinator, subject_id=subject.id)
    _age(open_case, opened_at=long_ago, updated_at=long_ago)
    _age(subject, created_at=long_ago, updated_at=long_ago)
    task = w.finished_task()
    _age(task, created_at=long_ago, done_at=w.now - timedelta(days=1))
    contact = w.contact(case=open_case)
    _age(contact, at=long_ago)
    referred = w.signal(text="Doorverwezen signaal")
    w.refer(referred, "Kunnen jullie helpen?")
    _age(referred, created_at=long_ago, updated_at=long_ago)
    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert report.total == 0
    for model, key in (
        (Case, open_case.id),
        (Subject, subject.id),
        (Task, task.id),
        (OutreachContact, contact.id),
        (Signal, referred.id),
    ):
        assert _exists(w.db, model, key), model.__name__


def test_a_legal_hold_keeps_everything_about_the_subject(w: World) -> None:
    old = w.now - timedelta(days=3000)
    subject = w.subject(alias="Bewaard")
    case = w.closed_case(subject, note="Aangifte loopt")
    _age(case, closed_at=old, updated_at=old)
    contact = w.contact(subject=subject)
    task = w.finished_task(subject=subject)
    _age(contact, at=old)
    _age(task, created_at=old, done_at=old)
    _age(subject, created_at=old, updated_at=old)
    retention.set_legal_hold(
        w.db,
        w.coordinator,
        subject,
        hold=True,
        reason="Strafzaak OM, parketnummer synthetisch",
        ip=None,
    )
    _age(subject, updated_at=old)
    kept = [(Subject, subject.id), (Case, case.id), (OutreachContact, contact.id), (Task, task.id)]
    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert report.total == 0
    assert all(_exists(w.db, *record) for record in kept)

    held = w.db.get(Subject, subject.id)
    assert held is not None
    retention.set_legal_hold(w.db, w.coordinator, held, hold=False, ip=None)
    _age(held, updated_at=old)
    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert not any(_exists(w.db, *record) for record in kept)
    assert report.counts["subjects"] == 1


def test_the_legal_hold_needs_a_reason_a_role_that_may_and_the_own_subject(w: World) -> None:
    subject = w.subject(alias="Houden")
    with pytest.raises(FieldErrors):
        retention.set_legal_hold(w.db, w.coordinator, subject, hold=True, reason=" ", ip=None)
    with pytest.raises(NotFoundError):
        retention.set_legal_hold(w.db, w.officer, subject, hold=True, reason="Zaak", ip=None)
    with pytest.raises(NotFoundError):
        retention.set_legal_hold(w.db, w.shelter_worker, subject, hold=True, reason="Zaak", ip=None)
    retention.set_legal_hold(w.db, w.coordinator, subject, hold=True, reason="Zaak 12", ip=None)
    assert subject.legal_hold
    assert subject.legal_hold_at is not None
    event = w.db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert "legal_hold_set" in event.details
    assert "Zaak 12" not in event.details


def test_a_dry_run_counts_what_a_run_deletes_and_deletes_nothing(w: World) -> None:
    made = []
    for category, maker in MAKERS.items():
        made.append(maker(w, w.now - timedelta(days=PERIODS[category]) - MARGIN))
    dry = retention.enforce_retention(w.db, now=w.now, periods=PERIODS, dry_run=True)
    assert all(_exists(w.db, *record) for record in made)
    real = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert dry.counts == real.counts
    assert dry.dry_run
    assert not real.dry_run
    assert not any(_exists(w.db, *record) for record in made)


def test_one_audit_event_per_run_with_counts_only(w: World) -> None:
    _subject(w, w.now - timedelta(days=800))
    _signal(w, w.now - timedelta(days=400))
    before = w.db.scalar(select(func.max(AuditEvent.seq))) or 0
    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    events = w.db.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [e.action for e in events] == ["retention.enforced"]
    event = events[0]
    assert event.actor_email == "system"
    assert event.organisation_id is None
    details = json.loads(event.details)
    assert details == {"counts": dict(report.counts), "dry_run": False, "now": w.now.isoformat()}
    assert set(details["counts"]) == set(PERIODS)
    assert all(isinstance(n, int) for n in details["counts"].values())
    assert details["counts"]["subjects"] == 1
    assert details["counts"]["signals"] == 1
    assert "Stil" not in event.details
    assert audit.verify(w.db).ok


def test_only_the_system_enforces_retention(w: World) -> None:
    with pytest.raises(PermissionDenied):
        retention.enforce_retention(w.db, now=w.now, actor=w.coordinator)
    assert retention.enforce_retention(w.db, now=w.now, actor=SYSTEM).total >= 0


def test_now_must_be_aware_and_categories_known(w: World) -> None:
    with pytest.raises(ValueError, match="aware"):
        retention.enforce_retention(w.db, now=w.now.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unknown"):
        retention.enforce_retention(w.db, now=w.now, periods={"everything": 1})


def test_a_running_placement_or_a_partners_case_keeps_the_subject(w: World) -> None:
    old = w.now - timedelta(days=3000)
    placed = w.subject(alias="Opgevangen")
    case = cases.open_case(w.db, w.coordinator, subject_id=placed.id)
    shelter = shelters.create_shelter(
        w.db, w.shelter_worker, name="Synthetische opvang", capacity=3, available_places=1
    )
    placement = shelters.offer_place(w.db, w.coordinator, shelter_id=shelter.id, case_id=case.id)
    cases.move_stage(w.db, w.coordinator, case, to_stage="closed", reason="Opgevangen")
    _age(case, opened_at=old, closed_at=old, updated_at=old)
    _age(placement, offered_at=old)
    _age(placed, created_at=old, updated_at=old)

    shared = w.subject(alias="Gedeeld")
    sharing.share_record(w.db, w.coordinator, shared, w.police.id, "Samen oppakken", ip=None)
    theirs = cases.open_case(w.db, w.officer, subject_id=shared.id)
    cases.move_stage(w.db, w.officer, theirs, to_stage="closed", reason="Afgerond")
    _age(shared, created_at=old, updated_at=old)
    _age(theirs, opened_at=old, closed_at=w.now - timedelta(days=10), updated_at=old)

    report = retention.enforce_retention(w.db, now=w.now, periods=PERIODS)
    assert report.counts["subjects"] == 0
    assert report.counts["cases"] == 1  # the own closed case of the placed subject
    assert _exists(w.db, Subject, placed.id)
    assert _exists(w.db, Subject, shared.id)
