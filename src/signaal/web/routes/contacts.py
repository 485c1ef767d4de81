"""Revealing one contact point of a stored run, on screen, for a stated purpose.

Everywhere else a contact point is a pseudonym (``phone:3f9a…``) or masked (``[06-•••••89]``).
A role with ``contacts.reveal`` may see one clear value: it posts a purpose from a fixed list, the
sealed value of that run's pseudonym is opened with the contact key, shown in an htmx fragment
(``Cache-Control: no-store`` like every page) and a ``contact_point.revealed`` audit event with the
purpose is written in the same transaction. The value is never put in the API, a file, a URL or
the audit log.

The resource given to ``allowed()`` carries the organisation of the run, so a run of another
organisation is refused by the one authorisation decision, not by a check here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from signaal import audit
from signaal.chain.authz import Action, Resource
from signaal.errors import NotFoundError
from signaal.privacy.sealing import Sealer
from signaal.store.analysis import PSEUDONYM
from signaal.store.contacts import reveal_contact_point
from signaal.store.models import AnalysisRun
from signaal.web.app import web_state
from signaal.web.context import RequestContext, guard
from signaal.web.i18n import N_

router = APIRouter(prefix="/analyse")

# Why someone needs a number in the clear. The key is what the audit log keeps.
PURPOSES: dict[str, str] = {
    "call_back": N_("Calling or messaging the person back (outreach)"),
    "protection": N_("Protection or investigation"),
    "check_reading": N_("Checking that a disguised number was read correctly"),
    "partner_question": N_("Answering a partner's question about this contact point"),
}

_PERSONA_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# A pseudonym as the store writes it into an ad's title and text (``[phone:3f9a…]``).
PSEUDONYM_MARKER = re.compile(r"\[((?:phone|email|handle|website):[0-9a-f]{8,64})\]")
_MAX_RUN_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


def _run_of(request: Request, db: Session) -> AnalysisRun | None:
    raw = str(request.path_params.get("run_id", ""))
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= _MAX_RUN_ID:
        return None
    # The run's real owner, whoever asks: allowed() decides on it (the guard's resource).
    return db.get(AnalysisRun, int(raw))


def contact_point_of_run(request: Request, db: Session) -> Resource:
    """The contact point named in the path, owned by the organisation of its run (none when the
    run does not exist: then the handler answers 404 to whoever may reveal at all)."""
    run = _run_of(request, db)
    return Resource(
        kind="contact_point",
        id=str(request.path_params.get("pseudonym", ""))[:80],
        organisation_id=run.organisation_id if run is not None else None,
    )


Reveal = Annotated[RequestContext, guard(Action.REVEAL_CONTACTS, contact_point_of_run)]


@router.post("/runs/{run_id}/contactpunten/{pseudonym}")
def reveal(ctx: Reveal, run_id: str, pseudonym: str) -> Response:
    run = _run_of(ctx.request, ctx.db)
    if run is None or not PSEUDONYM.match(pseudonym):
        raise NotFoundError("no such contact point")
    state = web_state(ctx.request)
    purpose = ctx.form.get("doel")
    persona = ctx.form.get("persona")
    persona_id = persona if isinstance(persona, str) and _PERSONA_ID.match(persona) else None
    page = {
        "run_id": run.id,
        "pseudonym": pseudonym,
        "persona_id": persona_id,
        "purposes": PURPOSES,
        "may_watch": ctx.may(Action.WATCH_ITEMS),
    }
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        errors = {"doel": N_("Choose why you need this contact point.")}
        return _render(ctx, {**page, "errors": errors, "value": None}, status_code=422)
    value = reveal_contact_point(ctx.db, run.id, pseudonym, Sealer(state.settings.contact_key))
    if value is None:
        raise NotFoundError("no such contact point")
    audit.record(
        ctx.db,
        audit.ContactPointRevealed(run_id=run.id, pseudonym=pseudonym, persona_id=persona_id),
        actor=ctx.actor,
        ip=ctx.ip,
        purpose=purpose,
    )
    return _render(
        ctx, {**page, "errors": {}, "value": value, "purpose": PURPOSES[purpose]}, status_code=200
    )


def pseudonyms_in(texts: Iterable[str | None]) -> list[str]:
    """The pseudonyms written into stored ad texts, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        for match in PSEUDONYM_MARKER.finditer(text or ""):
            found.setdefault(match.group(1), None)
    return list(found)


def _render(ctx: RequestContext, context: dict[str, object], *, status_code: int) -> Response:
    partial = ctx.request.headers.get("HX-Request") == "true"
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "partials/contact_point.html" if partial else "contact_point.html",
        context,
        status_code=status_code,
    )
