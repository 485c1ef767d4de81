"""Sharing: agreements (convenanten), explicit shares of one record, emergency access.

* An **agreement** names at least two organisations (the keeper's own among them), the signal
  categories it covers (codes or ``*``), its purpose and legal basis and when it is in force;
  the parties see each other's signals of those categories (:mod:`signaal.chain.visibility`).
  It is recorded and ended by ``agreements.manage``, seen by the parties (``agreements.view``).
* An **explicit share** opens one signal, subject or case of the own organisation to one other
  organisation, with a reason (``records.share``, owner only), until it is revoked.
* An **emergency access** (noodprocedure, ``emergency.access``) lets a user read one record of
  another organisation without either, for a stated reason, for a short time; the owning
  organisation's log administrators (users with ``audit.view`` there) are notified and the start
  is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import catalogue, journal, visibility
from signaal.chain.authz import Action, Actor, Resource, allowed, roles
from signaal.chain.signals import clean_text
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import (
    Agreement,
    AgreementParty,
    Case,
    EmergencyAccess,
    Notification,
    Organisation,
    RecordShare,
    Signal,
    Subject,
    User,
    utcnow,
)

MAX_NAME = 200
MAX_TEXT = 2000
MAX_PARTIES = 50
MIN_EMERGENCY_REASON = 20
SHARE_MODELS: dict[str, type[Signal | Subject | Case]] = {
    "signal": Signal,
    "subject": Subject,
    "case": Case,
}


# ----------------------------------------------------------------------------------------------
# Agreements


@dataclass(frozen=True)
class AgreementDraft:
    name: str
    parties: Sequence[int]
    categories: Sequence[str]
    purpose: str
    legal_basis: str
    valid_from: datetime | None
    valid_until: datetime | None = None
    hit_no_hit: bool = False


def clean_agreement(draft: AgreementDraft, *, own_organisation_id: int) -> AgreementDraft:
    """Check every field (pure): a name, two or more parties with the own organisation among
    them, known categories (or ``*``), a purpose, a legal basis and a valid period."""
    problems: dict[str, str] = {}
    name = clean_text(draft.name, MAX_NAME)
    if name is None or not name:
        problems["name"] = f"required, at most {MAX_NAME} characters"
    parties = sorted(set(draft.parties))
    if len(parties) > MAX_PARTIES or any(not 0 < p < 2**31 for p in parties):
        problems["parties"] = "unknown organisation"
    elif own_organisation_id not in parties or len(parties) < 2:
        problems["parties"] = "the own organisation and at least one other"
    categories = sorted(set(draft.categories))
    if not categories or any(
        c != visibility.WILDCARD_CATEGORY and c not in catalogue.SIGNAL_CATEGORIES
        for c in categories
    ):
        problems["categories"] = "known signal categories or *"
    if visibility.WILDCARD_CATEGORY in categories:
        categories = [visibility.WILDCARD_CATEGORY]
    purpose = clean_text(draft.purpose, MAX_TEXT)
    if purpose is None or not purpose:
        problems["purpose"] = "required"
    legal = clean_text(draft.legal_basis, MAX_TEXT)
    if legal is None or not legal:
        problems["legal_basis"] = "required"
    if draft.valid_from is None or draft.valid_from.tzinfo is None:
        problems["valid_from"] = "required"
    if draft.valid_until is not None and (
        draft.valid_until.tzinfo is None
        or (draft.valid_from is not None and draft.valid_until <= draft.valid_from)
    ):
        problems["valid_until"] = "after the start"
    if problems:
        raise FieldErrors(problems)
    assert name
    assert purpose
    assert legal
    return AgreementDraft(
        name,
        parties,
        categories,
        purpose,
        legal,
        draft.valid_from,
        draft.valid_until,
        hit_no_hit=draft.hit_no_hit,
    )


def parties_of(db: Session, agreement: Agreement) -> list[int]:
    return list(
        db.scalars(
            select(AgreementParty.organisation_id)
            .where(AgreementParty.agreement_id == agreement.id)
            .order_by(AgreementParty.organisation_id)
        )
    )


def agreement_resource(db: Session, agreement: Agreement) -> Resource:
    """The agreement as ``allowed()`` sees it: kept by its keeper, shared with its parties."""
    return Resource(
        "agreement",
        str(agreement.id),
        organisation_id=agreement.organisation_id,
        shared_with=frozenset(parties_of(db, agreement)) - {agreement.organisation_id},
    )


def create_agreement(
    db: Session,
    actor: Actor,
    draft: AgreementDraft,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> Agreement:
    if not allowed(actor, Action.MANAGE_AGREEMENTS):
        raise PermissionDenied("agreements.manage not allowed")
    now = now or utcnow()
    clean = clean_agreement(draft, own_organisation_id=actor.organisation_id)
    known = set(db.scalars(select(Organisation.id).where(Organisation.id.in_(list(clean.parties)))))
    if known != set(clean.parties):
        raise FieldErrors({"parties": "unknown organisation"})
    assert clean.valid_from is not None
    agreement = Agreement(
        organisation_id=actor.organisation_id,
        name=clean.name,
        purpose=clean.purpose,
        legal_basis=clean.legal_basis,
        categories=",".join(clean.categories),
        valid_from=clean.valid_from,
        valid_until=clean.valid_until,
        created_at=now,
        created_by_user_id=actor.user_id,
        hit_no_hit=clean.hit_no_hit,
    )
    db.add(agreement)
    db.flush()
    for party in clean.parties:
        db.add(AgreementParty(agreement_id=agreement.id, organisation_id=party))
    db.flush()
    journal.written(
        db,
        actor,
        "agreement",
        agreement.id,
        "created",
        ip=ip,
        fields={
            "parties": list(clean.parties),
            "categories": list(clean.categories),
            "hit_no_hit": clean.hit_no_hit,
        },
    )
    return agreement


def end_agreement(
    db: Session, actor: Actor, agreement: Agreement, *, ip: str | None, now: datetime | None = None
) -> Agreement:
    """End (revoke) an agreement kept by the own organisation: from now on it opens nothing."""
    owned = Resource("agreement", str(agreement.id), organisation_id=agreement.organisation_id)
    if not allowed(actor, Action.MANAGE_AGREEMENTS, owned):
        raise NotFoundError("no such agreement")
    if agreement.revoked_at is not None:
        raise ConflictError("the agreement has ended already")
    agreement.revoked_at = now or utcnow()
    db.flush()
    journal.written(db, actor, "agreement", agreement.id, "revoked", ip=ip)
    return agreement


def visible_agreements(db: Session, actor: Actor) -> list[Agreement]:
    """The agreements the own organisation is party to, newest first."""
    if not allowed(actor, Action.VIEW_AGREEMENTS):
        raise PermissionDenied("agreements.view not allowed")
    return list(
        db.scalars(
            select(Agreement)
            .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
            .where(AgreementParty.organisation_id == actor.organisation_id)
            .order_by(Agreement.id.desc())
        )
    )


def find_agreement(db: Session, actor: Actor, agreement_id: int) -> Agreement:
    """An agreement the own organisation is party to, else NotFoundError."""
    agreement = db.get(Agreement, agreement_id) if 0 < agreement_id < 2**31 else None
    if agreement is None or not allowed(
        actor, Action.VIEW_AGREEMENTS, agreement_resource(db, agreement)
    ):
        raise NotFoundError("no such agreement")
    return agreement


def in_force(agreement: Agreement, now: datetime) -> bool:
    return (
        agreement.revoked_at is None
        and agreement.valid_from <= now
        and (agreement.valid_until is None or agreement.valid_until > now)
    )


# ----------------------------------------------------------------------------------------------
# Explicit shares


def share_record(
    db: Session,
    actor: Actor,
    record: Signal | Subject | Case,
    to_organisation_id: int | None,
    reason: str,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> RecordShare:
    """Share one record of the own organisation with another organisation, with a reason."""
    record_type = visibility.record_type_of(record)
    owned = Resource(record_type, str(record.id), organisation_id=record.organisation_id)
    if not allowed(actor, Action.SHARE_RECORDS, owned):
        if allowed(actor, Action.SHARE_RECORDS):
            raise NotFoundError("no such record")
        raise PermissionDenied("records.share not allowed")
    problems: dict[str, str] = {}
    cleaned = clean_text(reason, MAX_TEXT)
    if cleaned is None or len(cleaned) < 5:
        problems["reason"] = "give a reason (5 to 2000 characters)"
    receiver = db.get(Organisation, to_organisation_id) if to_organisation_id else None
    if receiver is None or receiver.id == actor.organisation_id:
        problems["to_organisation_id"] = "choose another organisation"
    if problems:
        raise FieldErrors(problems)
    assert receiver is not None
    assert cleaned is not None
    share = RecordShare(
        organisation_id=actor.organisation_id,
        to_organisation_id=receiver.id,
        record_type=record_type,
        record_id=record.id,
        reason=cleaned,
        shared_at=now or utcnow(),
        shared_by_user_id=actor.user_id,
    )
    db.add(share)
    db.flush()
    journal.written(
        db,
        actor,
        record_type,
        record.id,
        "shared",
        ip=ip,
        subject_id=record.id if isinstance(record, Subject) else record.subject_id,
        fields={"share_id": share.id, "to_organisation_id": receiver.id},
    )
    return share


def revoke_share(
    db: Session, actor: Actor, share: RecordShare, *, ip: str | None, now: datetime | None = None
) -> RecordShare:
    owned = Resource(share.record_type, str(share.record_id), organisation_id=share.organisation_id)
    if not allowed(actor, Action.SHARE_RECORDS, owned):
        raise NotFoundError("no such share")
    if share.revoked_at is not None:
        raise ConflictError("the share has ended already")
    share.revoked_at = now or utcnow()
    db.flush()
    journal.written(
        db,
        actor,
        share.record_type,
        share.record_id,
        "share_revoked",
        ip=ip,
        fields={"share_id": share.id, "to_organisation_id": share.to_organisation_id},
    )
    return share


def shares_of(db: Session, record: Signal | Subject | Case) -> list[RecordShare]:
    return list(
        db.scalars(
            select(RecordShare)
            .where(
                RecordShare.record_type == visibility.record_type_of(record),
                RecordShare.record_id == record.id,
                RecordShare.revoked_at.is_(None),
            )
            .order_by(RecordShare.id)
        )
    )


def find_shareable(db: Session, record_type: str, record_id: int) -> Signal | Subject | Case | None:
    """The signal, subject or case of that type and id, if there is one."""
    if not 0 < record_id < 2**31:
        return None
    if record_type == "signal":
        return db.get(Signal, record_id)
    if record_type == "subject":
        return db.get(Subject, record_id)
    if record_type == "case":
        return db.get(Case, record_id)
    return None


# ----------------------------------------------------------------------------------------------
# Emergency access (noodprocedure)


def log_administrators(db: Session, organisation_id: int) -> list[User]:
    """The active users of the organisation whose role reads its audit log."""
    readers = [name for name, role in roles().items() if Action.VIEW_AUDIT in role.actions]
    return list(
        db.scalars(
            select(User)
            .where(
                User.organisation_id == organisation_id,
                User.role.in_(readers),
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def start_emergency_access(
    db: Session,
    actor: Actor,
    record_type: str,
    record_id: int,
    reason: str,
    *,
    hours: int,
    ip: str | None,
    now: datetime | None = None,
) -> EmergencyAccess:
    """Open one record of another organisation to the actor for ``hours``, for a reason of at
    least :data:`MIN_EMERGENCY_REASON` characters; alert the owner's log administrators."""
    if not allowed(actor, Action.EMERGENCY_ACCESS):
        raise PermissionDenied("emergency.access not allowed")
    now = now or utcnow()
    problems: dict[str, str] = {}
    model = SHARE_MODELS.get(record_type)
    if model is None:
        problems["record_type"] = "signal, subject or case"
    cleaned = clean_text(reason, MAX_TEXT)
    if cleaned is None or len(cleaned) < MIN_EMERGENCY_REASON:
        problems["reason"] = f"describe the emergency in at least {MIN_EMERGENCY_REASON} characters"
    record = find_shareable(db, record_type, record_id) if model is not None else None
    if model is not None and record is None:
        problems["record_id"] = "no such record"
    if problems:
        raise FieldErrors(problems)
    assert record is not None
    assert cleaned is not None
    if record.organisation_id == actor.organisation_id:
        raise ConflictError("a record of the own organisation needs no emergency access")
    access = EmergencyAccess(
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        record_type=record_type,
        record_id=record.id,
        owner_organisation_id=record.organisation_id,
        reason=cleaned,
        started_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.add(access)
    db.flush()
    for administrator in log_administrators(db, record.organisation_id):
        db.add(
            Notification(
                organisation_id=record.organisation_id,
                user_id=administrator.id,
                kind="emergency_access",
                text=(
                    f"Emergency access to {record_type} {record.id} by a user of organisation "
                    f"{actor.organisation_id} until {access.expires_at:%Y-%m-%d %H:%M} UTC."
                ),
                record_type=record_type,
                record_id=record.id,
                created_at=now,
            )
        )
    db.flush()
    audit.record(
        db,
        audit.EmergencyAccessStarted(
            record_kind=record_type,
            record_key=str(record.id),
            owner_organisation_id=record.organisation_id,
            expires_at=access.expires_at.isoformat(),
            reason=cleaned,
        ),
        actor=actor,
        ip=ip,
    )
    return access


def notifications_for(db: Session, user: User, *, limit: int = 50) -> list[Notification]:
    """The unread notifications of a user: her own and her organisation's for her role."""
    return list(
        db.scalars(
            select(Notification)
            .where(
                Notification.organisation_id == user.organisation_id,
                Notification.read_at.is_(None),
                or_(
                    Notification.user_id == user.id,
                    and_(Notification.user_id.is_(None), Notification.role == user.role),
                ),
            )
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )
