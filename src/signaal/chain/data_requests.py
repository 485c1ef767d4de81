"""The data subject's requests: access (AVG art. 15) and erasure (AVG art. 17), per subject.

Both are decided for one subject of the actor's own organisation only: another organisation's
subject (also one shared with it, or one that matched on hit/no-hit) is "not found". Each
organisation is its own controller and answers for its own records; what a partner holds about
the same person is the partner's to answer.

* :func:`subject_access_report` (``subjects.access_report``) collects everything the
  organisation holds about the subject as a structured dict, ready to be given to the person as
  JSON: the subject, her contact points (masked; in the clear for a role that may reveal
  them), signals, cases with their history, assessments and aangifte support, outreach
  contacts, tasks, placements, referrals (to whom, on which basis), contact requests, the
  organisations her records were shared with, and the retention periods. The at-rest
  encryption is transparent: free text is in the clear. The export is audited with the record
  kinds and their counts.
* :func:`erase_subject` (``subjects.erase``) deletes the subject and everything that hangs on
  her within the organisation (:func:`signaal.chain.retention.erase_subject_records`), with a
  reason code of :data:`ERASURE_REASONS`; it is refused under a legal hold
  (:class:`~signaal.errors.LegalHoldError`) and while a partner's case (opened on a share)
  refers to her (a :class:`~signaal.errors.ConflictError`: the partner's case is the
  partner's). The audit log stays as it is (append-only,
  hash-chained; it holds codes and record ids, never free text); the erasure's own event names
  the reason code and the counts per record kind only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import journal
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.chain.outreach import sealing_row
from signaal.chain.retention import dependents, erase_subject_records, periods_from
from signaal.chain.subjects import seal_context
from signaal.errors import ConflictError, FieldErrors, LegalHoldError, NotFoundError
from signaal.privacy.sealing import Sealer
from signaal.settings import get_settings
from signaal.store.models import (
    AangifteSupport,
    Case,
    CaseEvent,
    ContactRequest,
    Organisation,
    OutreachContact,
    Placement,
    RecordShare,
    Referral,
    ReferralEvent,
    RemoteHit,
    RemoteMatchRecord,
    Signal,
    Subject,
    SubjectContact,
    SubjectEncoding,
    Task,
    VulnerabilityAssessment,
    utcnow,
)

REPORT_FORMAT = "signaal.subject_access_report/1"
# The grounds of AVG art. 17(1) an erasure is made on; the audit keeps the code.
ERASURE_REASONS: tuple[str, ...] = (
    "no_longer_necessary",  # art. 17(1)(a)
    "consent_withdrawn",  # (b)
    "objection",  # (c)
    "unlawful",  # (d)
    "legal_obligation",  # (e)
)
FACTORS = (
    "prior_trauma",
    "intellectual_disability",
    "youth_care_history",
    "near_adulthood",
    "dependency",
    "language_barrier",
)


def _own_subject(db: Session, actor: Actor, subject_id: int, action: Action) -> Subject:
    """The subject, if it is the actor's organisation's and the action is allowed on it;
    otherwise not found (whether it exists elsewhere or not at all)."""
    subject = db.get(Subject, subject_id) if 0 < subject_id < 2**31 else None
    if subject is None or not allowed(
        actor,
        action,
        Resource("subject", str(subject.id), organisation_id=subject.organisation_id),
    ):
        raise NotFoundError("no such subject")
    return subject


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rows(db: Session, model: Any, ids: Sequence[int], *order: Any) -> Sequence[Any]:
    """The rows of ``model`` with these ids, in ``order``."""
    if not ids:
        return []
    return db.scalars(select(model).where(model.id.in_(ids)).order_by(*order)).all()


def _names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(
        db.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))
        ).all()
    )


def subject_access_report(
    db: Session,
    actor: Actor,
    subject_id: int,
    *,
    contact_key: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the actor's organisation holds about its subject ``subject_id`` (see the
    module docstring), as plain JSON-ready values; audited with the counts."""
    subject = _own_subject(db, actor, subject_id, Action.REPORT_SUBJECTS)
    own = subject.organisation_id
    owned = Resource("subject", str(subject.id), organisation_id=own)
    reveal = allowed(actor, Action.REVEAL_CONTACTS, owned)
    sealer = Sealer(contact_key)
    now = now or utcnow()

    contacts = db.scalars(
        select(SubjectContact)
        .where(SubjectContact.subject_id == subject.id)
        .order_by(SubjectContact.added_at, SubjectContact.pseudonym)
    ).all()
    # The same records an erasure would delete (retention.dependents), so that the export
    # holds everything the organisation keeps about her and nothing else.
    found = dependents(db, own, [subject.id])
    signals = _rows(db, Signal, found.signals, Signal.observed_at, Signal.id)
    cases = _rows(db, Case, found.cases, Case.id)
    case_ids = found.cases
    signal_ids = found.signals
    outreach = _rows(db, OutreachContact, found.contacts, OutreachContact.at, OutreachContact.id)
    tasks = _rows(db, Task, found.tasks, Task.id)
    placements = _rows(db, Placement, found.placements, Placement.id)
    referrals = _rows(db, Referral, found.referrals, Referral.id)
    requests = db.scalars(
        select(ContactRequest)
        .where(
            or_(
                (ContactRequest.organisation_id == own) & (ContactRequest.subject_id == subject.id),
                (ContactRequest.to_organisation_id == own)
                & (ContactRequest.to_subject_id == subject.id),
            )
        )
        .order_by(ContactRequest.id)
    ).all()
    shares = db.scalars(
        select(RecordShare)
        .where(
            RecordShare.organisation_id == own,
            or_(
                (RecordShare.record_type == "subject") & (RecordShare.record_id == subject.id),
                (RecordShare.record_type == "signal") & RecordShare.record_id.in_(signal_ids),
                (RecordShare.record_type == "case") & RecordShare.record_id.in_(case_ids),
            ),
        )
        .order_by(RecordShare.id)
    ).all()
    names = _names(
        db,
        [own]
        + [r.to_organisation_id for r in referrals]
        + [r.organisation_id for r in requests]
        + [r.to_organisation_id for r in requests]
        + [s.to_organisation_id for s in shares],
    )
    controller = db.get(Organisation, own)
    encoded = db.scalar(
        select(SubjectEncoding.purpose).where(SubjectEncoding.subject_id == subject.id)
    )
    # Her records at the cross-deployment match service and what it answered (another
    # deployment's name and contact route): recipients and sources in the sense of art. 15.
    remote_records = db.scalars(
        select(RemoteMatchRecord)
        .where(RemoteMatchRecord.subject_id == subject.id)
        .order_by(RemoteMatchRecord.purpose)
    ).all()
    remote_hits = db.scalars(
        select(RemoteHit)
        .where(RemoteHit.subject_id == subject.id)
        .order_by(RemoteHit.purpose, RemoteHit.organisation)
    ).all()

    def phone(contact: SubjectContact) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": contact.kind,
            "masked": contact.masked,
            "added_at": _at(contact.added_at),
        }
        if reveal:
            entry["value"] = sealer.open(
                contact.sealed, run_id=0, pseudonym=seal_context(subject.id, contact.pseudonym)
            )
        return entry

    def outreach_entry(contact: OutreachContact) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": contact.id,
            "kind": contact.kind,
            "at": _at(contact.at),
            "municipality": contact.municipality,
            "location": contact.location,
            "outcome": contact.outcome,
            "case_id": contact.case_id,
            "next_contact_at": _at(contact.next_contact_at),
            "phone_masked": contact.phone_masked,
        }
        if reveal and contact.phone_sealed is not None:
            run_id, bound = sealing_row(contact.id)
            entry["phone"] = sealer.open(contact.phone_sealed, run_id=run_id, pseudonym=bound)
        return entry

    def case_entry(case: Case) -> dict[str, Any]:
        events = db.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
        assessments = db.scalars(
            select(VulnerabilityAssessment)
            .where(VulnerabilityAssessment.case_id == case.id)
            .order_by(VulnerabilityAssessment.at, VulnerabilityAssessment.id)
        )
        supports = db.scalars(
            select(AangifteSupport)
            .where(AangifteSupport.case_id == case.id)
            .order_by(AangifteSupport.at)
        )
        return {
            "id": case.id,
            "stage": case.stage,
            "opened_at": _at(case.opened_at),
            "closed_at": _at(case.closed_at),
            "closed_reason": case.closed_reason,
            "events": [
                {
                    "at": _at(e.at),
                    "kind": e.kind,
                    "from_stage": e.from_stage,
                    "to_stage": e.to_stage,
                    "text": e.text,
                    "details": e.details,
                }
                for e in events
            ],
            "assessments": [
                {"at": _at(a.at), **{f: getattr(a, f) for f in FACTORS}, "notes": a.notes}
                for a in assessments
            ],
            "aangifte_supports": [
                {
                    "at": _at(s.at),
                    "presence": s.presence,
                    "police_unit": s.police_unit,
                    "follow_up": s.follow_up,
                }
                for s in supports
            ],
        }

    def referral_entry(referral: Referral) -> dict[str, Any]:
        events = db.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.at)
        )
        return {
            "id": referral.id,
            "kind": referral.kind,
            "to_organisation": names.get(referral.to_organisation_id),
            "question": referral.question,
            "state": referral.state,
            "basis": referral.basis,
            "legal_basis": referral.legal_basis,
            "purpose": referral.purpose,
            "created_at": _at(referral.created_at),
            "history": [
                {
                    "at": _at(e.at),
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "reason": e.reason,
                }
                for e in events
            ],
        }

    def request_entry(request: ContactRequest) -> dict[str, Any]:
        sent = request.organisation_id == own
        return {
            "id": request.id,
            "direction": "sent" if sent else "received",
            "other_organisation": names.get(
                request.to_organisation_id if sent else request.organisation_id
            ),
            "message": request.message,
            "state": request.state,
            "answer": request.answer,
            "created_at": _at(request.created_at),
            "answered_at": _at(request.answered_at),
        }

    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "generated_at": now.isoformat(),
        "controller": {
            "organisation": names.get(own),
            "contact_route": controller.contact_route if controller is not None else None,
        },
        "subject": {
            "id": subject.id,
            "alias": subject.alias,
            "birth_year_from": subject.birth_year_from,
            "birth_year_to": subject.birth_year_to,
            "created_at": _at(subject.created_at),
            "updated_at": _at(subject.updated_at),
            # The hold's reason is left out: it may name proceedings that UAVG art. 41 lets
            # the controller keep out of an answer; whoever handles the request decides.
            "legal_hold": subject.legal_hold,
            "legal_hold_at": _at(subject.legal_hold_at),
            # Name and date of birth are never stored, only a keyed encoding for hit/no-hit.
            "encoded_for_matching": encoded is not None,
        },
        "contact_points": [phone(c) for c in contacts],
        "signals": [
            {
                "id": s.id,
                "source": s.source,
                "category": s.category,
                "observed_at": _at(s.observed_at),
                "municipality": s.municipality,
                "text": s.text,
                "status": s.status,
                "created_at": _at(s.created_at),
            }
            for s in signals
        ],
        "cases": [case_entry(c) for c in cases],
        "outreach_contacts": [outreach_entry(c) for c in outreach],
        "tasks": [
            {
                "id": t.id,
                "title": t.title,
                "kind": t.kind,
                "status": t.status,
                "due_at": _at(t.due_at),
                "notes": t.notes,
                "done_at": _at(t.done_at),
            }
            for t in tasks
        ],
        "placements": [
            {
                "id": p.id,
                "state": p.state,
                "offered_at": _at(p.offered_at),
                "placed_at": _at(p.placed_at),
                "ended_at": _at(p.ended_at),
                "notes": p.notes,
            }
            for p in placements
        ],
        "referrals": [referral_entry(r) for r in referrals],
        "contact_requests": [request_entry(r) for r in requests],
        "shared_with": [
            {
                "record_type": s.record_type,
                "record_id": s.record_id,
                "organisation": names.get(s.to_organisation_id),
                "reason": s.reason,
                "shared_at": _at(s.shared_at),
                "revoked_at": _at(s.revoked_at),
            }
            for s in shares
        ],
        "remote_matching": [
            {
                "purpose": r.purpose,
                "queued_at": _at(r.created_at),
                # Sent: the service holds her keyed encoding (never a clear value) for it.
                "submitted_at": _at(r.submitted_at),
            }
            for r in remote_records
        ],
        "remote_hits": [
            {
                "purpose": h.purpose,
                "organisation": h.organisation,
                "contact_route": h.contact_route,
                "found_at": _at(h.found_at),
            }
            for h in remote_hits
        ],
        "retention_days": periods_from(get_settings()),
    }
    counts = {
        kind: len(report[kind])
        for kind in (
            "contact_points",
            "signals",
            "cases",
            "outreach_contacts",
            "tasks",
            "placements",
            "referrals",
            "contact_requests",
            "shared_with",
            "remote_matching",
            "remote_hits",
        )
    }
    audit.record(
        db,
        audit.SubjectAccessReported(
            subject_id=subject.id,
            role=actor.role,
            on_behalf_of=journal.on_behalf_of(actor),
            counts=counts,
        ),
        actor=actor,
        ip=ip,
        purpose="access request (AVG art. 15)",
    )
    return report


def erase_subject(
    db: Session, actor: Actor, subject_id: int, reason: str, *, ip: str | None = None
) -> dict[str, int]:
    """Erase the actor's organisation's subject ``subject_id`` with everything about her (see
    the module docstring); ``reason`` is a code of :data:`ERASURE_REASONS`. Refused under a
    legal hold. Returns the rows deleted per record kind. The caller commits."""
    subject = _own_subject(db, actor, subject_id, Action.ERASE_SUBJECTS)
    if reason not in ERASURE_REASONS:
        raise FieldErrors({"reason": "choose the ground of the erasure"})
    if subject.legal_hold:
        raise LegalHoldError(
            "this person is under a legal hold: lift it before erasing her records"
        )
    partner_case = db.scalar(
        select(Case.id).where(
            Case.subject_id == subject.id, Case.organisation_id != subject.organisation_id
        )
    )
    if partner_case is not None:
        raise ConflictError(
            "a case of another organisation refers to this person (on a share): it is that "
            "organisation's record; she can be erased once it is gone"
        )
    erased_id = subject.id
    db.expunge(subject)
    counts = erase_subject_records(db, [erased_id])
    db.flush()
    audit.record(
        db,
        audit.SubjectErased(
            subject_id=erased_id,
            reason=reason,
            role=actor.role,
            on_behalf_of=journal.on_behalf_of(actor),
            counts=counts,
        ),
        actor=actor,
        ip=ip,
        purpose="erasure request (AVG art. 17)",
    )
    return counts
