"""The protective watch in the JSON API: ``/api/v1/watches`` (list and register the caller's
organisation's watches; the number only masked in answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from signaal.chain import watches
from signaal.chain.authz import Action
from signaal.store.models import ProtectiveWatch
from signaal.web.app import web_state
from signaal.web.context import RequestContext, guard
from signaal.web.routes.api_signals import JsonRoute, _Model

router = APIRouter(prefix="/api/v1", route_class=JsonRoute)

Watches = Annotated[RequestContext, guard(Action.MANAGE_WATCHES)]


class WatchIn(_Model):
    label: str = Field(max_length=watches.MAX_LABEL, description="An alias, never a name.")
    phone: str = Field(max_length=40, description="Kept only pseudonymised and masked.")
    basis: str = Field(max_length=16, description="consent | legal_basis")
    legal_basis: str = Field(default="", max_length=watches.MAX_LEGAL_BASIS)
    ends_at: datetime = Field(description="With a time zone; at most a year ahead.")


class WatchOut(_Model):
    id: int
    label: str
    phone: str = Field(description="Masked (06-•••••89), never in the clear.")
    basis: str
    legal_basis: str
    ends_at: datetime
    created_at: datetime


class WatchList(_Model):
    items: list[WatchOut]


def _out(watch: ProtectiveWatch) -> WatchOut:
    return WatchOut(
        id=watch.id,
        label=watch.label,
        phone=watch.masked,
        basis=watch.basis,
        legal_basis=watch.legal_basis,
        ends_at=watch.ends_at,
        created_at=watch.created_at,
    )


@router.get("/watches")
def list_watches(ctx: Watches) -> WatchList:
    """The caller's organisation's protective watches in force, soonest end first."""
    return WatchList(items=[_out(w) for w in watches.watches_of(ctx.db, ctx.acting, ip=ctx.ip)])


@router.post("/watches", status_code=201)
def create_watch(ctx: Watches, body: WatchIn) -> WatchOut:
    """Register a protective watch of the caller's organisation."""
    watch = watches.register_watch(
        ctx.db,
        ctx.acting,
        watches.WatchDraft(
            label=body.label,
            phone=body.phone,
            basis=body.basis,
            legal_basis=body.legal_basis,
            ends_at=body.ends_at,
        ),
        pseudonym_key=web_state(ctx.request).settings.pseudonym_key,
        ip=ctx.ip,
    )
    return _out(watch)
