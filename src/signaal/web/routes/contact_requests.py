"""The pages of contact requests on a hit (``/contactverzoeken``) and of the own organisation's
contact route (``/beheer/organisatie``).

A hit is shown on the page of an own subject and of an own signal about it (``partials/hits.html``)
with a form that posts here. Every route declares one guard; the services decide again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from signaal.chain import contact_requests, subjects
from signaal.chain.authz import Action
from signaal.errors import ConflictError, FieldErrors, NotFoundError
from signaal.store.models import ContactRequest, Organisation
from signaal.web import free_text
from signaal.web.app import web_state
from signaal.web.casework_forms import positive_int, text
from signaal.web.context import RequestContext, guard, own_record_resource
from signaal.web.i18n import N_, Message
from signaal.web.routes.api_contact_requests import receiver_of

router = APIRouter()

STATE_LABELS: dict[str, str] = {
    "open": N_("waiting for an answer"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
}
FIELD_MESSAGES: dict[str, str] = {
    "message": N_("Write a message of at most 2000 characters: who you are and why you ask."),
    "organisation_id": N_("This organisation has no hit on this person (any more)."),
    "answer": N_("To accept, write what you share and how to reach you (at most 2000 characters)."),
    "decision": N_("Choose accept or decline."),
    "contact_route": N_("Enter at most 200 characters on one line."),
}
ALREADY_OPEN = N_("A request to this organisation about this person is waiting for an answer.")
ALREADY_ANSWERED = N_("This request was answered already. Reload the page.")

Requests = Annotated[RequestContext, guard(Action.SEND_CONTACT_REQUESTS)]
Answer = Annotated[
    RequestContext,
    guard(
        Action.ANSWER_CONTACT_REQUESTS,
        own_record_resource("contact_request", "request_id", receiver_of),
    ),
]
ContactRoute = Annotated[RequestContext, guard(Action.MANAGE_CONTACT_ROUTE)]


def _errors(exc: FieldErrors) -> dict[str, str | Message]:
    return {name: FIELD_MESSAGES.get(name, N_("Check this value.")) for name in exc.fields}


def _page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    failed: int | None = None,
    problem: str | Message | None = None,
    status: int = 200,
    offer: dict[str, Any] | None = None,
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "contact_requests.html",
        {
            "offer": offer,
            "locale": ctx.locale,
            "requests": contact_requests.requests_for(ctx.db, ctx.acting, ip=ctx.ip),
            "state_labels": STATE_LABELS,
            "may_answer": ctx.may(Action.ANSWER_CONTACT_REQUESTS),
            "errors": errors or {},
            "failed": failed,
            "problem": problem,
        },
        status_code=status,
    )


@router.get("/contactverzoeken")
def contact_request_list(ctx: Requests) -> Response:
    return _page(ctx)


@router.post("/contactverzoeken")
def contact_request_send(ctx: Requests) -> Response:
    """Ask the organisation of a hit (the form on a subject's or signal's page) to get in touch."""
    subject_id = positive_int(ctx.form, "subject_id")
    if subject_id is None:
        raise NotFoundError("no such subject")
    subject = subjects.find_subject(ctx.db, ctx.acting, subject_id)
    message = text(ctx.form, "message", 3000)
    checked = free_text.check(web_state(ctx.request).settings, ctx.form, message)
    if checked.offer:
        # Nothing is sent: the message comes back with what was found and the two choices.
        offer = {
            "action": "/contactverzoeken",
            "hidden": {
                "subject_id": str(subject.id),
                "organisation_id": text(ctx.form, "organisation_id", 12),
            },
            "field": "message",
            "text": message,
            "identifiers_found": free_text.offer_context(checked.offer),
        }
        return _page(ctx, offer=offer)
    try:
        request = contact_requests.send(
            ctx.db,
            ctx.acting,
            subject,
            positive_int(ctx.form, "organisation_id"),
            checked.text,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        errors = _errors(exc)
        return _page(ctx, problem=next(iter(errors.values())), status=422)
    except ConflictError:
        return _page(ctx, problem=ALREADY_OPEN, status=409)
    free_text.audit_choice(
        ctx.db,
        ctx.acting,
        checked,
        record_kind="contact_request",
        record_id=request.id,
        text_field="message",
        ip=ctx.ip,
    )
    return RedirectResponse("/contactverzoeken", status_code=303)


@router.post("/contactverzoeken/{request_id}/antwoord")
def contact_request_answer(ctx: Answer, request_id: str) -> Response:
    """Accept (with what is shared and how to reach you) or decline a request to your
    organisation."""
    request = ctx.db.get(ContactRequest, int(request_id))
    if request is None:
        raise NotFoundError("no such contact request")
    decision = text(ctx.form, "decision", 16)
    reply = text(ctx.form, "answer", 3000)
    checked = free_text.check(web_state(ctx.request).settings, ctx.form, reply)
    if checked.offer:
        offer = {
            "action": f"/contactverzoeken/{request.id}/antwoord",
            "hidden": {"decision": decision},
            "field": "answer",
            "text": reply,
            "identifiers_found": free_text.offer_context(checked.offer),
        }
        return _page(ctx, offer=offer)
    try:
        contact_requests.answer(ctx.db, ctx.acting, request, decision, checked.text, ip=ctx.ip)
    except FieldErrors as exc:
        return _page(ctx, errors=_errors(exc), failed=request.id, status=422)
    except ConflictError:
        return _page(ctx, problem=ALREADY_ANSWERED, status=409)
    free_text.audit_choice(
        ctx.db,
        ctx.acting,
        checked,
        record_kind="contact_request",
        record_id=request.id,
        text_field="answer",
        ip=ctx.ip,
    )
    return RedirectResponse("/contactverzoeken", status_code=303)


def _organisation_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    organisation = ctx.db.get(Organisation, ctx.acting.organisation_id)
    if organisation is None:
        raise NotFoundError("no such organisation")
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "organisation.html",
        {
            "locale": ctx.locale,
            "organisation": organisation,
            "errors": errors or {},
            "values": values or {},
            "saved": ctx.request.query_params.get("opgeslagen") == "1",
        },
        status_code=status,
    )


@router.get("/beheer/organisatie")
def organisation_form(ctx: ContactRoute) -> Response:
    return _organisation_page(ctx)


@router.post("/beheer/organisatie")
def organisation_save(ctx: ContactRoute) -> Response:
    organisation = ctx.db.get(Organisation, ctx.acting.organisation_id)
    if organisation is None:
        raise NotFoundError("no such organisation")
    route = text(ctx.form, "contact_route", 1000)
    try:
        contact_requests.set_contact_route(ctx.db, ctx.acting, organisation, route, ip=ctx.ip)
    except FieldErrors as exc:
        return _organisation_page(
            ctx, errors=_errors(exc), values={"contact_route": route}, status=422
        )
    return RedirectResponse("/beheer/organisatie?opgeslagen=1", status_code=303)
