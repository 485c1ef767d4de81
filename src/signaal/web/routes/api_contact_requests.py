"""Contact requests on a hit in the JSON API: ``/api/v1/contact-requests``.

A hit (``hits`` in the answer of ``POST /api/v1/subjects`` and ``/signals``) names another
organisation; ``POST /api/v1/contact-requests`` asks it to get in touch about the caller's own
subject. The receiver lists its incoming requests and answers one (accepted with a message, or
declined). Each side sees only its own subject; a request of other organisations is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from signaal.chain import contact_requests, subjects
from signaal.chain.authz import Action
from signaal.errors import FieldErrors, NotFoundError
from signaal.store.models import ContactRequest
from signaal.web.context import RequestContext, guard, own_record_resource
from signaal.web.routes.api_signals import JsonRoute, _Model

router = APIRouter(prefix="/api/v1", route_class=JsonRoute)


class ContactRequestIn(_Model):
    subject_id: int = Field(ge=1, le=2**31 - 1, description="The caller's own subject.")
    organisation_id: int = Field(
        ge=1, le=2**31 - 1, description="The organisation of the hit (``hits[].organisation_id``)."
    )
    message: str = Field(max_length=contact_requests.MAX_MESSAGE)


class ContactAnswerIn(_Model):
    decision: str = Field(max_length=16, description="accepted | declined")
    message: str = Field(
        default="",
        max_length=contact_requests.MAX_MESSAGE,
        description="Required to accept: what is shared, how to reach the receiver.",
    )


class ContactRequestOut(_Model):
    id: int
    direction: str = Field(description="out: sent by the caller's organisation; in: sent to it.")
    organisation_id: int = Field(description="The other side.")
    organisation: str
    subject_id: int = Field(description="The caller's own subject (never the other side's).")
    message: str
    state: str
    answer: str
    created_at: datetime
    answered_at: datetime | None


class ContactRequestList(_Model):
    items: list[ContactRequestOut]


def _out(view: contact_requests.RequestView) -> ContactRequestOut:
    return ContactRequestOut(
        id=view.id,
        direction=view.direction,
        organisation_id=view.organisation_id,
        organisation=view.organisation,
        subject_id=view.subject_id,
        message=view.message,
        state=view.state,
        answer=view.answer,
        created_at=view.created_at,
        answered_at=view.answered_at,
    )


def receiver_of(db: Session, request_id: int) -> int | None:
    """Whose a request is to answer: the receiving organisation's (None: no such request)."""
    request = db.get(ContactRequest, request_id)
    return request.to_organisation_id if request is not None else None


@router.get("/contact-requests")
def list_contact_requests(
    ctx: Annotated[RequestContext, guard(Action.SEND_CONTACT_REQUESTS)],
) -> ContactRequestList:
    """The requests the caller's organisation sent and received, newest first."""
    rows = contact_requests.requests_for(ctx.db, ctx.acting, ip=ctx.ip)
    return ContactRequestList(items=[_out(r) for r in rows])


@router.post("/contact-requests", status_code=201)
def create_contact_request(
    ctx: Annotated[RequestContext, guard(Action.SEND_CONTACT_REQUESTS)], body: ContactRequestIn
) -> ContactRequestOut:
    """Ask the organisation of a hit to get in touch about an own subject. A subject that is
    not the caller's organisation's is 422 (``subject_id``, the same for one that does not
    exist), an organisation that is no hit of it 422 (``organisation_id``), an open request to
    it already 409."""
    try:
        subject = subjects.find_subject(ctx.db, ctx.acting, body.subject_id)
        request = contact_requests.send(
            ctx.db, ctx.acting, subject, body.organisation_id, body.message, ip=ctx.ip
        )
    except NotFoundError as exc:
        raise FieldErrors({"subject_id": "a subject of your own organisation"}) from exc
    return _out(contact_requests.view_of(ctx.db, ctx.acting, request))


@router.post("/contact-requests/{request_id}/answer")
def answer_contact_request(
    ctx: Annotated[
        RequestContext,
        guard(
            Action.ANSWER_CONTACT_REQUESTS,
            own_record_resource("contact_request", "request_id", receiver_of),
        ),
    ],
    request_id: str,
    body: ContactAnswerIn,
) -> ContactRequestOut:
    """Accept (with a message) or decline a request sent to the caller's organisation; a request
    that was answered already is 409."""
    request = ctx.db.get(ContactRequest, int(request_id))
    assert request is not None  # the guard found it
    contact_requests.answer(ctx.db, ctx.acting, request, body.decision, body.message, ip=ctx.ip)
    return _out(contact_requests.view_of(ctx.db, ctx.acting, request))
