"""Routing, referral and transfer: one state machine (``catalogue.REFERRAL_TRANSITIONS``).

A referral sends a signal, subject or case of the sender's organisation to another
organisation with a question. It is gated like Primero's consent-or-override: the person's
consent or a documented legal basis (``basis`` consent | legal_basis, the legal basis written
out) and a purpose, all recorded. While it is in progress or accepted the receiver sees the
referred record (:mod:`signaal.chain.visibility`). The receiver accepts, returns (rejected, with
a reason) or marks it done; the sender revokes (with a reason). Every transition is a
:class:`ReferralEvent` and a ``chain.record_written`` audit event.

Routing is the care coordinator's referral of a region's signal (``signals.route``): her inbox
holds the signals her organisation sees in its region that are new or were returned; routing
one sets the signal's status to routed; the partner's accept makes it accepted, a return makes
it returned and notifies the coordinators. Nothing stays unseen: :func:`overdue_signals`,
:func:`overdue_referrals` and the reminder :func:`overdue_routing_reminders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from signaal.chain import catalogue, journal, visibility
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.chain.signals import clean_text
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import (
    Case,
    Notification,
    Organisation,
    OrganisationKind,
    Referral,
    ReferralEvent,
    Signal,
    Subject,
    utcnow,
)

MAX_QUESTION = 2000
MAX_REASON = 2000
MAX_PURPOSE = 500
MAX_LEGAL_BASIS = 500
INBOX_STATUSES = ("new", "returned")
COORDINATOR_ROLE = "care_coordinator"
DEFAULT_OVERDUE_HOURS = 24


@dataclass(frozen=True)
class ReferralDraft:
    to_organisation_id: int | None
    question: str
    basis: str
    purpose: str
    legal_basis: str = ""
    kind: str = "referral"
    due_at: datetime | None = None


def clean_referral(draft: ReferralDraft, *, now: datetime) -> ReferralDraft:
    """Check the consent-or-legal-basis gate and the other fields (pure)."""
    problems: dict[str, str] = {}
    if draft.kind not in catalogue.REFERRAL_KINDS:
        problems["kind"] = "unknown kind"
    if draft.to_organisation_id is None or not 0 < draft.to_organisation_id < 2**31:
        problems["to_organisation_id"] = "choose an organisation"
    question = clean_text(draft.question, MAX_QUESTION)
    if question is None:
        problems["question"] = f"at most {MAX_QUESTION} characters"
    elif not question:
        problems["question"] = "required"
    if draft.basis not in catalogue.REFERRAL_BASES:
        problems["basis"] = "consent or legal basis"
    legal = clean_text(draft.legal_basis, MAX_LEGAL_BASIS)
    if legal is None:
        problems["legal_basis"] = f"at most {MAX_LEGAL_BASIS} characters"
    elif draft.basis == "legal_basis" and not legal:
        problems["legal_basis"] = "required for a legal basis"
    purpose = clean_text(draft.purpose, MAX_PURPOSE)
    if purpose is None:
        problems["purpose"] = f"at most {MAX_PURPOSE} characters"
    elif not purpose:
        problems["purpose"] = "required"
    if draft.due_at is not None and (draft.due_at.tzinfo is None or draft.due_at < now):
        problems["due_at"] = "a moment in the future"
    if problems:
        raise FieldErrors(problems)
    assert question is not None
    assert legal is not None
    assert purpose is not None
    return ReferralDraft(
        to_organisation_id=draft.to_organisation_id,
        question=question,
        basis=draft.basis,
        purpose=purpose,
        legal_basis=legal if draft.basis == "legal_basis" else "",
        kind=draft.kind,
        due_at=draft.due_at,
    )


def _receiver(db: Session, actor: Actor, organisation_id: int | None) -> Organisation:
    organisation = db.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.id == actor.organisation_id:
        raise FieldErrors({"to_organisation_id": "choose another organisation"})
    return organisation


def _create(
    db: Session,
    actor: Actor,
    clean: ReferralDraft,
    *,
    signal: Signal | None,
    subject: Subject | None,
    case: Case | None,
    ip: str | None,
    now: datetime,
) -> Referral:
    receiver = _receiver(db, actor, clean.to_organisation_id)
    referral = Referral(
        organisation_id=actor.organisation_id,
        to_organisation_id=receiver.id,
        kind=clean.kind,
        signal_id=signal.id if signal else None,
        subject_id=subject.id if subject else (signal.subject_id if signal else None),
        case_id=case.id if case else None,
        question=clean.question,
        state="in_progress",
        basis=clean.basis,
        legal_basis=clean.legal_basis,
        purpose=clean.purpose,
        due_at=clean.due_at,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
    )
    if case is not None and referral.subject_id is None:
        referral.subject_id = case.subject_id
    db.add(referral)
    db.flush()
    db.add(
        ReferralEvent(
            referral_id=referral.id,
            at=now,
            user_id=actor.user_id,
            organisation_id=actor.organisation_id,
            from_state=None,
            to_state="in_progress",
        )
    )
    db.flush()
    journal.written(
        db,
        actor,
        "referral",
        referral.id,
        "created",
        ip=ip,
        subject_id=referral.subject_id,
        fields={
            "kind": referral.kind,
            "to_organisation_id": receiver.id,
            "basis": referral.basis,
            "signal_id": referral.signal_id,
            "subject_id": referral.subject_id,
            "case_id": referral.case_id,
        },
    )
    return referral


def refer(
    db: Session,
    actor: Actor,
    draft: ReferralDraft,
    *,
    signal: Signal | None = None,
    subject: Subject | None = None,
    case: Case | None = None,
    ip: str | None,
    now: datetime | None = None,
) -> Referral:
    """Refer or transfer a record of the actor's own organisation (referrals.decide)."""
    now = now or utcnow()
    if draft.kind == "routing":
        raise FieldErrors({"kind": "routing is done from the coordinator's inbox"})
    records = [r for r in (signal, subject, case) if r is not None]
    clean = clean_referral(draft, now=now)
    if len(records) != 1:
        raise FieldErrors({"record": "name one signal, subject or case"})
    record = records[0]
    owned = Resource(
        visibility.record_type_of(record), str(record.id), organisation_id=record.organisation_id
    )
    if not allowed(actor, Action.DECIDE_REFERRALS, owned):
        if allowed(actor, Action.DECIDE_REFERRALS):
            raise NotFoundError("no such record")
        raise PermissionDenied("referrals.decide not allowed")
    return _create(db, actor, clean, signal=signal, subject=subject, case=case, ip=ip, now=now)


def _region(db: Session, actor: Actor) -> str | None:
    organisation = db.get(Organisation, actor.organisation_id)
    return organisation.region if organisation is not None else None


def _inbox_query(db: Session, actor: Actor, now: datetime):  # type: ignore[no-untyped-def]
    query = select(Signal).where(
        visibility.visible_clause(actor, Signal, now=now), Signal.status.in_(INBOX_STATUSES)
    )
    region = _region(db, actor)
    if region is not None:
        query = query.where(Signal.region == region)
    return query


def inbox(
    db: Session, actor: Actor, *, ip: str | None, now: datetime | None = None, limit: int = 100
) -> list[Signal]:
    """The coordinator's inbox: signals her organisation sees in its region (all regions for an
    organisation without one) that are new or returned, oldest first. Audited as a list read."""
    if not allowed(actor, Action.ROUTE_SIGNALS):
        raise PermissionDenied("signals.route not allowed")
    now = now or utcnow()
    rows = list(db.scalars(_inbox_query(db, actor, now).order_by(Signal.id).limit(limit)))
    journal.read_list(
        db,
        actor,
        "signal",
        rows,
        ip=ip,
        view="inbox",
        subject_of={s.id: s.subject_id for s in rows},
    )
    return rows


def route_signal(
    db: Session,
    actor: Actor,
    signal: Signal,
    draft: ReferralDraft,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> Referral:
    """Route a signal of the inbox to a partner organisation with a question."""
    if not allowed(actor, Action.ROUTE_SIGNALS):
        raise PermissionDenied("signals.route not allowed")
    now = now or utcnow()
    if not allowed(actor, Action.VIEW_SIGNALS, visibility.resource_for(db, actor, signal, now=now)):
        raise NotFoundError("no such signal")
    region = _region(db, actor)
    clean = clean_referral(
        ReferralDraft(
            to_organisation_id=draft.to_organisation_id,
            question=draft.question,
            basis=draft.basis,
            purpose=draft.purpose,
            legal_basis=draft.legal_basis,
            kind="routing",
            due_at=draft.due_at,
        ),
        now=now,
    )
    if region is not None and signal.region != region:
        raise ConflictError("the signal is not of the organisation's region")
    if signal.status not in INBOX_STATUSES:
        raise ConflictError(f"a signal that is {signal.status} cannot be routed")
    referral = _create(db, actor, clean, signal=signal, subject=None, case=None, ip=ip, now=now)
    _set_signal_status(db, actor, signal, "routed", ip=ip, now=now)
    return referral


def _set_signal_status(
    db: Session, actor: Actor, signal: Signal, status: str, *, ip: str | None, now: datetime
) -> None:
    old = signal.status
    signal.status = status
    signal.updated_at = now
    db.flush()
    journal.written(
        db,
        actor,
        "signal",
        signal.id,
        "status",
        ip=ip,
        subject_id=signal.subject_id,
        fields={"from": old, "to": status},
    )


def side_for(to_state: str) -> str:
    """Who takes a transition to ``to_state``: "receiver" or "sender"."""
    return "sender" if to_state in catalogue.REFERRAL_SENDER_STATES else "receiver"


def check_transition(from_state: str, to_state: str, reason: str) -> str:
    """The cleaned reason if ``from_state`` -> ``to_state`` is allowed (pure); ConflictError for
    a transition the machine does not have, FieldErrors for a missing or bad reason."""
    if to_state not in catalogue.REFERRAL_STATES:
        raise FieldErrors({"to_state": "unknown state"})
    if to_state not in catalogue.REFERRAL_TRANSITIONS.get(from_state, frozenset()):
        raise ConflictError(f"a referral that is {from_state} cannot become {to_state}")
    cleaned = clean_text(reason, MAX_REASON)
    if cleaned is None:
        raise FieldErrors({"reason": f"at most {MAX_REASON} characters"})
    if to_state in catalogue.REFERRAL_REASON_REQUIRED and not cleaned:
        raise FieldErrors({"reason": "required"})
    return cleaned


def transition(
    db: Session,
    actor: Actor,
    referral: Referral,
    to_state: str,
    reason: str = "",
    *,
    ip: str | None,
    now: datetime | None = None,
) -> Referral:
    """Take one transition of the state machine: the receiver accepts, rejects (returns) or
    marks done; the sender revokes. A forbidden transition changes nothing."""
    now = now or utcnow()
    resource = visibility.resource_for(db, actor, referral, now=now)
    if not allowed(actor, Action.DECIDE_REFERRALS, resource):
        raise NotFoundError("no such referral")
    cleaned = check_transition(referral.state, to_state, reason)
    side = side_for(to_state)
    party = referral.organisation_id if side == "sender" else referral.to_organisation_id
    if actor.organisation_id != party:
        raise PermissionDenied(f"only the {side} takes a referral to {to_state}")
    from_state = referral.state
    referral.state = to_state
    referral.updated_at = now
    referral.decided_by_user_id = actor.user_id
    if cleaned:
        referral.reason = cleaned
    db.add(
        ReferralEvent(
            referral_id=referral.id,
            at=now,
            user_id=actor.user_id,
            organisation_id=actor.organisation_id,
            from_state=from_state,
            to_state=to_state,
            reason=cleaned,
        )
    )
    db.flush()
    journal.written(
        db,
        actor,
        "referral",
        referral.id,
        "transition",
        ip=ip,
        subject_id=referral.subject_id,
        fields={"from": from_state, "to": to_state, "reason_given": bool(cleaned)},
    )
    if referral.kind == "routing" and referral.signal_id is not None:
        _follow_routing(db, actor, referral, to_state, ip=ip, now=now)
    return referral


def _follow_routing(
    db: Session, actor: Actor, referral: Referral, to_state: str, *, ip: str | None, now: datetime
) -> None:
    signal = db.get(Signal, referral.signal_id)
    if signal is None:
        return
    status = {"accepted": "accepted", "rejected": "returned", "revoked": "new"}.get(to_state)
    if status is None or signal.status == status:
        return
    _set_signal_status(db, actor, signal, status, ip=ip, now=now)
    if to_state == "rejected":
        db.add(
            Notification(
                organisation_id=referral.organisation_id,
                role=COORDINATOR_ROLE,
                kind="signal_returned",
                text=f"Signal {signal.id} was returned by a partner; see the coordination inbox.",
                record_type="signal",
                record_id=signal.id,
                created_at=now,
            )
        )
        db.flush()


def events_of(db: Session, referral: Referral) -> list[ReferralEvent]:
    return list(
        db.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.at, ReferralEvent.id)
        )
    )


def referrals_for(
    db: Session,
    actor: Actor,
    *,
    direction: str,
    states: tuple[str, ...] | None = None,
    limit: int = 100,
    before_id: int | None = None,
    ip: str | None,
) -> list[Referral]:
    """Incoming (``direction`` "in") or outgoing ("out") referrals of the actor's organisation,
    newest first; audited as a list read."""
    if not allowed(actor, Action.DECIDE_REFERRALS) and not allowed(actor, Action.ROUTE_SIGNALS):
        raise PermissionDenied("referrals not allowed")
    column = Referral.to_organisation_id if direction == "in" else Referral.organisation_id
    query = select(Referral).where(column == actor.organisation_id)
    if states:
        query = query.where(Referral.state.in_(states))
    if before_id is not None:
        query = query.where(Referral.id < before_id)
    rows = list(db.scalars(query.order_by(Referral.id.desc()).limit(min(limit, 200))))
    journal.read_list(
        db,
        actor,
        "referral",
        rows,
        ip=ip,
        view=f"list {direction}",
        subject_of={r.id: r.subject_id for r in rows},
    )
    return rows


def open_referral(db: Session, actor: Actor, referral: Referral, *, ip: str | None) -> Referral:
    resource = visibility.resource_for(db, actor, referral)
    if not allowed(actor, Action.DECIDE_REFERRALS, resource):
        raise NotFoundError("no such referral")
    journal.read(db, actor, referral, subject_id=referral.subject_id, ip=ip)
    return referral


def find_referral(db: Session, actor: Actor, referral_id: int) -> Referral:
    referral = db.get(Referral, referral_id) if 0 < referral_id < 2**31 else None
    if referral is None or not allowed(
        actor, Action.DECIDE_REFERRALS, visibility.resource_for(db, actor, referral)
    ):
        raise NotFoundError("no such referral")
    return referral


def partner_organisations(db: Session, actor: Actor) -> list[Organisation]:
    """The organisations a record may be referred or routed to (every other one)."""
    return list(
        db.scalars(
            select(Organisation)
            .where(Organisation.id != actor.organisation_id)
            .order_by(Organisation.name)
        )
    )


# ----------------------------------------------------------------------------------------------
# Nothing stays unassigned unseen


def overdue_signals(
    db: Session, actor: Actor, *, hours: int, now: datetime | None = None
) -> list[Signal]:
    """Inbox signals that are new for more than ``hours`` (not yet routed by anyone)."""
    if not allowed(actor, Action.ROUTE_SIGNALS):
        raise PermissionDenied("signals.route not allowed")
    now = now or utcnow()
    cutoff = now - timedelta(hours=hours)
    query = _inbox_query(db, actor, now).where(Signal.status == "new", Signal.created_at < cutoff)
    return list(db.scalars(query.order_by(Signal.created_at).limit(200)))


def _overdue_referral_clause(now: datetime, hours: int):  # type: ignore[no-untyped-def]
    cutoff = now - timedelta(hours=hours)
    return and_(
        Referral.state == "in_progress",
        or_(
            and_(Referral.due_at.is_not(None), Referral.due_at < now),
            and_(Referral.due_at.is_(None), Referral.created_at < cutoff),
        ),
    )


def overdue_referrals(
    db: Session, actor: Actor, *, hours: int, now: datetime | None = None
) -> list[Referral]:
    """Referrals the actor's organisation sent or received that are still in progress past
    their due time, or older than ``hours`` without one."""
    if not allowed(actor, Action.DECIDE_REFERRALS) and not allowed(actor, Action.ROUTE_SIGNALS):
        raise PermissionDenied("referrals not allowed")
    now = now or utcnow()
    query = select(Referral).where(
        or_(
            Referral.organisation_id == actor.organisation_id,
            Referral.to_organisation_id == actor.organisation_id,
        ),
        _overdue_referral_clause(now, hours),
    )
    return list(db.scalars(query.order_by(Referral.created_at).limit(200)))


def _already_reminded(
    db: Session, organisation_id: int, record_type: str, record_id: int, since: datetime
) -> bool:
    return (
        db.scalar(
            select(Notification.id)
            .where(
                Notification.organisation_id == organisation_id,
                Notification.kind == "routing_overdue",
                Notification.record_type == record_type,
                Notification.record_id == record_id,
                Notification.created_at >= since,
            )
            .limit(1)
        )
        is not None
    )


def overdue_routing_reminders(db: Session, now: datetime, *, hours: int | None = None) -> int:
    """Write reminders (Notification rows for the care coordinators) for new signals of their
    region left unrouted longer than ``hours`` and for routings/referrals they sent that are
    overdue; at most one reminder per record per ``hours``. Returns how many were written. For
    the reminder command (``signaal chain remind``); ``hours`` defaults to the setting
    ``chain_routing_overdue_hours``."""
    if hours is None:
        from signaal.settings import get_settings

        hours = get_settings().chain_routing_overdue_hours
    cutoff = now - timedelta(hours=hours)
    coordinations = list(
        db.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.CARE_COORDINATION)
            .order_by(Organisation.id)
        )
    )
    written = 0
    for organisation in coordinations:
        coordinator = Actor(
            user_id=0,
            email="reminder",
            organisation_id=organisation.id,
            organisation_kind=organisation.kind,
            role=COORDINATOR_ROLE,
            is_demo=organisation.is_demo,
        )
        query = select(Signal).where(
            visibility.visible_clause(coordinator, Signal, now=now),
            Signal.status == "new",
            Signal.created_at < cutoff,
        )
        if organisation.region is not None:
            query = query.where(Signal.region == organisation.region)
        for signal in db.scalars(query.order_by(Signal.id)):
            if _already_reminded(db, organisation.id, "signal", signal.id, cutoff):
                continue
            db.add(
                Notification(
                    organisation_id=organisation.id,
                    role=COORDINATOR_ROLE,
                    kind="routing_overdue",
                    text=f"Signal {signal.id} has been new for more than {hours} hours.",
                    record_type="signal",
                    record_id=signal.id,
                    created_at=now,
                )
            )
            db.flush()
            written += 1
        referrals = db.scalars(
            select(Referral)
            .where(
                Referral.organisation_id == organisation.id,
                _overdue_referral_clause(now, hours),
            )
            .order_by(Referral.id)
        )
        for referral in referrals:
            if _already_reminded(db, organisation.id, "referral", referral.id, cutoff):
                continue
            db.add(
                Notification(
                    organisation_id=organisation.id,
                    role=COORDINATOR_ROLE,
                    kind="routing_overdue",
                    text=f"Referral {referral.id} is still waiting for an answer.",
                    record_type="referral",
                    record_id=referral.id,
                    created_at=now,
                )
            )
            db.flush()
            written += 1
    return written
