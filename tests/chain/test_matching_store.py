"""Encodings of subjects in the store: saved without clear values, found across organisations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import subjects
from signaal.chain.matching import organisations_holding, save_encoding
from signaal.privacy.matching import Matcher, Person
from signaal.store.models import Subject, SubjectEncoding

from .signals_world import CONTACT_KEY, NOW, PSEUDONYM_KEY, World, build_world

MATCHER = Matcher(PSEUDONYM_KEY)


def _subject(world: World, who: str, person: Person) -> Subject:
    subject = subjects.create_subject(
        world.db,
        world.actors[who],
        subjects.SubjectDraft(alias=f"Synthetisch {who}"),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )
    save_encoding(world.db, subject, MATCHER.encode(person))
    return subject


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
