"""Who may read a chain record besides its owner, and why: the store side of ``allowed()``.

An organisation sees its own records. Another organisation sees a record only

* under a **sharing agreement** (convenant) that names both organisations and the signal's
  category, is in force (``valid_from`` <= now < ``valid_until``, not revoked): signals only;
* through an **explicit share** of that record by a user of the owner, with a reason
  (``record_shares``, not revoked): signals, subjects and cases;
* through a **referral** (routing, referral, transfer) of that record to it, while the referral is
  in progress or accepted: the signal, subject or case it names, and the referral itself;
* as the **partner of a joint control**: the control's shared part.

:func:`shared_with` gives the organisations a record is shared with (for
:class:`signaal.chain.authz.Resource`, so that ``allowed()`` decides); :func:`basis` says on what
ground one organisation reads it (for the audit's purpose field, NEN 7513);
:func:`visible_clause` is the same rule as an SQL condition, for lists. The three are kept
together here so that a list can never show what a detail page would refuse.

An emergency access (noodprocedure) is not a share: :func:`active_emergency` tells whether the
actor holds one for a record; ``Resource.emergency`` carries it to ``allowed()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from signaal.chain.authz import Actor, Resource
from signaal.store.models import (
    Agreement,
    AgreementParty,
    Case,
    EmergencyAccess,
    JointControl,
    Placement,
    RecordShare,
    Referral,
    Shelter,
    Signal,
    Subject,
    utcnow,
)

RecordType = Literal["signal", "subject", "case", "referral", "joint_control", "placement"]
SHAREABLE_TYPES: frozenset[str] = frozenset({"signal", "subject", "case"})
# A referral opens its records while it is under way or accepted; a rejected, revoked or done
# referral no longer does (the receiver keeps what she made herself, e.g. her own case).
OPEN_REFERRAL_STATES: frozenset[str] = frozenset({"in_progress", "accepted"})
WILDCARD_CATEGORY = "*"

ChainRecord = Signal | Subject | Case | Referral | JointControl | Placement


@dataclass(frozen=True)
class Basis:
    """Why an organisation may read a record: ``kind`` (own, agreement, share, referral,
    joint_control, placement, emergency), the record that grants it and the purpose it names."""

    kind: str
    purpose: str
    grant_id: int | None = None

    def describe(self) -> str:
        ref = f" #{self.grant_id}" if self.grant_id is not None else ""
        return f"{self.kind}{ref}: {self.purpose}" if self.purpose else f"{self.kind}{ref}"


def categories_of(agreement: Agreement) -> frozenset[str]:
    return frozenset(c.strip() for c in agreement.categories.split(",") if c.strip())


def _in_force(now: datetime) -> ColumnElement[bool]:
    return and_(
        Agreement.revoked_at.is_(None),
        Agreement.valid_from <= now,
        or_(Agreement.valid_until.is_(None), Agreement.valid_until > now),
    )


def _agreements_covering(
    db: Session, owner_id: int, category: str, now: datetime
) -> list[tuple[Agreement, int]]:
    """(agreement, other party) for every agreement in force that names the owner and covers
    ``category``."""
    owner_party = AgreementParty.__table__.alias("owner_party")
    other_party = AgreementParty.__table__.alias("other_party")
    rows = db.execute(
        select(Agreement, other_party.c.organisation_id)
        .join(owner_party, owner_party.c.agreement_id == Agreement.id)
        .join(other_party, other_party.c.agreement_id == Agreement.id)
        .where(
            owner_party.c.organisation_id == owner_id,
            other_party.c.organisation_id != owner_id,
            _in_force(now),
        )
        .order_by(Agreement.id)
    ).all()
    return [
        (agreement, other)
        for agreement, other in rows
        if category in categories_of(agreement) or WILDCARD_CATEGORY in categories_of(agreement)
    ]


def _shares(db: Session, record_type: str, record_id: int) -> list[RecordShare]:
    return list(
        db.scalars(
            select(RecordShare)
            .where(
                RecordShare.record_type == record_type,
                RecordShare.record_id == record_id,
                RecordShare.revoked_at.is_(None),
            )
            .order_by(RecordShare.id)
        )
    )


def _referral_column(record_type: str) -> InstrumentedAttribute[int | None] | None:
    return {
        "signal": Referral.signal_id,
        "subject": Referral.subject_id,
        "case": Referral.case_id,
    }.get(record_type)


def _referrals(db: Session, record_type: str, record_id: int) -> list[Referral]:
    column = _referral_column(record_type)
    if column is None:
        return []
    return list(
        db.scalars(
            select(Referral)
            .where(column == record_id, Referral.state.in_(OPEN_REFERRAL_STATES))
            .order_by(Referral.id)
        )
    )


def record_type_of(record: ChainRecord) -> RecordType:
    if isinstance(record, Signal):
        return "signal"
    if isinstance(record, Subject):
        return "subject"
    if isinstance(record, Case):
        return "case"
    if isinstance(record, Referral):
        return "referral"
    if isinstance(record, JointControl):
        return "joint_control"
    return "placement"


def bases(db: Session, record: ChainRecord, *, now: datetime | None = None) -> dict[int, Basis]:
    """Every organisation other than the owner that may read ``record``, with its (first)
    ground, in a stable order: agreements, then shares, then referrals."""
    now = now or utcnow()
    found: dict[int, Basis] = {}
    owner = record.organisation_id

    def grant(organisation_id: int, basis: Basis) -> None:
        if organisation_id != owner:
            found.setdefault(organisation_id, basis)

    if isinstance(record, Referral):
        grant(record.to_organisation_id, Basis("referral", record.purpose, record.id))
        return found
    if isinstance(record, JointControl):
        grant(record.partner_organisation_id, Basis("joint_control", "", record.id))
        return found
    if isinstance(record, Placement):
        shelter = db.get(Shelter, record.shelter_id)
        if shelter is not None:
            grant(shelter.organisation_id, Basis("placement", "", record.id))
        return found
    record_type = record_type_of(record)
    if isinstance(record, Signal):
        for agreement, other in _agreements_covering(db, owner, record.category, now):
            grant(other, Basis("agreement", agreement.purpose, agreement.id))
    for share in _shares(db, record_type, record.id):
        grant(share.to_organisation_id, Basis("share", share.reason, share.id))
    for referral in _referrals(db, record_type, record.id):
        grant(referral.to_organisation_id, Basis("referral", referral.purpose, referral.id))
    return found


def shared_with(db: Session, record: ChainRecord, *, now: datetime | None = None) -> frozenset[int]:
    """The organisations other than the owner that may read ``record``."""
    return frozenset(bases(db, record, now=now))


def active_emergency(
    db: Session, actor: Actor, record_type: str, record_id: int, *, now: datetime | None = None
) -> EmergencyAccess | None:
    """The actor's emergency access to the record that is still running, if any."""
    if actor.is_system:
        return None
    now = now or utcnow()
    return db.scalars(
        select(EmergencyAccess)
        .where(
            EmergencyAccess.user_id == actor.user_id,
            EmergencyAccess.record_type == record_type,
            EmergencyAccess.record_id == record_id,
            EmergencyAccess.expires_at > now,
        )
        .order_by(EmergencyAccess.id.desc())
        .limit(1)
    ).first()


def basis(
    db: Session, actor: Actor, record: ChainRecord, *, now: datetime | None = None
) -> Basis | None:
    """On what ground ``actor`` reads ``record`` (None: on none; the caller refuses)."""
    if record.organisation_id == actor.organisation_id:
        return Basis("own", "")
    found = bases(db, record, now=now).get(actor.organisation_id)
    if found is not None:
        return found
    emergency = active_emergency(db, actor, record_type_of(record), record.id, now=now)
    if emergency is not None:
        return Basis("emergency", emergency.reason, emergency.id)
    return None


def resource_for(
    db: Session, actor: Actor | None, record: ChainRecord, *, now: datetime | None = None
) -> Resource:
    """The :class:`Resource` of a stored record, with its owner, the organisations it is shared
    with and whether the actor holds an emergency access, for ``allowed()``."""
    record_type = record_type_of(record)
    emergency = (
        actor is not None
        and actor.organisation_id != record.organisation_id
        and active_emergency(db, actor, record_type, record.id, now=now) is not None
    )
    return Resource(
        kind=record_type,
        id=str(record.id),
        organisation_id=record.organisation_id,
        shared_with=shared_with(db, record, now=now),
        emergency=emergency,
    )


def visible_clause(
    actor: Actor, model: type[Signal] | type[Subject] | type[Case], *, now: datetime | None = None
) -> ColumnElement[bool]:
    """An SQL condition on ``model`` that holds for exactly the records :func:`basis` would
    give ``actor`` a ground for (emergency accesses included), for list queries."""
    now = now or utcnow()
    org = actor.organisation_id
    record_type = {Signal: "signal", Subject: "subject", Case: "case"}[model]
    clauses: list[ColumnElement[bool]] = [model.organisation_id == org]
    clauses.append(
        exists().where(
            RecordShare.record_type == record_type,
            RecordShare.record_id == model.id,
            RecordShare.to_organisation_id == org,
            RecordShare.revoked_at.is_(None),
        )
    )
    column = _referral_column(record_type)
    assert column is not None
    clauses.append(
        exists().where(
            column == model.id,
            Referral.to_organisation_id == org,
            Referral.state.in_(OPEN_REFERRAL_STATES),
        )
    )
    if not actor.is_system:
        clauses.append(
            exists().where(
                EmergencyAccess.user_id == actor.user_id,
                EmergencyAccess.record_type == record_type,
                EmergencyAccess.record_id == model.id,
                EmergencyAccess.expires_at > now,
            )
        )
    if model is Signal:
        clauses.append(_agreement_clause(org, now))
    return or_(*clauses)


def _agreement_clause(org: int, now: datetime) -> ColumnElement[bool]:
    """Signals whose owner shares an agreement in force with ``org`` covering their category.
    Categories are stored comma separated; the match is on ``,category,`` within
    ``,categories,`` so that one code never matches inside another."""
    owner_party = AgreementParty.__table__.alias("vis_owner_party")
    own_party = AgreementParty.__table__.alias("vis_own_party")
    padded = literal(",") + Agreement.categories + literal(",")
    return exists().where(
        owner_party.c.agreement_id == Agreement.id,
        own_party.c.agreement_id == Agreement.id,
        owner_party.c.organisation_id == Signal.organisation_id,
        own_party.c.organisation_id == org,
        Signal.organisation_id != org,
        _in_force(now),
        or_(
            padded.contains(literal(",") + Signal.category + literal(",")),
            padded.contains(literal("," + WILDCARD_CATEGORY + ",")),
        ),
    )
