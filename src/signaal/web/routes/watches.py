"""The protective watch's page (``/bescherming``; the API is ``api_watches``): a youth-care or
care organisation registers the phone number of a vulnerable young person (consent or a written
legal basis, an end date), sees its watches in force with their hits (counts and places, never an
ad) and ends one early. Hits arrive as notifications (``/meldingen``)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from signaal.chain import catalogue, watches
from signaal.chain.authz import Action
from signaal.errors import FieldErrors, NotFoundError
from signaal.store.models import ProtectiveWatch
from signaal.web.app import web_state
from signaal.web.casework_forms import text
from signaal.web.context import RequestContext, guard, own_record_resource
from signaal.web.i18n import N_, Message

router = APIRouter()

LOCAL = ZoneInfo("Europe/Amsterdam")
FIELD_MESSAGES: dict[str, str] = {
    "label": N_("Enter an alias of at most 120 characters on one line (never a name)."),
    "phone": N_("Enter a phone number like 06 12345678."),
    "basis": N_("Choose consent or a legal basis."),
    "legal_basis": N_("Write down the legal basis (article and law)."),
    "ends_at": N_("Enter an end date after today and at most a year ahead."),
    "confirm": N_("Confirm that the watch should end."),
}

Watches = Annotated[RequestContext, guard(Action.MANAGE_WATCHES)]


def _owner(db: Session, watch_id: int) -> int | None:
    watch = db.get(ProtectiveWatch, watch_id)
    return watch.organisation_id if watch is not None else None


WatchEnd = Annotated[
    RequestContext,
    guard(Action.MANAGE_WATCHES, own_record_resource("protective_watch", "watch_id", _owner)),
]


def _end_of_day(raw: str) -> datetime | None:
    """A date (yyyy-mm-dd) as the end of that day, Dutch time, in UTC; None if it is none."""
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(23, 59), tzinfo=LOCAL).astimezone(UTC)


def _errors(exc: FieldErrors) -> dict[str, str | Message]:
    return {name: FIELD_MESSAGES.get(name, N_("Check this value.")) for name in exc.fields}


def _page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = watches.watches_of(ctx.db, ctx.acting, ip=ctx.ip)
    bases = [(code, term.label(ctx.locale)) for code, term in catalogue.REFERRAL_BASES.items()]
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "watches.html",
        {
            "locale": ctx.locale,
            "watches": [(w, watches.hits_of(ctx.db, ctx.acting, w)) for w in rows],
            "bases": bases,
            "basis_labels": dict(bases),
            "max_days": watches.MAX_WATCH_DAYS,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/bescherming")
def watch_list(ctx: Watches) -> Response:
    return _page(ctx)


@router.post("/bescherming")
def watch_register(ctx: Watches) -> Response:
    values = {
        k: text(ctx.form, k, 1000) for k in ("label", "phone", "basis", "legal_basis", "ends_at")
    }
    try:
        watches.register_watch(
            ctx.db,
            ctx.acting,
            watches.WatchDraft(
                label=values["label"],
                phone=values["phone"],
                basis=values["basis"],
                legal_basis=values["legal_basis"],
                ends_at=_end_of_day(values["ends_at"]),
            ),
            pseudonym_key=web_state(ctx.request).settings.pseudonym_key,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        values["phone"] = ""  # never echoed back into the page
        return _page(ctx, errors=_errors(exc), values=values, status=422)
    return RedirectResponse("/bescherming", status_code=303)


@router.post("/bescherming/{watch_id}/beeindigen")
def watch_end(ctx: WatchEnd, watch_id: str) -> Response:
    """End an own watch early (consent withdrawn, no longer needed): ``confirm=yes``."""
    watch = ctx.db.get(ProtectiveWatch, int(watch_id))
    if watch is None:
        raise NotFoundError("no such watch")
    if text(ctx.form, "confirm", 10) != "yes":
        return _page(ctx, errors=_errors(FieldErrors({"confirm": "required"})), status=422)
    watches.end_watch(ctx.db, ctx.acting, watch, ip=ctx.ip)
    return RedirectResponse("/bescherming", status_code=303)
