"""Signals and subjects: validation per field, pseudonymised phones, suggestions only within the
own organisation, visibility through an agreement, and every read audited (NEN 7513)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from signaal.chain import signals, subjects
from signaal.chain.signals import SignalFilter
from signaal.chain.subjects import SubjectDraft
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import Signal, SubjectContact

from .signals_world import CONTACT_KEY, NOW, PSEUDONYM_KEY, World, build_world, reads

PHONE = "06-12345678"


@pytest.fixture
def world(db_session) -> World:  # type: ignore[no-untyped-def]
    return build_world(db_session)


def subject_of(world: World, who: str, alias: str = "Synthetische A", phones=(PHONE,)):  # type: ignore[no-untyped-def]
    return subjects.create_subject(
        world.db,
        world.actors[who],
        SubjectDraft(alias=alias, birth_year_from=1998, birth_year_to=2002, phones=phones),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )


def test_every_bad_field_is_named_and_nothing_is_written(world: World) -> None:
    before = world.db.scalar(select(func.count()).select_from(Signal))
    with pytest.raises(FieldErrors) as caught:
        world.signal(
            category="no-such",
            source="rumour",
            municipality="Atlantis",
            observed_at=NOW + timedelta(hours=2),
            text="x" * 5000,
            phones=["call me maybe"],
        )
    assert set(caught.value.fields) == {
        "category",
        "source",
        "municipality",
        "observed_at",
        "text",
        "phones",
    }
    assert world.db.scalar(select(func.count()).select_from(Signal)) == before


@pytest.mark.parametrize(
    ("observed", "ok"),
    [
        (NOW + timedelta(minutes=5), True),
        (NOW + timedelta(minutes=30), False),
        (NOW - timedelta(days=400), True),
        (NOW - timedelta(days=6 * 366), False),
    ],
)
def test_observed_at_may_not_be_in_the_future_or_absurdly_old(
    world: World, observed, ok: bool
) -> None:  # type: ignore[no-untyped-def]
    if ok:
        assert world.signal(observed_at=observed).observed_at == observed
    else:
        with pytest.raises(FieldErrors) as caught:
            world.signal(observed_at=observed)
        assert set(caught.value.fields) == {"observed_at"}


def test_municipality_is_resolved_and_region_is_its_province(world: World) -> None:
    signal = world.signal(municipality="  gemeente Zeist ")
    assert (signal.municipality, signal.region) == ("Zeist", "Utrecht")


def test_phones_are_kept_only_as_keyed_pseudonyms(world: World) -> None:
    signal = world.signal(phones=[PHONE, "+31 6 1234 5678"])
    assert signal.contact_pseudonyms.startswith("phone:")
    assert len(signals.pseudonyms_of(signal)) == 1  # two spellings, one number
    assert "12345678" not in signal.contact_pseudonyms


def test_a_matching_phone_suggests_a_subject_of_the_same_organisation_only(world: World) -> None:
    own = subject_of(world, "outreach")
    subject_of(world, "police", alias="Politie-alias")  # same phone, other organisation
    signal = world.signal("outreach", phones=["0612345678"])
    assert signal.suggested_subject_id == own.id
    assert signal.subject_id is None  # never linked automatically
    foreign = world.signal("reporter", phones=[PHONE])
    assert foreign.suggested_subject_id is None


def test_confirm_and_dismiss_a_suggestion(world: World) -> None:
    own = subject_of(world, "outreach")
    signal = world.signal("outreach", phones=[PHONE])
    signals.link_subject(world.db, world.actors["outreach"], signal, own.id, ip=None)
    assert (signal.subject_id, signal.suggested_subject_id) == (own.id, None)
    other = world.signal("outreach", phones=[PHONE])
    signals.dismiss_suggestion(world.db, world.actors["outreach"], other, ip=None)
    assert (other.subject_id, other.suggested_subject_id) == (None, None)


def test_a_signal_cannot_be_linked_to_a_subject_of_another_organisation(world: World) -> None:
    foreign = subject_of(world, "police")
    with pytest.raises(FieldErrors) as caught:
        world.signal("outreach", subject_id=foreign.id)
    assert set(caught.value.fields) == {"subject_id"}
    signal = world.signal("outreach")
    with pytest.raises(FieldErrors):
        signals.link_subject(world.db, world.actors["outreach"], signal, foreign.id, ip=None)
    # Nor may another organisation change the signal.
    own = subject_of(world, "police", alias="Eigen")
    with pytest.raises(NotFoundError):
        signals.link_subject(world.db, world.actors["police"], signal, own.id, ip=None)


def test_subject_fields_are_checked(world: World) -> None:
    with pytest.raises(FieldErrors) as caught:
        subjects.create_subject(
            world.db,
            world.actors["outreach"],
            SubjectDraft(alias="", birth_year_from=2004, birth_year_to=2000, phones=["12"]),
            pseudonym_key=PSEUDONYM_KEY,
            contact_key=CONTACT_KEY,
            ip=None,
            now=NOW,
        )
    assert set(caught.value.fields) == {"alias", "birth_year_to", "phones"}
    with pytest.raises(FieldErrors) as caught:
        subjects.create_subject(
            world.db,
            world.actors["outreach"],
            SubjectDraft(alias="A", birth_year_from=1850, birth_year_to=2030),
            pseudonym_key=PSEUDONYM_KEY,
            contact_key=CONTACT_KEY,
            ip=None,
            now=NOW,
        )
    assert set(caught.value.fields) == {"birth_year_from", "birth_year_to"}


def test_subject_phones_are_pseudonymised_sealed_and_masked(world: World) -> None:
    subject = subject_of(world, "outreach")
    (contact,) = world.db.scalars(
        select(SubjectContact).where(SubjectContact.subject_id == subject.id)
    )
    assert contact.masked == "06-•••••78"
    assert "12345678" not in contact.sealed
    assert "12345678" not in contact.pseudonym


def test_reveal_needs_contacts_reveal_and_a_purpose_and_is_audited(world: World) -> None:
    subject = subject_of(world, "outreach")
    (contact,) = subjects.contacts_of(world.db, subject)
    with pytest.raises(FieldErrors):
        subjects.reveal_phone(
            world.db,
            world.actors["outreach"],
            subject,
            contact.pseudonym,
            "curious",
            contact_key=CONTACT_KEY,
            ip=None,
        )
    value = subjects.reveal_phone(
        world.db,
        world.actors["outreach"],
        subject,
        contact.pseudonym,
        "call_back",
        contact_key=CONTACT_KEY,
        ip=None,
    )
    assert value == "+31612345678"
    details, row = reads(world.db)[-1]
    assert details["record_kind"] == "subject_contact"
    assert row.purpose == "call_back"
    assert "612345678" not in row.details
    # A coordinator (no contacts.reveal) and another organisation may not.
    with pytest.raises(PermissionDenied):
        subjects.reveal_phone(
            world.db,
            world.actors["police"],
            subject,
            contact.pseudonym,
            "call_back",
            contact_key=CONTACT_KEY,
            ip=None,
        )


def test_a_partner_sees_signals_through_the_agreement_and_each_read_is_audited(
    world: World,
) -> None:
    own = world.signal("reporter")
    world.signal("outreach")  # no agreement between outreach and the coordinator
    coordinator = world.actors["coordinator"]
    listed = signals.visible_signals(world.db, coordinator, ip="10.0.0.1")
    assert [s.id for s in listed] == [own.id]
    details, row = reads(world.db)[-1]
    assert details["shown_ids"] == [str(own.id)]
    assert details["view"] == "list"
    assert details["role"] == "care_coordinator"
    assert details["on_behalf_of"] == world.orgs["coordination"]
    assert details["basis"] == "agreement"
    assert row.purpose is not None
    assert "agreement" in row.purpose
    signals.open_signal(world.db, coordinator, own, ip="10.0.0.1")
    details, row = reads(world.db)[-1]
    assert (details["record_kind"], details["record_key"], details["view"]) == (
        "signal",
        str(own.id),
        "detail",
    )
    assert row.actor_user_id == coordinator.user_id
    # The police is no party: the signal is not there, and a direct read is refused.
    assert signals.visible_signals(world.db, world.actors["police"], ip=None) == []
    with pytest.raises(NotFoundError):
        signals.open_signal(world.db, world.actors["police"], own, ip=None)


def test_filters_and_paging(world: World) -> None:
    first = world.signal("reporter", category="debt")
    second = world.signal("reporter", category="injuries")
    reporter = world.actors["reporter"]
    by_category = signals.visible_signals(
        world.db, reporter, filters=SignalFilter(category="debt"), ip=None
    )
    assert [s.id for s in by_category] == [first.id]
    page = signals.visible_signals(world.db, reporter, limit=1, ip=None)
    assert [s.id for s in page] == [second.id]
    rest = signals.visible_signals(world.db, reporter, limit=1, before_id=second.id, ip=None)
    assert [s.id for s in rest] == [first.id]


def test_timeline_holds_the_subjects_signals_the_actor_may_see(world: World) -> None:
    subject = subject_of(world, "outreach")
    signal = world.signal("outreach", subject_id=subject.id)
    entries = subjects.timeline(world.db, world.actors["outreach"], subject)
    assert [(e.kind, e.record_id) for e in entries] == [("signal", signal.id)]


def test_a_signal_reporter_may_not_create_subjects(world: World) -> None:
    with pytest.raises(PermissionDenied):
        subject_of(world, "reporter")
