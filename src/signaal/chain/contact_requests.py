"""Contact requests on a hit: either side asks the other to get in touch; the other decides.

A hit (:mod:`signaal.chain.matching`) tells an organisation only that another one holds a record
on the same person, and how to reach it. A contact request is the next step, in the app: the
sender names its *own* subject and the other organisation; the service checks again that the two
share an agreement in force covering hit/no-hit and that the other organisation holds a matching
subject (so a request always refers to a real hit), and records the request against both sides'
subjects. Each side only ever sees its own subject: the sender never learns which record the
receiver holds, the receiver never learns the sender's.

The receiver's users who may answer (``contact_requests.answer``) see the request and its
message, and accept it (with a message: what they share, how and when to reach them) or decline
it (optionally with a message). The request is then closed; a new one can be sent later. Every
step is a ``chain.record_written`` audit event (codes only: never the messages) and an in-app
notification for the other side.

Who may do what is ``allowed()``'s: ``contact_requests.send`` on a subject of the actor's
organisation (and on requests it sent); ``contact_requests.answer`` on a request addressed to
the actor's organisation (its resource is owned, for answering, by the receiver). No one else
sees a request: a request of two other organisations is a 404, as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import journal, matching
from signaal.chain.authz import Action, Actor, Resource, allowed, roles
from signaal.chain.signals import clean_text
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import ContactRequest, Notification, Organisation, Subject, utcnow

MAX_MESSAGE = 2000
DECISIONS = ("accepted", "declined")
RECORD_KIND = "contact_request"


def sender_resource(request: ContactRequest) -> Resource:
    """The request as its sender's record (following it up)."""
    return Resource(RECORD_KIND, str(request.id), organisation_id=request.organisation_id)


def receiver_resource(request: ContactRequest) -> Resource:
    """The request as the receiver's to answer: owned, for that, by the receiving organisation,
    so that ``allowed()`` lets only its users answer and no one of the sender's."""
    return Resource(RECORD_KIND, str(request.id), organisation_id=request.to_organisation_id)


def _subject_resource(subject: Subject) -> Resource:
    return Resource("subject", str(subject.id), organisation_id=subject.organisation_id)


def _message(raw: str, *, field: str, required: bool) -> str:
    text = clean_text(raw, MAX_MESSAGE)
    if text is None:
        raise FieldErrors({field: f"at most {MAX_MESSAGE} characters"})
    if required and not text:
        raise FieldErrors({field: "required"})
    return text


def _notify(
    db: Session,
    organisation_id: int,
    action: Action,
    text: str,
    request: ContactRequest,
    now: datetime,
) -> None:
    """An in-app notification for every role of the organisation that may act on it (the
    notification names the request, never a person or a message)."""
    organisation = db.get(Organisation, organisation_id)
    if organisation is None:
        return
    for name, definition in roles().items():
        if action in definition.actions and definition.fits(organisation.kind):
            db.add(
                Notification(
                    organisation_id=organisation_id,
                    role=name,
                    kind=RECORD_KIND,
                    text=text,
                    record_type=RECORD_KIND,
                    record_id=request.id,
                    created_at=now,
                )
            )


def send(
    db: Session,
    actor: Actor,
    subject: Subject,
    to_organisation_id: int | None,
    message: str,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> ContactRequest:
    """Ask ``to_organisation_id`` to get in touch about the actor's organisation's ``subject``.

    A subject of another organisation is a 404 (NotFoundError). An organisation that is not a
    hit of this subject (no agreement in force covering hit/no-hit, or no matching subject) is
    refused as a field error on ``organisation_id``, like any organisation it could not name;
    an open request to it about this subject already is a conflict."""
    if not allowed(actor, Action.SEND_CONTACT_REQUESTS):
        raise PermissionDenied("contact_requests.send not allowed")
    if not allowed(actor, Action.SEND_CONTACT_REQUESTS, _subject_resource(subject)):
        raise NotFoundError("no such subject")
    now = now or utcnow()
    text = _message(message, field="message", required=True)
    if to_organisation_id is None or to_organisation_id == subject.organisation_id:
        raise FieldErrors({"organisation_id": "not a hit of this subject"})
    theirs = matching.matching_subjects(db, subject, to_organisation_id, now=now)
    if not theirs:
        raise FieldErrors({"organisation_id": "not a hit of this subject"})
    already = db.scalar(
        select(ContactRequest.id).where(
            ContactRequest.subject_id == subject.id,
            ContactRequest.to_organisation_id == to_organisation_id,
            ContactRequest.state == "open",
        )
    )
    if already is not None:
        raise ConflictError("an open contact request about this subject is waiting already")
    request = ContactRequest(
        organisation_id=subject.organisation_id,
        subject_id=subject.id,
        to_organisation_id=to_organisation_id,
        to_subject_id=theirs[0],
        message=text,
        state="open",
        created_at=now,
        created_by_user_id=None if actor.token_id is not None else actor.user_id,
    )
    db.add(request)
    db.flush()
    journal.written(
        db,
        actor,
        RECORD_KIND,
        request.id,
        "sent",
        ip=ip,
        subject_id=subject.id,
        fields={"to_organisation": to_organisation_id},
    )
    _notify(
        db,
        to_organisation_id,
        Action.ANSWER_CONTACT_REQUESTS,
        f"A partner asks to get in touch about a hit (contact request {request.id}); "
        "see Contact requests.",
        request,
        now,
    )
    db.flush()
    return request


def answer(
    db: Session,
    actor: Actor,
    request: ContactRequest,
    decision: str,
    message: str,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> ContactRequest:
    """Accept (with a message: what is shared, how to reach her) or decline (a message is
    optional) a request sent to the actor's organisation. Only an open request is answered
    (ConflictError otherwise); a request the actor may not answer is a 404."""
    if not allowed(actor, Action.ANSWER_CONTACT_REQUESTS, receiver_resource(request)):
        raise NotFoundError("no such contact request")
    if decision not in DECISIONS:
        raise FieldErrors({"decision": "accepted or declined"})
    text = _message(message, field="answer", required=decision == "accepted")
    if request.state != "open":
        raise ConflictError(f"the request is {request.state} already")
    now = now or utcnow()
    request.state = decision
    request.answer = text
    request.answered_at = now
    request.answered_by_user_id = None if actor.token_id is not None else actor.user_id
    journal.written(
        db,
        actor,
        RECORD_KIND,
        request.id,
        decision,
        ip=ip,
        subject_id=request.to_subject_id,
        fields={"from_organisation": request.organisation_id, "message": bool(text)},
    )
    _notify(
        db,
        request.organisation_id,
        Action.SEND_CONTACT_REQUESTS,
        f"Your contact request {request.id} was {decision}; see Contact requests.",
        request,
        now,
    )
    db.flush()
    return request


@dataclass(frozen=True)
class RequestView:
    """A request as one side sees it: the other organisation's name, the own subject (never the
    other side's), the messages and the state."""

    id: int
    direction: str  # "out": sent by the own organisation; "in": sent to it
    organisation_id: int  # the other side
    organisation: str
    subject_id: int  # the own side's subject
    subject_alias: str
    message: str
    state: str
    answer: str
    created_at: datetime
    answered_at: datetime | None


def _view(db: Session, request: ContactRequest, direction: str) -> RequestView:
    other = request.to_organisation_id if direction == "out" else request.organisation_id
    own_subject = request.subject_id if direction == "out" else request.to_subject_id
    organisation = db.get(Organisation, other)
    subject = db.get(Subject, own_subject)
    return RequestView(
        id=request.id,
        direction=direction,
        organisation_id=other,
        organisation=organisation.name if organisation else "",
        subject_id=own_subject,
        subject_alias=subject.alias if subject else "",
        message=request.message,
        state=request.state,
        answer=request.answer,
        created_at=request.created_at,
        answered_at=request.answered_at,
    )


def view_of(db: Session, actor: Actor, request: ContactRequest) -> RequestView:
    """The request as the actor's side sees it (NotFoundError when it is no side of it)."""
    if allowed(actor, Action.ANSWER_CONTACT_REQUESTS, receiver_resource(request)):
        return _view(db, request, "in")
    if allowed(actor, Action.SEND_CONTACT_REQUESTS, sender_resource(request)):
        return _view(db, request, "out")
    raise NotFoundError("no such contact request")


def requests_for(
    db: Session, actor: Actor, *, ip: str | None, limit: int = 100
) -> list[RequestView]:
    """The requests the actor's organisation sent (if she may send) and received (if she may
    answer), newest first; the read is audited with the ids shown."""
    rows: list[RequestView] = []
    if allowed(actor, Action.ANSWER_CONTACT_REQUESTS):
        received = db.scalars(
            select(ContactRequest)
            .where(ContactRequest.to_organisation_id == actor.organisation_id)
            .order_by(ContactRequest.id.desc())
            .limit(limit)
        )
        rows += [_view(db, r, "in") for r in received]
    if allowed(actor, Action.SEND_CONTACT_REQUESTS):
        sent = db.scalars(
            select(ContactRequest)
            .where(ContactRequest.organisation_id == actor.organisation_id)
            .order_by(ContactRequest.id.desc())
            .limit(limit)
        )
        rows += [_view(db, r, "out") for r in sent]
    rows.sort(key=lambda r: r.id, reverse=True)
    if rows:
        journal.read_own_list(db, actor, RECORD_KIND, (r.id for r in rows), ip=ip)
    return rows


MAX_CONTACT_ROUTE = 200


def set_contact_route(
    db: Session, actor: Actor, organisation: Organisation, route: str, *, ip: str | None
) -> Organisation:
    """Set how partners reach ``organisation`` after a hit (``organisation.contact_route``, of
    the actor's own organisation); empty clears it. Audited (whether one is set, not its text)."""
    resource = Resource("organisation", str(organisation.id), organisation_id=organisation.id)
    if not allowed(actor, Action.MANAGE_CONTACT_ROUTE, resource):
        raise PermissionDenied("organisation.contact_route not allowed")
    text = clean_text(route, MAX_CONTACT_ROUTE)
    if text is None or "\n" in text:
        raise FieldErrors({"contact_route": f"at most {MAX_CONTACT_ROUTE} characters on one line"})
    organisation.contact_route = text or None
    journal.written(
        db,
        actor,
        "organisation",
        organisation.id,
        "contact_route",
        ip=ip,
        fields={"set": bool(text)},
    )
    db.flush()
    return organisation
