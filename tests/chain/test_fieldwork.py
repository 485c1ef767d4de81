"""Outreach contacts, tasks, reminders (outbox and SMTP), shelters and joint controls, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fake_smtp import SmtpServer, running_smtp_server
from signaal.chain import cases, controls, outreach, shelters, tasks
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.settings import load_settings
from signaal.store.db import session_factory
from signaal.store.models import (
    AuditEvent,
    Notification,
    OutboxMail,
    OutreachContact,
    Placement,
    Shelter,
    Task,
)

from .casework_fixtures import KEYS, World, world

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def w(db_session: Session) -> World:
    return world(db_session)


# --- Outreach contacts -------------------------------------------------------------------------


def test_a_contact_keeps_the_number_pseudonymised_sealed_and_masked(
    db_session: Session, w: World
) -> None:
    contact = outreach.log_contact(
        db_session,
        w.worker,
        KEYS,
        kind="street",
        municipality="den haag",
        location="Geleenstraat",
        outcome="Goed gesprek",
        phone="06 1234 5678",
    )
    assert contact.municipality == "'s-Gravenhage"
    assert contact.phone_masked == "06-•••••78"
    assert contact.phone_pseudonym is not None
    assert contact.phone_pseudonym.startswith("phone:")
    assert "12345678" not in (contact.phone_sealed or "")
    for event in db_session.scalars(select(AuditEvent)):
        assert "12345678" not in event.details
        assert "Goed gesprek" not in event.details
    value = outreach.reveal_phone(db_session, w.worker, KEYS, contact, purpose="call_back")
    assert value == "+31612345678"
    revealed = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "chain.record_read")
    ).all()[-1]
    assert revealed.purpose == "call_back"
    assert json.loads(revealed.details)["view"] == "phone_revealed"


def test_the_number_is_revealed_only_with_a_purpose_and_only_to_reveal_roles(
    db_session: Session, w: World
) -> None:
    from .casework_fixtures import actor

    contact = outreach.log_contact(db_session, w.worker, KEYS, kind="phone", phone="0612345678")
    with pytest.raises(FieldErrors):
        outreach.reveal_phone(db_session, w.worker, KEYS, contact, purpose="curious")
    with pytest.raises(PermissionDenied):
        outreach.reveal_phone(db_session, w.officer, KEYS, contact, purpose="protection")
    viewer = actor(db_session, w.outreach, "viewer", "viewer@outreach.example.test")
    with pytest.raises(PermissionDenied):
        outreach.reveal_phone(db_session, viewer, KEYS, contact, purpose="call_back")


def test_a_contact_checks_every_field_and_writes_nothing_on_an_error(
    db_session: Session, w: World
) -> None:
    with pytest.raises(FieldErrors) as caught:
        outreach.log_contact(
            db_session,
            w.worker,
            KEYS,
            kind="party",
            municipality="Atlantis",
            phone="12",
            outcome="x" * 5000,
            next_contact_at=datetime(2000, 1, 1, tzinfo=UTC),
            case_id=12345,
        )
    assert set(caught.value.fields) == {
        "kind",
        "municipality",
        "phone",
        "outcome",
        "next_contact_at",
        "case_id",
    }
    assert db_session.scalar(select(func.count()).select_from(OutreachContact)) == 0


def test_a_contact_on_a_case_lands_in_its_history(db_session: Session, w: World) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    contact = outreach.log_contact(db_session, w.worker, KEYS, kind="walk_in", case_id=case.id)
    assert contact.subject_id == w.subject.id
    detail = cases.case_detail(db_session, w.worker, case)
    assert [c.id for c in detail.contacts] == [contact.id]
    assert detail.events[-1].kind == "contact"
    with pytest.raises(FieldErrors):  # the police cannot log on the outreach's case
        outreach.log_contact(db_session, w.officer, KEYS, kind="street", case_id=case.id)


def test_call_back_tomorrow_is_one_call_with_a_task_at_ten_amsterdam(
    db_session: Session, w: World
) -> None:
    late_evening = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 00:30 on the 25th in Amsterdam
    contact, task = outreach.call_back_tomorrow(
        db_session, w.worker, KEYS, now=late_evening, kind="street", phone="0612345678"
    )
    assert task.kind == "call_back"
    assert task.owner_user_id == w.worker.user_id
    assert task.contact_id == contact.id
    local = tasks.aware(task.due_at).astimezone(AMSTERDAM)
    assert (local.day, local.hour, local.minute) == (26, 10, 0)  # across the clock change


def test_tomorrow_morning_across_daylight_saving() -> None:
    due = tasks.tomorrow_morning(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert due == datetime(2026, 3, 29, 8, tzinfo=UTC)  # CEST: UTC+2


# --- Tasks -------------------------------------------------------------------------------------


def test_a_new_task_due_in_the_past_is_refused(db_session: Session, w: World) -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    with pytest.raises(FieldErrors) as caught:
        tasks.create_task(
            db_session, w.worker, title="Bezoek", due_at=now - timedelta(hours=1), now=now
        )
    assert caught.value.fields == {"due_at": "lies in the past"}
    assert db_session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_task_checks_every_field(db_session: Session, w: World) -> None:
    with pytest.raises(FieldErrors) as caught:
        tasks.create_task(
            db_session,
            w.worker,
            title="",
            kind="dance",
            due_at="tomorrow",
            owner_user_id=w.officer.user_id,
        )
    assert set(caught.value.fields) == {"title", "kind", "due_at", "owner_user_id"}


def test_mine_team_and_overdue(db_session: Session, w: World) -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    mine = tasks.create_task(
        db_session, w.worker, title="Bellen", due_at=now + timedelta(hours=1), now=now
    )
    theirs = tasks.create_task(
        db_session, w.colleague, title="Bezoek", due_at=now + timedelta(hours=2), now=now
    )
    later = now + timedelta(hours=3)
    assert [t.id for t in tasks.list_tasks(db_session, w.worker, view="mine", now=later).items] == [
        mine.id
    ]
    team = tasks.list_tasks(db_session, w.worker, view="team", now=later).items
    assert [t.id for t in team] == [mine.id, theirs.id]
    overdue = tasks.list_tasks(db_session, w.worker, view="overdue", now=now).items
    assert overdue == []
    assert len(tasks.list_tasks(db_session, w.worker, view="overdue", now=later).items) == 2
    assert tasks.list_tasks(db_session, w.officer, view="team", now=later).items == []
    tasks.finish_task(db_session, w.worker, mine)
    assert [t.id for t in tasks.list_tasks(db_session, w.worker, view="team", now=later).items] == [
        theirs.id
    ]
    with pytest.raises(PermissionDenied):
        tasks.finish_task(db_session, w.officer, theirs)


# --- Reminders ---------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def _due_task(db: Session, w: World, now: datetime) -> Task:
    task = tasks.create_task(
        db, w.worker, title="Terugbellen Roos", due_at=now + timedelta(minutes=5), now=now
    )
    db.commit()
    return task


def test_reminders_are_sent_once_and_queue_without_smtp(
    db_session: Session, w: World, tmp_path: Path
) -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    task = _due_task(db_session, w, now)
    settings = load_settings(env="development", data_dir=tmp_path)
    early = tasks.send_reminders(db_session, now, settings)
    assert early.reminded == 0
    summary = tasks.send_reminders(db_session, now + timedelta(minutes=10), settings)
    db_session.commit()
    assert (summary.reminded, summary.queued, summary.sent, summary.pending) == (1, 1, 0, 1)
    assert "no SMTP host" in summary.describe()
    again = tasks.send_reminders(db_session, now + timedelta(minutes=20), settings)
    assert again.reminded == 0
    assert again.queued == 0
    notes = db_session.scalars(select(Notification)).all()
    assert [(n.user_id, n.record_id) for n in notes] == [(w.worker.user_id, task.id)]
    mail = db_session.scalars(select(OutboxMail)).one()
    assert mail.to_address == "worker@outreach.example.test"
    assert "Roos" not in mail.body
    assert "Roos" not in mail.subject
    assert mail.sent_at is None


def test_reminders_go_out_through_smtp(
    db_session: Session, w: World, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    _due_task(db_session, w, now)
    host, port = smtp_server.server_address[:2]
    settings = load_settings(
        env="development", data_dir=tmp_path, smtp_host=str(host), smtp_port=int(port)
    )
    summary = tasks.send_reminders(db_session, now + timedelta(hours=1), settings)
    db_session.commit()
    assert (summary.sent, summary.pending, summary.failed) == (1, 0, 0)
    assert len(smtp_server.messages) == 1
    assert "worker@outreach.example.test" in smtp_server.messages[0]
    assert db_session.scalars(select(OutboxMail)).one().sent_at is not None
    second = tasks.send_reminders(db_session, now + timedelta(hours=2), settings)
    assert second.sent == 0
    assert len(smtp_server.messages) == 1


def test_an_unreachable_smtp_server_keeps_the_mails(
    db_session: Session, w: World, tmp_path: Path
) -> None:
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    _due_task(db_session, w, now)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(
        env="development", data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port
    )
    summary = tasks.send_reminders(db_session, now + timedelta(hours=1), settings)
    assert summary.errors
    assert summary.pending == 1
    assert summary.sent == 0


# --- Shelters and placements -------------------------------------------------------------------


def _shelter(db: Session, w: World, free: int = 1, capacity: int = 4) -> Shelter:
    shelter = shelters.create_shelter(
        db,
        w.shelter_worker,
        name="Huis Noord",
        municipality="Groningen",
        capacity=capacity,
        available_places=free,
    )
    db.commit()
    return shelter


def test_places_stay_between_zero_and_capacity(db_session: Session, w: World) -> None:
    shelter = _shelter(db_session, w)
    for bad in (-1, 5, "3", True):
        with pytest.raises(FieldErrors) as caught:
            shelters.update_places(db_session, w.shelter_worker, shelter, available_places=bad)
        assert set(caught.value.fields) == {"available_places"}
    assert shelter.available_places == 1
    shelters.update_places(db_session, w.shelter_worker, shelter, available_places=3)
    assert shelter.available_places == 3
    with pytest.raises(PermissionDenied):  # only the shelter's own staff
        shelters.update_places(db_session, w.worker, shelter, available_places=0)
    listed = shelters.directory(db_session, w.officer)
    assert [s.id for s in listed] == [shelter.id]


def test_placing_takes_a_place_and_a_full_shelter_refuses(db_session: Session, w: World) -> None:
    shelter = _shelter(db_session, w, free=1)
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    placement = shelters.place_now(db_session, w.worker, shelter_id=shelter.id, case_id=case.id)
    assert placement.state == "placed"
    db_session.refresh(shelter)
    assert shelter.available_places == 0
    offer = shelters.offer_place(db_session, w.worker, shelter_id=shelter.id, case_id=case.id)
    with pytest.raises(FieldErrors) as caught:
        shelters.transition(db_session, w.worker, offer, to_state="placed")
    assert caught.value.fields == {"shelter_id": shelters.NO_FREE_PLACE}
    assert offer.state == "offered"
    count = db_session.scalar(select(func.count()).select_from(Placement))
    with pytest.raises(FieldErrors):
        shelters.place_now(db_session, w.worker, shelter_id=shelter.id, case_id=case.id)
    assert db_session.scalar(select(func.count()).select_from(Placement)) == count
    shelters.transition(db_session, w.worker, placement, to_state="ended")
    db_session.refresh(shelter)
    assert shelter.available_places == 1


def test_forbidden_placement_transitions_change_nothing(db_session: Session, w: World) -> None:
    shelter = _shelter(db_session, w, free=2)
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    offer = shelters.offer_place(db_session, w.worker, shelter_id=shelter.id, case_id=case.id)
    with pytest.raises(FieldErrors):
        shelters.transition(db_session, w.worker, offer, to_state="ended")
    shelters.transition(db_session, w.worker, offer, to_state="declined")
    with pytest.raises(FieldErrors):
        shelters.transition(db_session, w.worker, offer, to_state="placed")
    db_session.refresh(shelter)
    assert shelter.available_places == 2
    assert offer.state == "declined"
    with pytest.raises(PermissionDenied):  # the shelter sees it, the offerer decides
        shelters.transition(db_session, w.shelter_worker, offer, to_state="placed")


def test_two_placements_at_once_cannot_take_the_last_place(
    engine: Engine, db_session: Session, w: World
) -> None:
    shelter = _shelter(db_session, w, free=1)
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    offers = [
        shelters.offer_place(db_session, w.worker, shelter_id=shelter.id, case_id=case.id)
        for _ in range(2)
    ]
    db_session.commit()
    sessions = session_factory(engine)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def place(placement_id: int) -> None:
        with sessions() as db:
            placement = db.get(Placement, placement_id)
            assert placement is not None
            barrier.wait()
            try:
                shelters.transition(db, w.worker, placement, to_state="placed")
                db.commit()
                outcomes.append("placed")
            except FieldErrors:
                db.rollback()
                outcomes.append("full")

    threads = [threading.Thread(target=place, args=(offer.id,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["full", "placed"]
    db_session.expire_all()
    assert db_session.get(Shelter, shelter.id).available_places == 0  # type: ignore[union-attr]


# --- Joint controls ----------------------------------------------------------------------------


def test_a_joint_control_has_a_shared_part_and_an_own_part_each(
    db_session: Session, w: World
) -> None:
    with pytest.raises(FieldErrors) as caught:
        controls.plan_control(
            db_session, w.officer, partner_organisation_id=w.police.id, planned_at=None
        )
    assert set(caught.value.fields) == {"partner_organisation_id", "planned_at"}
    control = controls.plan_control(
        db_session,
        w.officer,
        partner_organisation_id=w.outreach.id,
        planned_at=datetime.now(UTC) + timedelta(days=2),
        municipality="Groningen",
        location="Hoek Nieuwstraat",
        shared_notes="Verzamelen bij het bureau",
    )
    controls.save_own_part(db_session, w.officer, control, notes="Politie: kenteken nagaan")
    controls.save_own_part(db_session, w.worker, control, notes="Outreach: flyers mee")
    police_view = controls.control_detail(db_session, w.officer, control)
    outreach_view = controls.control_detail(db_session, w.worker, control)
    assert police_view.own_part is not None
    assert "kenteken" in police_view.own_part.notes
    assert outreach_view.own_part is not None
    assert "flyers" in outreach_view.own_part.notes
    assert outreach_view.control.shared_notes == "Verzamelen bij het bureau"
    contact = outreach.log_contact(
        db_session, w.worker, KEYS, kind="joint_control", joint_control_id=control.id
    )
    assert [c.id for c in controls.control_detail(db_session, w.worker, control).contacts] == [
        contact.id
    ]
    assert controls.control_detail(db_session, w.officer, control).contacts == []
    assert [c.id for c in controls.list_controls(db_session, w.worker)] == [control.id]
    with pytest.raises(PermissionDenied):
        controls.control_detail(db_session, w.shelter_worker, control)


def test_a_contact_cannot_link_to_a_control_of_others(db_session: Session, w: World) -> None:
    control = controls.plan_control(
        db_session,
        w.officer,
        partner_organisation_id=w.outreach.id,
        planned_at=datetime.now(UTC) + timedelta(days=1),
    )
    from .casework_fixtures import actor

    stranger = actor(db_session, w.shelter_org, "outreach_worker", "ow@shelter.example.test")
    with pytest.raises(FieldErrors):
        outreach.log_contact(
            db_session, stranger, KEYS, kind="joint_control", joint_control_id=control.id
        )
    with pytest.raises(NotFoundError):
        outreach.call_back_tomorrow(
            db_session,
            stranger,
            KEYS,
            contact=outreach.log_contact(db_session, w.worker, KEYS, kind="street"),
        )
