"""Routing, referrals and transfers: one state machine, the consent-or-legal-basis gate,
visibility while a referral is open, the coordinator's inbox, returns and overdue reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from signaal.chain import referrals, signals, subjects
from signaal.chain.referrals import ReferralDraft
from signaal.chain.subjects import SubjectDraft
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import AuditEvent, Notification, Referral, ReferralEvent

from .signals_world import CONTACT_KEY, NOW, PSEUDONYM_KEY, World, build_world


@pytest.fixture
def world(db_session) -> World:  # type: ignore[no-untyped-def]
    return build_world(db_session)


def draft(world: World, to: str = "outreach", **overrides: object) -> ReferralDraft:
    fields: dict[str, object] = {
        "to_organisation_id": world.orgs[to],
        "question": "Kunnen jullie contact leggen?",
        "basis": "consent",
        "purpose": "Hulpaanbod",
    }
    fields.update(overrides)
    return ReferralDraft(**fields)  # type: ignore[arg-type]


def route(world: World, signal, to: str = "outreach"):  # type: ignore[no-untyped-def]
    return referrals.route_signal(
        world.db, world.actors["coordinator"], signal, draft(world, to), ip=None, now=NOW
    )


def test_the_gate_needs_consent_or_a_written_legal_basis_and_a_purpose(world: World) -> None:
    subject = subjects.create_subject(
        world.db,
        world.actors["outreach"],
        SubjectDraft(alias="Synthetische B"),
        pseudonym_key=PSEUDONYM_KEY,
        contact_key=CONTACT_KEY,
        ip=None,
        now=NOW,
    )
    actor = world.actors["outreach"]
    for bad, fields in (
        ({"basis": ""}, {"basis"}),
        ({"basis": "legal_basis", "legal_basis": ""}, {"legal_basis"}),
        ({"purpose": " "}, {"purpose"}),
        ({"question": ""}, {"question"}),
    ):
        with pytest.raises(FieldErrors) as caught:
            referrals.refer(
                world.db, actor, draft(world, "police", **bad), subject=subject, ip=None
            )
        assert set(caught.value.fields) == fields
    assert world.db.scalar(select(func.count()).select_from(Referral)) == 0
    made = referrals.refer(
        world.db,
        actor,
        draft(world, "police", basis="legal_basis", legal_basis="Wpg art. 19"),
        subject=subject,
        ip=None,
    )
    assert (made.basis, made.legal_basis, made.state) == (
        "legal_basis",
        "Wpg art. 19",
        "in_progress",
    )


def test_only_the_own_records_are_referred(world: World) -> None:
    signal = world.signal("reporter")
    with pytest.raises(NotFoundError):
        referrals.refer(
            world.db, world.actors["outreach"], draft(world, "police"), signal=signal, ip=None
        )


def test_a_referral_opens_the_record_to_the_receiver_until_it_is_revoked(world: World) -> None:
    signal = world.signal("outreach")
    police = world.actors["police"]
    assert signals.visible_signals(world.db, police, ip=None) == []
    referral = referrals.refer(
        world.db, world.actors["outreach"], draft(world, "police"), signal=signal, ip=None
    )
    assert [s.id for s in signals.visible_signals(world.db, police, ip=None)] == [signal.id]
    referrals.transition(world.db, world.actors["outreach"], referral, "revoked", "Dubbel", ip=None)
    assert signals.visible_signals(world.db, police, ip=None) == []
    with pytest.raises(NotFoundError):
        signals.find_signal(world.db, police, signal.id)


def test_forbidden_transitions_change_nothing(world: World) -> None:
    signal = world.signal("outreach")
    referral = referrals.refer(
        world.db, world.actors["outreach"], draft(world, "police"), signal=signal, ip=None
    )
    police, outreach = world.actors["police"], world.actors["outreach"]
    events = world.db.scalar(select(func.count()).select_from(ReferralEvent))
    with pytest.raises(ConflictError):
        referrals.transition(world.db, police, referral, "done", ip=None)  # not yet accepted
    with pytest.raises(PermissionDenied):
        referrals.transition(world.db, outreach, referral, "accepted", ip=None)  # sender
    with pytest.raises(PermissionDenied):
        referrals.transition(world.db, police, referral, "revoked", "Nee", ip=None)  # receiver
    with pytest.raises(FieldErrors) as caught:
        referrals.transition(world.db, police, referral, "rejected", "", ip=None)
    assert set(caught.value.fields) == {"reason"}
    with pytest.raises(NotFoundError):  # a third organisation does not see it at all
        referrals.transition(world.db, world.actors["reporter"], referral, "accepted", ip=None)
    assert referral.state == "in_progress"
    assert world.db.scalar(select(func.count()).select_from(ReferralEvent)) == events
    referrals.transition(world.db, police, referral, "accepted", ip=None)
    referrals.transition(world.db, police, referral, "done", ip=None)
    with pytest.raises(ConflictError):
        referrals.transition(world.db, outreach, referral, "revoked", "Te laat", ip=None)
    states = [e.to_state for e in referrals.events_of(world.db, referral)]
    assert states == ["in_progress", "accepted", "done"]
    written = world.db.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "chain.record_written")
    ).all()
    assert sum('"change":"transition"' in d for d in written) == 2


def test_the_inbox_holds_new_and_returned_signals_of_the_region_seen_by_agreement(
    world: World,
) -> None:
    here = world.signal("reporter", municipality="Amersfoort")
    world.signal("reporter", municipality="Groningen")  # another province
    world.signal("outreach", municipality="Utrecht")  # no agreement with outreach
    inbox = referrals.inbox(world.db, world.actors["coordinator"], ip=None, now=NOW)
    assert [s.id for s in inbox] == [here.id]
    assert referrals.inbox(world.db, world.actors["far_coordinator"], ip=None, now=NOW) == []
    with pytest.raises(PermissionDenied):
        referrals.inbox(world.db, world.actors["outreach"], ip=None)


def test_routing_accepted_and_returned_with_a_notification(world: World) -> None:
    signal = world.signal("reporter")
    referral = route(world, signal)
    assert (referral.kind, signal.status) == ("routing", "routed")
    assert referrals.inbox(world.db, world.actors["coordinator"], ip=None, now=NOW) == []
    # The partner sees the routed signal now; she returns it with a reason.
    outreach = world.actors["outreach"]
    assert signals.find_signal(world.db, outreach, signal.id) == signal
    referrals.transition(world.db, outreach, referral, "rejected", "Niet ons gebied", ip=None)
    assert signal.status == "returned"
    assert referral.reason == "Niet ons gebied"
    note = world.db.scalar(select(Notification).where(Notification.kind == "signal_returned"))
    assert note is not None
    assert (note.organisation_id, note.role, note.record_id) == (
        world.orgs["coordination"],
        "care_coordinator",
        signal.id,
    )
    assert "Niet ons gebied" not in note.text
    # Back in the inbox; routed again to the police, who accepts.
    assert [s.id for s in referrals.inbox(world.db, world.actors["coordinator"], ip=None)] == [
        signal.id
    ]
    again = route(world, signal, "police")
    referrals.transition(world.db, world.actors["police"], again, "accepted", ip=None)
    assert signal.status == "accepted"
    with pytest.raises(ConflictError):
        route(world, signal, "outreach")


def test_routing_needs_the_route_action_and_the_region(world: World) -> None:
    signal = world.signal("reporter", municipality="Groningen")
    with pytest.raises(ConflictError):
        route(world, signal)
    with pytest.raises(PermissionDenied):
        referrals.route_signal(
            world.db, world.actors["outreach"], signal, draft(world, "police"), ip=None
        )


def test_overdue_lists_and_reminders(world: World) -> None:
    old = world.signal("reporter")
    hours = 24
    later = NOW + timedelta(hours=hours + 1)
    coordinator = world.actors["coordinator"]
    assert referrals.overdue_signals(world.db, coordinator, hours=hours, now=NOW) == []
    assert [
        s.id for s in referrals.overdue_signals(world.db, coordinator, hours=hours, now=later)
    ] == [old.id]
    written = referrals.overdue_routing_reminders(world.db, later, hours=hours)
    assert written == 1
    # Once per record per period: running it again writes nothing new.
    assert referrals.overdue_routing_reminders(world.db, later, hours=hours) == 0
    routed = world.signal("reporter")
    referral = route(world, routed)
    much_later = later + timedelta(hours=hours + 1)
    overdue = referrals.overdue_referrals(world.db, coordinator, hours=hours, now=much_later)
    assert [r.id for r in overdue] == [referral.id]
    assert referrals.overdue_routing_reminders(world.db, much_later, hours=hours) == 2
    notes = world.db.scalars(
        select(Notification).where(Notification.kind == "routing_overdue")
    ).all()
    assert {n.organisation_id for n in notes} == {world.orgs["coordination"]}
