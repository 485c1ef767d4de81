"""Encodings of subjects in the store: saved without clear values, found across organisations."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import subjects
from signaal.chain.matching import organisations_holding, save_encoding
from signaal.errors import FieldErrors
from signaal.privacy.matching import Matcher, Person
from signaal.store.models import Subject, SubjectEncoding

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
