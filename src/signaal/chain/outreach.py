"""Outreach contacts: an outreach worker (or another partner) met or spoke to a person.

A contact has a kind (:data:`signaal.chain.catalogue.CONTACT_KINDS`), a time (now unless given),
where (municipality and place), how it went, optionally a phone number obtained and when the next
contact is planned, and may be tied to a subject, a case, a signal or a joint control. The phone
number is normalised (``phonenumbers``, Dutch by default) and stored as a keyed pseudonym (to
match), sealed with the contact key (to call back) and masked (to show): the clear number is
shown only to a role with ``contacts.reveal``, on screen, after a purpose is chosen, audited.

"Call back tomorrow" is one tap: :func:`call_back_tomorrow` logs the contact (unless one is given)
and a ``call_back`` task for ten o'clock tomorrow, Amsterdam time, owned by the user.

Contacts are visible to their own organisation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.ads.contacts import phone_from_field
from signaal.chain import cases, journal, tasks, visibility
from signaal.chain.authz import Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    aware,
    clean_text,
    own_resource,
    require,
)
from signaal.chain.catalogue import CONTACT_KINDS
from signaal.errors import FieldErrors, NotFoundError
from signaal.geo import resolve_place
from signaal.privacy.masking import masked_contact
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.sealing import Sealer
from signaal.store.models import (
    JointControl,
    OutreachContact,
    Signal,
    Subject,
    Task,
    utcnow,
)

MAX_PHONE_INPUT = 40
# Reasons to see a number in the clear; the code is what the audit log keeps.
REVEAL_PURPOSES = ("call_back", "protection", "partner_question")


@dataclass(frozen=True)
class Keys:
    """The two keys a contact's phone number needs: pseudonym (matching) and contact (sealing)."""

    pseudonym_key: str
    contact_key: str


def sealing_row(contact_id: int) -> tuple[int, str]:
    # The sealed number is bound to its row: copied to another contact it does not open.
    return contact_id, f"outreach_contact:{contact_id}"


def _parse_phone(errors: dict[str, str], raw: object) -> str | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or len(raw) > MAX_PHONE_INPUT:
        errors["phone"] = "not a phone number"
        return None
    found = phone_from_field(raw.strip())
    if found is None:
        errors["phone"] = "not a phone number"
        return None
    return found[0]


def _municipality(errors: dict[str, str], raw: object) -> str | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or len(raw) > 100:
        errors["municipality"] = "unknown municipality"
        return None
    found = resolve_place(raw)
    if found is None:
        errors["municipality"] = "unknown municipality"
        return None
    return found.name


def log_contact(
    db: Session,
    actor: Actor,
    keys: Keys,
    *,
    kind: object,
    at: object = None,
    municipality: object = None,
    location: object = "",
    outcome: object = "",
    phone: object = None,
    next_contact_at: object = None,
    subject_id: object = None,
    case_id: object = None,
    signal_id: object = None,
    joint_control_id: object = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> OutreachContact:
    """Log a contact of the actor's organisation; every field is checked before anything is
    written."""
    require(actor, Action.MANAGE_CASES)
    now = aware(now or utcnow())
    errors: dict[str, str] = {}
    if kind not in CONTACT_KINDS:
        errors["kind"] = "choose one of " + ", ".join(CONTACT_KINDS)
    when = now
    if at not in (None, ""):
        if not isinstance(at, datetime):
            errors["at"] = "not a time"
        elif aware(at) > now + timedelta(minutes=5):
            errors["at"] = "lies in the future"
        else:
            when = aware(at)
    place = _municipality(errors, municipality)
    where = clean_text(errors, "location", location, limit=MAX_SHORT)
    how = clean_text(errors, "outcome", outcome, limit=MAX_TEXT)
    number = _parse_phone(errors, phone)
    following = None
    if next_contact_at not in (None, ""):
        if not isinstance(next_contact_at, datetime):
            errors["next_contact_at"] = "not a time"
        elif aware(next_contact_at) < now:
            errors["next_contact_at"] = "lies in the past"
        else:
            following = aware(next_contact_at)
    org = actor.organisation_id
    case = None
    if case_id not in (None, ""):
        case = cases.case_of_actor(db, actor, case_id)
        if case is None:
            errors["case_id"] = "unknown case"
    subject = None
    if subject_id not in (None, ""):
        subject = db.get(Subject, subject_id) if isinstance(subject_id, int) else None
        if subject is None or subject.organisation_id != org:
            errors["subject_id"] = "unknown subject"
            subject = None
    if case is not None and subject is None:
        subject = db.get(Subject, case.subject_id)
    signal = None
    if signal_id not in (None, ""):
        signal = db.get(Signal, signal_id) if isinstance(signal_id, int) else None
        if signal is None or visibility.basis(db, actor, signal) is None:
            errors["signal_id"] = "unknown signal"
            signal = None
    control = None
    if joint_control_id not in (None, ""):
        control = (
            db.get(JointControl, joint_control_id) if isinstance(joint_control_id, int) else None
        )
        if control is None or org not in (control.organisation_id, control.partner_organisation_id):
            errors["joint_control_id"] = "unknown joint control"
            control = None
    if errors:
        raise FieldErrors(errors)
    contact = OutreachContact(
        organisation_id=org,
        kind=str(kind),
        at=when,
        municipality=place,
        location=where,
        outcome=how,
        subject_id=subject.id if subject else None,
        case_id=case.id if case else None,
        signal_id=signal.id if signal else None,
        joint_control_id=control.id if control else None,
        next_contact_at=following,
        created_at=now,
        created_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(contact)
    db.flush()
    if number is not None:
        run_id, bound = sealing_row(contact.id)
        contact.phone_pseudonym = pseudonym("phone", number, keys.pseudonym_key)
        contact.phone_sealed = Sealer(keys.contact_key).seal(number, run_id=run_id, pseudonym=bound)
        contact.phone_masked = masked_contact("phone", number)
    if case is not None:
        cases.record_event(
            db, actor, case, "contact", details={"contact_id": contact.id, "kind": contact.kind}
        )
    journal.written(
        db,
        actor,
        "outreach_contact",
        contact.id,
        "created",
        subject_id=contact.subject_id,
        fields={
            "kind": contact.kind,
            "municipality": contact.municipality,
            "phone": number is not None,
            "case_id": contact.case_id,
            "signal_id": contact.signal_id,
            "joint_control_id": contact.joint_control_id,
        },
        ip=ip,
    )
    return contact


def call_back_tomorrow(
    db: Session,
    actor: Actor,
    keys: Keys,
    *,
    contact: OutreachContact | None = None,
    now: datetime | None = None,
    ip: str | None = None,
    **contact_fields: object,
) -> tuple[OutreachContact, Task]:
    """One tap: the contact (logged now from ``contact_fields`` unless given) and a call-back
    task for ten o'clock tomorrow (Amsterdam), owned by the actor."""
    require(actor, Action.MANAGE_TASKS)
    now = aware(now or utcnow())
    if contact is None:
        contact = log_contact(db, actor, keys, now=now, ip=ip, **contact_fields)
    elif contact.organisation_id != actor.organisation_id:
        raise NotFoundError("no such contact")
    task = tasks.create_task(
        db,
        actor,
        title=f"Terugbellen: contact #{contact.id}",
        kind="call_back",
        due_at=tasks.tomorrow_morning(now),
        owner_user_id=None if actor.is_system else actor.user_id,
        case_id=contact.case_id,
        subject_id=contact.subject_id,
        contact_id=contact.id,
        now=now,
        ip=ip,
    )
    if contact.next_contact_at is None:
        contact.next_contact_at = task.due_at
    return contact, task


def contact_of_actor(db: Session, actor: Actor, contact_id: int) -> OutreachContact | None:
    contact = db.get(OutreachContact, contact_id)
    if contact is None or contact.organisation_id != actor.organisation_id:
        return None
    return contact


def list_contacts(
    db: Session, actor: Actor, *, limit: int = 50, ip: str | None = None
) -> list[OutreachContact]:
    """The organisation's latest contacts (masked numbers only); the ids shown are audited."""
    require(actor, Action.VIEW_CASES)
    rows = list(
        db.scalars(
            select(OutreachContact)
            .where(OutreachContact.organisation_id == actor.organisation_id)
            .order_by(OutreachContact.at.desc(), OutreachContact.id.desc())
            .limit(max(1, min(limit, 200)))
        )
    )
    if rows:
        journal.record_read(
            db,
            actor,
            kind="outreach_contact",
            key=None,
            subject_id=None,
            basis="own",
            purpose="contact list",
            ip=ip,
            view="list",
            shown=tuple(row.id for row in rows),
        )
    return rows


def reveal_phone(
    db: Session,
    actor: Actor,
    keys: Keys,
    contact: OutreachContact,
    *,
    purpose: object,
    ip: str | None = None,
) -> str:
    """The clear phone number of a contact, for a role with ``contacts.reveal`` and a purpose;
    the read is audited with the purpose. Never for the API or a file."""
    require(
        actor,
        Action.REVEAL_CONTACTS,
        own_resource("outreach_contact", contact.id, contact.organisation_id),
    )
    if purpose not in REVEAL_PURPOSES:
        raise FieldErrors({"purpose": "choose why you need the number"})
    if contact.phone_sealed is None:
        raise NotFoundError("this contact has no phone number")
    run_id, bound = sealing_row(contact.id)
    value = Sealer(keys.contact_key).open(contact.phone_sealed, run_id=run_id, pseudonym=bound)
    journal.record_read(
        db,
        actor,
        kind="outreach_contact",
        key=contact.id,
        subject_id=contact.subject_id,
        basis="own",
        purpose=str(purpose),
        ip=ip,
        view="phone_revealed",
    )
    return value
