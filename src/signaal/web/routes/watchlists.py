"""The watchlist (``/volglijst``): the user's watches on personas, networks and contact points
of her organisation's analysis, with their alerts, and the buttons that start and stop one.

Starting a watch names the item in the path; its resource carries the organisation whose runs
hold it (:func:`signaal.monitor.watchlists.item_resource`), so ``allowed()`` refuses an item of
another organisation exactly as one that exists nowhere (403, audited). A watch of anyone else
(a colleague's, another organisation's, none) answers 404 to stopping, audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from signaal.chain.authz import Action, Resource
from signaal.errors import NotFoundError
from signaal.monitor import watchlists
from signaal.monitor.alerts import WatchKind
from signaal.store.models import WatchlistWatch
from signaal.web.app import web_state
from signaal.web.context import (
    MAX_RECORD_ID,
    RequestContext,
    ResourceLoader,
    guard,
    request_actor,
)
from signaal.web.i18n import N_

router = APIRouter(prefix="/volglijst")

KIND_LABELS: dict[str, str] = {
    "persona": N_("Persona"),
    "network": N_("Network"),
    "contact_point": N_("Contact point"),
}
ALERT_LABELS: dict[str, str] = {
    "new_municipality": N_("New municipality"),
    "new_region": N_("New region (province)"),
    "new_persona": N_("New persona"),
}


def _item(kind: WatchKind, parameter: str) -> ResourceLoader:
    def load(request: Request, db: Session) -> Resource:
        item_id = str(request.path_params[parameter])
        actor = request_actor(request)
        if actor is None:  # asked to log in first; nothing to look up
            return Resource(kind.value, item_id)
        return watchlists.item_resource(db, kind, item_id, prefer=actor.organisation_id)

    load.__name__ = f"watchlist_{kind.value}_from_{parameter}"
    return load


def _watch(request: Request, db: Session) -> Resource:
    raw = str(request.path_params["watch_id"])
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_RECORD_ID:
        raise NotFoundError("no such watch")
    watch = db.get(WatchlistWatch, int(raw))
    if watch is None or request_actor(request) is None:
        return Resource(watchlists.RECORD_KIND, raw)
    return watchlists.watch_resource(watch, request_actor(request))


Watchlist = Annotated[RequestContext, guard(Action.WATCH_ITEMS)]
WatchPersona = Annotated[
    RequestContext, guard(Action.WATCH_ITEMS, _item(WatchKind.PERSONA, "persona_id"))
]
WatchNetwork = Annotated[
    RequestContext, guard(Action.WATCH_ITEMS, _item(WatchKind.NETWORK, "network_id"))
]
WatchContactPoint = Annotated[
    RequestContext, guard(Action.WATCH_ITEMS, _item(WatchKind.CONTACT_POINT, "pseudonym"))
]
StopWatch = Annotated[RequestContext, guard(Action.WATCH_ITEMS, _watch)]


@router.get("")
def watch_list(ctx: Watchlist) -> Response:
    entries = watchlists.my_watches(ctx.db, ctx.acting, ip=ctx.ip)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "watchlist.html",
        {"entries": entries, "kind_labels": KIND_LABELS, "alert_labels": ALERT_LABELS},
    )


def _started(ctx: RequestContext, kind: WatchKind, item_id: str) -> Response:
    watch = watchlists.watch_item(ctx.db, ctx.acting, kind, item_id, ip=ctx.ip)
    return RedirectResponse(f"/volglijst#volg-{watch.id}", status_code=303)


@router.post("/personas/{persona_id}")
def watch_persona(ctx: WatchPersona, persona_id: str) -> Response:
    return _started(ctx, WatchKind.PERSONA, persona_id)


@router.post("/netwerken/{network_id}")
def watch_network(ctx: WatchNetwork, network_id: str) -> Response:
    return _started(ctx, WatchKind.NETWORK, network_id)


@router.post("/contactpunten/{pseudonym}")
def watch_contact_point(ctx: WatchContactPoint, pseudonym: str) -> Response:
    return _started(ctx, WatchKind.CONTACT_POINT, pseudonym)


@router.post("/{watch_id}/stoppen")
def stop_watch(ctx: StopWatch, watch_id: str) -> Response:
    watchlists.end_watch(ctx.db, ctx.acting, int(watch_id), ip=ctx.ip)
    return RedirectResponse("/volglijst", status_code=303)
