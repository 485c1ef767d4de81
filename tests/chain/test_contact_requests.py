"""Contact requests on a hit: either side asks, the other decides; both audited; only the two
organisations see the request, and each sees only its own subject."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import contact_requests, sharing, subjects, tasks
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.privacy.matching import Person
from signaal.store.models import AuditEvent, Subject

from .signals_world import CONTACT_KEY, NOW, PSEUDONYM_KEY, World, build_world

SANNE = Person("Sanne", "van der Berg", date(1990, 3, 14))
SANNE_AGAIN = Person("SANNE", "Vd Berg", date(1991, 3, 14))
FATIMA = Person("Fatima", "El Amrani", date(1985, 7, 2))


def _agreement(world: World, parties: tuple[str, ...], *, hit_no_hit: bool = True) -> None:
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


def _subject(world: World, who: str, person: Person, alias: str) -> Subject:
    subject, _ = subjects.register_subject(
        world.db,
        world.actors[who],
        subjects.SubjectDraft(
            alias=alias,
            first_name=person.first_name,
            surname=person.surname,
            birth_date=person.birth_date,
        ),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )
    return subject


@pytest.fixture
def hit(db_session: Session) -> tuple[World, Subject, Subject]:
    """Outreach holds Sanne; the coordinator registers her again (a hit under an agreement)."""
    world = build_world(db_session, agreement=False)
    _agreement(world, ("coordination", "outreach"))
    theirs = _subject(world, "outreach", SANNE, "Synthetisch alias outreach")
    _subject(world, "outreach", FATIMA, "Synthetisch andere persoon")
    mine = _subject(world, "coordinator", SANNE_AGAIN, "Synthetisch alias coordinatie")
    return world, mine, theirs


def _written(db: Session) -> list[dict[str, object]]:
    rows = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "chain.record_written")
        .order_by(AuditEvent.seq)
    )
    found = [json.loads(row.details) for row in rows]
    return [d for d in found if d.get("record_kind") == "contact_request"]


def test_a_request_reaches_the_holder_and_each_side_sees_only_its_own_subject(
    hit: tuple[World, Subject, Subject],
) -> None:
    world, mine, theirs = hit
    request = contact_requests.send(
        world.db,
        world.actors["coordinator"],
        mine,
        world.orgs["outreach"],
        "Wij zien haar ook; bel ons terug.",
        ip=None,
        now=NOW,
    )
    sent = contact_requests.view_of(world.db, world.actors["coordinator"], request)
    received = contact_requests.view_of(world.db, world.actors["outreach"], request)
    assert (sent.direction, sent.subject_id, sent.organisation) == (
        "out",
        mine.id,
        "Synthetisch outreach",
    )
    assert (received.direction, received.subject_id, received.organisation) == (
        "in",
        theirs.id,
        "Synthetisch coordination",
    )
    assert received.subject_alias == "Synthetisch alias outreach"
    assert "outreach" not in sent.subject_alias
    assert received.message == "Wij zien haar ook; bel ons terug."
    # The receiver's answering roles are notified, in their own organisation.
    outreach_worker = world.actors["outreach"]
    notes = tasks.notifications_of(world.db, outreach_worker)
    assert [n.record_id for n in notes if n.kind == "contact_request"] == [request.id]
    assert "Sanne" not in notes[0].text


def test_the_receiver_accepts_with_a_message_and_both_steps_are_audited(
    hit: tuple[World, Subject, Subject],
) -> None:
    world, mine, _ = hit
    request = contact_requests.send(
        world.db,
        world.actors["coordinator"],
        mine,
        world.orgs["outreach"],
        "Graag contact.",
        ip="10.0.0.1",
        now=NOW,
    )
    with pytest.raises(FieldErrors) as raised:
        contact_requests.answer(
            world.db, world.actors["outreach"], request, "accepted", " ", ip=None, now=NOW
        )
    assert set(raised.value.fields) == {"answer"}
    contact_requests.answer(
        world.db,
        world.actors["outreach"],
        request,
        "accepted",
        "Bel Anna, 030-000 0000, di en do.",
        ip="10.0.0.2",
        now=NOW + timedelta(hours=2),
    )
    seen = contact_requests.view_of(world.db, world.actors["coordinator"], request)
    assert (seen.state, seen.answer) == ("accepted", "Bel Anna, 030-000 0000, di en do.")
    assert seen.answered_at == NOW + timedelta(hours=2)
    events = _written(world.db)
    assert [e["change"] for e in events] == ["sent", "accepted"]
    assert events[0]["subject_id"] == mine.id
    # Codes only: the messages are not in the audit log.
    assert all("Bel Anna" not in json.dumps(e) and "Graag" not in json.dumps(e) for e in events)
    with pytest.raises(ConflictError):
        contact_requests.answer(
            world.db, world.actors["outreach"], request, "declined", "", ip=None, now=NOW
        )
    notes = tasks.notifications_of(world.db, world.actors["coordinator"])
    assert any(n.kind == "contact_request" and "accepted" in n.text for n in notes)


def test_either_side_may_ask(hit: tuple[World, Subject, Subject]) -> None:
    world, _, theirs = hit
    request = contact_requests.send(
        world.db,
        world.actors["outreach"],
        theirs,
        world.orgs["coordination"],
        "Wij ook.",
        ip=None,
        now=NOW,
    )
    view = contact_requests.view_of(world.db, world.actors["coordinator"], request)
    assert view.direction == "in"
    assert view.subject_alias == "Synthetisch alias coordinatie"


def test_no_request_without_a_hit(hit: tuple[World, Subject, Subject]) -> None:
    world, mine, _ = hit
    for organisation in ("police", "housing", "coordination"):
        with pytest.raises(FieldErrors) as raised:
            contact_requests.send(
                world.db,
                world.actors["coordinator"],
                mine,
                world.orgs[organisation],
                "Hallo",
                ip=None,
                now=NOW,
            )
        assert set(raised.value.fields) == {"organisation_id"}
    # A subject of a person the partner does not hold has no hit there.
    nobody = Person("Noor", "Bakker", date(2001, 11, 5))
    other = _subject(world, "coordinator", nobody, "Synthetisch geen hit")
    with pytest.raises(FieldErrors):
        contact_requests.send(
            world.db,
            world.actors["coordinator"],
            other,
            world.orgs["outreach"],
            "Hallo",
            ip=None,
            now=NOW,
        )


def test_an_agreement_without_hit_no_hit_gives_no_request(db_session: Session) -> None:
    world = build_world(db_session, agreement=False)
    _agreement(world, ("coordination", "outreach"), hit_no_hit=False)
    _subject(world, "outreach", SANNE, "Synthetisch a")
    mine = _subject(world, "coordinator", SANNE_AGAIN, "Synthetisch b")
    with pytest.raises(FieldErrors):
        contact_requests.send(
            world.db,
            world.actors["coordinator"],
            mine,
            world.orgs["outreach"],
            "Hallo",
            ip=None,
            now=NOW,
        )


def test_only_the_two_organisations_see_it_and_only_the_receiver_answers(
    hit: tuple[World, Subject, Subject],
) -> None:
    world, mine, theirs = hit
    request = contact_requests.send(
        world.db,
        world.actors["coordinator"],
        mine,
        world.orgs["outreach"],
        "Hallo",
        ip=None,
        now=NOW,
    )
    for who in ("police", "far_coordinator", "reporter"):
        with pytest.raises(NotFoundError):
            contact_requests.view_of(world.db, world.actors[who], request)
        assert contact_requests.requests_for(world.db, world.actors[who], ip=None) == []
    # The sender cannot answer her own request; a stranger cannot either.
    for who in ("coordinator", "police"):
        with pytest.raises(NotFoundError):
            contact_requests.answer(
                world.db, world.actors[who], request, "declined", "", ip=None, now=NOW
            )
    # Nobody asks about another organisation's subject.
    with pytest.raises(NotFoundError):
        contact_requests.send(
            world.db,
            world.actors["coordinator"],
            theirs,
            world.orgs["outreach"],
            "Hallo",
            ip=None,
            now=NOW,
        )
    # A role without the action is refused outright (a signal reporter).
    with pytest.raises(PermissionDenied):
        contact_requests.send(
            world.db,
            world.actors["reporter"],
            mine,
            world.orgs["outreach"],
            "Hallo",
            ip=None,
            now=NOW,
        )
    listed = contact_requests.requests_for(world.db, world.actors["outreach"], ip=None)
    assert [(r.id, r.direction) for r in listed] == [(request.id, "in")]


def test_one_open_request_per_subject_and_organisation(
    hit: tuple[World, Subject, Subject],
) -> None:
    world, mine, _ = hit
    first = contact_requests.send(
        world.db,
        world.actors["coordinator"],
        mine,
        world.orgs["outreach"],
        "Hallo",
        ip=None,
        now=NOW,
    )
    with pytest.raises(ConflictError):
        contact_requests.send(
            world.db,
            world.actors["coordinator"],
            mine,
            world.orgs["outreach"],
            "Nog eens",
            ip=None,
            now=NOW,
        )
    contact_requests.answer(
        world.db, world.actors["outreach"], first, "declined", "", ip=None, now=NOW
    )
    again = contact_requests.send(
        world.db,
        world.actors["coordinator"],
        mine,
        world.orgs["outreach"],
        "Nog eens",
        ip=None,
        now=NOW,
    )
    assert again.id != first.id
