"""Encodings of subjects in the store: saved without clear values, found across organisations."""

from __future__ import annotations

from dataclasses import asdict as fields_of
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import sharing, subjects
from signaal.chain.matching import Hit, hits_of_subject, organisations_holding, save_encoding
from signaal.errors import FieldErrors
from signaal.privacy.matching import Matcher, Person
from signaal.store.models import AuditEvent, Organisation, Subject, SubjectEncoding

from .signals_world import CONTACT_KEY, NOW, PSEUDONYM_KEY, World, build_world

MATCHER = Matcher(PSEUDONYM_KEY)


def _subject(world: World, who: str, person: Person) -> Subject:
    """Registered through the public service, which encodes the person."""
    return subjects.create_subject(
        world.db,
        world.actors[who],
        subjects.SubjectDraft(
            alias=f"Synthetisch {who}",
            phones=[person.phone] if person.phone else [],
            first_name=person.first_name,
            surname=person.surname,
            birth_date=person.birth_date,
        ),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )


def test_the_same_person_at_another_organisation_is_found(db_session: Session) -> None:
    world = build_world(db_session)
    _subject(world, "outreach", Person("Sanne", "van der Berg", date(1990, 3, 14), "0612345678"))
    _subject(world, "coordinator", Person("Fatima", "El Amrani", date(1985, 7, 2)))
    mine = Person("SANNE", "Vd Berg", date(1991, 3, 14), "")
    subject = _subject(world, "police", mine)
    found = organisations_holding(db_session, subject, MATCHER.encode(mine))
    assert found == {world.orgs["outreach"]}


def test_own_records_and_other_people_are_not_hits(db_session: Session) -> None:
    world = build_world(db_session)
    person = Person("Sanne", "van der Berg", date(1990, 3, 14))
    _subject(world, "outreach", person)
    _subject(world, "police", Person("Sanne", "de Jong", date(1990, 3, 14)))
    subject = _subject(world, "outreach2", person)
    assert organisations_holding(db_session, subject, MATCHER.encode(person)) == set()


def test_only_filters_are_stored(db_session: Session) -> None:
    world = build_world(db_session)
    subject = _subject(world, "outreach", Person("Sanne", "Berg", date(1990, 3, 14)))
    row = db_session.scalars(
        select(SubjectEncoding).where(SubjectEncoding.subject_id == subject.id)
    ).one()
    assert row.phone is None
    assert row.surname is not None
    assert b"berg" not in row.surname.lower()
    assert len(row.surname) == 128


def test_a_subject_without_name_and_date_has_no_encoding(db_session: Session) -> None:
    world = build_world(db_session)
    subject = _subject(world, "outreach", Person("Sanne", "Berg", None))
    rows = db_session.scalars(
        select(SubjectEncoding).where(SubjectEncoding.subject_id == subject.id)
    )
    assert list(rows) == []
    save_encoding(db_session, subject, MATCHER.encode(Person("Sanne", "Berg", date(1990, 3, 14))))
    save_encoding(db_session, subject, MATCHER.encode(Person("Sanne", "Berg", date(1990, 3, 15))))
    rows = db_session.scalars(
        select(SubjectEncoding).where(SubjectEncoding.subject_id == subject.id)
    )
    assert len(list(rows)) == 1


def test_names_are_validated(db_session: Session) -> None:
    world = build_world(db_session)
    with pytest.raises(FieldErrors) as raised:
        _subject(world, "outreach", Person("S" * 121, "Berg\nx", date(1800, 1, 1)))
    assert set(raised.value.fields) == {"first_name", "surname", "birth_date"}


def _agreement(world: World, hit_no_hit: bool, parties: tuple[str, ...]) -> None:
    sharing.create_agreement(
        world.db,
        world.actors["coordination_admin"],
        sharing.AgreementDraft(
            name="Convenant hit/no-hit",
            parties=[world.orgs[p] for p in parties],
            categories=["*"],
            purpose="Weten wie dezelfde persoon kent",
            legal_basis="Convenant Zorg- en Veiligheidshuis, art. 6",
            valid_from=NOW - timedelta(days=1),
            hit_no_hit=hit_no_hit,
        ),
        ip=None,
        now=NOW - timedelta(days=1),
    )


def _register(world: World, who: str, person: Person) -> list[Hit]:
    _, found = subjects.register_subject(
        world.db,
        world.actors[who],
        subjects.SubjectDraft(
            alias=f"Synthetisch {who}",
            first_name=person.first_name,
            surname=person.surname,
            birth_date=person.birth_date,
        ),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )
    return found


SANNE = Person("Sanne", "van der Berg", date(1990, 3, 14))
SANNE_AGAIN = Person("SANNE", "Vd Berg", date(1991, 3, 14))  # a year off


def test_a_hit_across_two_organisations_with_an_agreement(db_session: Session) -> None:
    world = build_world(db_session, agreement=False)
    _agreement(world, True, ("coordination", "outreach"))
    outreach = db_session.get(Organisation, world.orgs["outreach"])
    assert outreach is not None
    outreach.contact_route = "030 123 4567 (ma-vr 9-17)"
    assert _register(world, "outreach", SANNE) == []
    found = _register(world, "coordinator", SANNE_AGAIN)
    assert found == [
        Hit("Synthetisch outreach", "030 123 4567 (ma-vr 9-17)", world.orgs["outreach"])
    ]
    assert set(fields_of(found[0])) == {"organisation", "contact_route", "organisation_id"}
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "chain.record_written")
    ).all()
    hit_events = [e for e in events if '"change":"hits"' in e.details]
    assert len(hit_events) == 1
    assert str(world.orgs["outreach"]) in hit_events[0].details


def test_no_hit_without_an_agreement_that_covers_it(db_session: Session) -> None:
    world = build_world(db_session)  # housing and coordination share signals, not hits
    _agreement(world, True, ("coordination", "police"))
    _register(world, "outreach", SANNE)
    assert _register(world, "coordinator", SANNE_AGAIN) == []
    _agreement(world, False, ("coordination", "outreach"))
    assert _register(world, "coordinator", SANNE_AGAIN) == []
    # police and coordination agreed on hit/no-hit; police and outreach did not.
    assert _register(world, "police", SANNE_AGAIN) == [
        Hit("Synthetisch coordination", None, world.orgs["coordination"])
    ]


def test_a_signal_about_a_subject_has_the_subjects_hits(db_session: Session) -> None:
    world = build_world(db_session, agreement=False)
    _agreement(world, True, ("coordination", "outreach"))
    _register(world, "outreach", SANNE)
    _, _ = subjects.register_subject(
        world.db,
        world.actors["coordinator"],
        subjects.SubjectDraft(alias="Synthetisch zonder naam"),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )
    _register(world, "coordinator", SANNE_AGAIN)
    mine = db_session.scalars(
        select(Subject).where(Subject.organisation_id == world.orgs["coordination"])
    ).all()
    coordinator = world.actors["coordinator"]
    found = [hits_of_subject(db_session, coordinator, s, ip=None, now=NOW) for s in mine]
    assert found == [[], [Hit("Synthetisch outreach", None, world.orgs["outreach"])]]
    theirs = db_session.scalars(
        select(Subject).where(Subject.organisation_id == world.orgs["outreach"])
    ).one()
    assert hits_of_subject(db_session, coordinator, theirs, ip=None, now=NOW) == []
