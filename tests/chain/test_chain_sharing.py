"""Agreements, explicit shares and emergency access: what they open, their end, the alert of the
owner's log administrators and the audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from signaal.chain import sharing, signals
from signaal.chain.sharing import AgreementDraft
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import AuditEvent, EmergencyAccess, Notification

from .signals_world import NOW, World, build_world, reads


@pytest.fixture
def world(db_session) -> World:  # type: ignore[no-untyped-def]
    return build_world(db_session, agreement=False)


def agreement(world: World, **overrides: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "name": "Convenant",
        "parties": [world.orgs["housing"], world.orgs["coordination"]],
        "categories": ["debt", "sleeps_at_work"],
        "purpose": "Doorzetten naar de zorgcoördinator",
        "legal_basis": "Convenant art. 3",
        "valid_from": NOW - timedelta(days=1),
    }
    fields.update(overrides)
    return sharing.create_agreement(
        world.db,
        world.actors["housing_admin"],
        AgreementDraft(**fields),
        ip=None,
        now=NOW,  # type: ignore[arg-type]
    )


def test_agreement_fields_are_checked(world: World) -> None:
    with pytest.raises(FieldErrors) as caught:
        agreement(
            world,
            name="",
            parties=[world.orgs["coordination"], world.orgs["police"]],  # not the own
            categories=["nonsense"],
            purpose="",
            legal_basis="",
            valid_until=NOW - timedelta(days=2),
        )
    assert set(caught.value.fields) == {
        "name",
        "parties",
        "categories",
        "purpose",
        "legal_basis",
        "valid_until",
    }
    with pytest.raises(FieldErrors) as caught:
        agreement(world, parties=[world.orgs["housing"]])
    assert set(caught.value.fields) == {"parties"}
    with pytest.raises(FieldErrors):
        agreement(world, parties=[world.orgs["housing"], 999_999])
    with pytest.raises(PermissionDenied):
        sharing.create_agreement(
            world.db,
            world.actors["reporter"],
            AgreementDraft("x", [1, 2], ["*"], "p", "l", NOW),
            ip=None,
        )


def test_an_agreement_opens_its_categories_while_in_force(world: World) -> None:
    covered = world.signal("reporter", category="debt")
    world.signal("reporter", category="injuries")
    made = agreement(world)
    coordinator = world.actors["coordinator"]
    seen = signals.visible_signals(world.db, coordinator, ip=None, now=NOW)
    assert [s.id for s in seen] == [covered.id]
    assert made in sharing.visible_agreements(world.db, coordinator)
    assert sharing.visible_agreements(world.db, world.actors["police"]) == []
    with pytest.raises(NotFoundError):
        sharing.find_agreement(world.db, world.actors["police"], made.id)
    # Only the keeper ends it; then it opens nothing.
    coordination_admin = world.actors["coordination_admin"]
    with pytest.raises(NotFoundError):
        sharing.end_agreement(world.db, coordination_admin, made, ip=None)
    sharing.end_agreement(world.db, world.actors["housing_admin"], made, ip=None, now=NOW)
    assert signals.visible_signals(world.db, coordinator, ip=None) == []
    with pytest.raises(ConflictError):
        sharing.end_agreement(world.db, world.actors["housing_admin"], made, ip=None)


def test_an_explicit_share_opens_one_record_until_revoked(world: World) -> None:
    signal = world.signal("outreach")
    police = world.actors["police"]
    with pytest.raises(FieldErrors) as caught:
        sharing.share_record(world.db, world.actors["outreach"], signal, None, "", ip=None)
    assert set(caught.value.fields) == {"reason", "to_organisation_id"}
    with pytest.raises(NotFoundError):  # not the owner
        sharing.share_record(world.db, police, signal, world.orgs["police"], "Mag ik?", ip=None)
    share = sharing.share_record(
        world.db,
        world.actors["outreach"],
        signal,
        world.orgs["police"],
        "Gezamenlijke controle",
        ip=None,
    )
    assert signals.find_signal(world.db, police, signal.id) == signal
    signals.open_signal(world.db, police, signal, ip=None)
    details, row = reads(world.db)[-1]
    assert details["basis"] == "share"
    assert row.purpose is not None
    assert "Gezamenlijke controle" in row.purpose
    sharing.revoke_share(world.db, world.actors["outreach"], share, ip=None)
    with pytest.raises(NotFoundError):
        signals.find_signal(world.db, police, signal.id)


def test_emergency_access_needs_a_reason_is_short_alerts_and_is_audited(world: World) -> None:
    signal = world.signal("reporter")
    police = world.actors["police"]
    with pytest.raises(NotFoundError):
        signals.find_signal(world.db, police, signal.id)
    with pytest.raises(FieldErrors) as caught:
        sharing.start_emergency_access(
            world.db, police, "signal", signal.id, "Snel", hours=4, ip=None, now=NOW
        )
    assert set(caught.value.fields) == {"reason"}
    with pytest.raises(FieldErrors) as caught:
        sharing.start_emergency_access(
            world.db,
            police,
            "signal",
            999_999,
            "Acuut gevaar voor de persoon, nu nodig",
            hours=4,
            ip=None,
        )
    assert set(caught.value.fields) == {"record_id"}
    with pytest.raises(PermissionDenied):
        sharing.start_emergency_access(
            world.db, world.actors["reporter"], "signal", signal.id, "x" * 30, hours=4, ip=None
        )
    access = sharing.start_emergency_access(
        world.db,
        police,
        "signal",
        signal.id,
        "Acuut gevaar voor de persoon, nu nodig",
        hours=4,
        ip="10.1.1.1",
    )
    assert access.expires_at - access.started_at == timedelta(hours=4)
    assert signals.find_signal(world.db, police, signal.id) == signal
    signals.open_signal(world.db, police, signal, ip=None)
    details, _row = reads(world.db)[-1]
    assert details["basis"] == "emergency"
    notes = world.db.scalars(select(Notification).where(Notification.kind == "emergency_access"))
    admins = {n.user_id for n in notes}
    assert admins == {world.actors["housing_admin"].user_id}
    started = world.db.scalar(
        select(AuditEvent).where(AuditEvent.action == "chain.emergency_access")
    )
    assert started is not None
    assert started.purpose == "Acuut gevaar voor de persoon, nu nodig"
    assert json.loads(started.details)["owner_organisation_id"] == world.orgs["housing"]
    # Short: after the period it opens nothing.
    later = access.started_at + timedelta(hours=5)
    assert signals.visible_signals(world.db, police, ip=None, now=later) == []
    assert world.db.scalar(select(EmergencyAccess.id)) == access.id


def test_emergency_access_to_an_own_record_is_refused(world: World) -> None:
    signal = world.signal("outreach")
    with pytest.raises(ConflictError):
        sharing.start_emergency_access(
            world.db, world.actors["outreach2"], "signal", signal.id, "x" * 30, hours=4, ip=None
        )
