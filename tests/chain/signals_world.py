"""A small chain world for the signal, referral and sharing tests: organisations of several
kinds in the province of Utrecht, one user per role, built through the public services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import accounts, sharing
from signaal.chain.authz import Actor, actor_for
from signaal.chain.signals import SignalDraft, register
from signaal.store.models import AuditEvent, OrganisationKind, Signal

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef-012345"
CONTACT_KEY = "test-contact-key-0123456789abcdef-0123456789"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class World:
    db: Session
    orgs: dict[str, int]
    actors: dict[str, Actor]

    def signal(self, who: str = "reporter", **overrides: object) -> Signal:
        fields: dict[str, object] = {
            "category": "sleeps_at_work",
            "municipality": "Utrecht",
            "observed_at": NOW - timedelta(hours=1),
            "text": "Synthetisch: slaapt in het pand.",
        }
        fields.update(overrides)
        return register(
            self.db,
            self.actors[who],
            SignalDraft(**fields),  # type: ignore[arg-type]
            pseudonym_key=PSEUDONYM_KEY,
            ip="127.0.0.1",
            now=NOW,
        )


ORGS = {
    "housing": (OrganisationKind.HOUSING, "Utrecht"),
    "coordination": (OrganisationKind.CARE_COORDINATION, "Utrecht"),
    "outreach": (OrganisationKind.OUTREACH, "Utrecht"),
    "police": (OrganisationKind.POLICE, "Utrecht"),
    "far_coordination": (OrganisationKind.CARE_COORDINATION, "Groningen"),
}
USERS = {
    "reporter": ("housing", "signal_reporter"),
    "housing_admin": ("housing", "administrator"),
    "coordinator": ("coordination", "care_coordinator"),
    "coordination_admin": ("coordination", "administrator"),
    "outreach": ("outreach", "outreach_worker"),
    "outreach2": ("outreach", "outreach_worker"),
    "police": ("police", "police_officer"),
    "far_coordinator": ("far_coordination", "care_coordinator"),
}


def build_world(db: Session, *, agreement: bool = True) -> World:
    orgs: dict[str, int] = {}
    users = {}
    for name, (kind, region) in ORGS.items():
        organisation = accounts.create_organisation(db, name=f"Synthetisch {name}", kind=kind)
        organisation.region = region
        orgs[name] = organisation.id
        for who, (org_name, role) in USERS.items():
            if org_name == name:
                users[who] = accounts.create_user(
                    db,
                    email=f"{who}@example.test",
                    password="correct horse battery staple",
                    display_name=f"Synthetisch {who}",
                    organisation=organisation,
                    role=role,
                )
    db.flush()
    actors = {who: actor_for(user) for who, user in users.items()}
    world = World(db, orgs, actors)
    if agreement:
        sharing.create_agreement(
            db,
            actors["housing_admin"],
            sharing.AgreementDraft(
                name="Convenant Utrecht",
                parties=[orgs["housing"], orgs["coordination"]],
                categories=["*"],
                purpose="Signalen van mensenhandel naar de zorgcoördinator",
                legal_basis="Convenant Zorg- en Veiligheidshuis, art. 5",
                valid_from=NOW - timedelta(days=30),
            ),
            ip=None,
            now=NOW - timedelta(days=30),
        )
    db.flush()
    return world


def reads(db: Session) -> list[tuple[dict[str, object], AuditEvent]]:
    """The chain.record_read events so far: (details, row), oldest first."""
    rows = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "chain.record_read").order_by(AuditEvent.seq)
    )
    return [(json.loads(row.details), row) for row in rows]
