"""Safe places (opvang): the directory for every role with ``shelters.view``, the shelter
staff's own shelters with their free places (a short form that works at night on a phone), and
the place-now flow for roles with ``placements.manage``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from signaal.chain import shelters
from signaal.chain.authz import Action
from signaal.errors import FieldErrors, NotFoundError
from signaal.store.models import Shelter
from signaal.web.app import web_state
from signaal.web.casework_forms import field_messages, number, text
from signaal.web.context import RequestContext, guard, own_record_resource

router = APIRouter(prefix="/opvang")


def _owner(db: Session, shelter_id: int) -> int | None:
    shelter = db.get(Shelter, shelter_id)
    return shelter.organisation_id if shelter is not None else None


Directory = Annotated[RequestContext, guard(Action.VIEW_SHELTERS)]
ShelterAdmin = Annotated[RequestContext, guard(Action.MANAGE_SHELTERS)]
OwnShelter = Annotated[
    RequestContext,
    guard(Action.MANAGE_SHELTERS, own_record_resource("shelter", "shelter_id", _owner)),
]
Placing = Annotated[RequestContext, guard(Action.MANAGE_PLACEMENTS)]


def _page(
    ctx: RequestContext,
    *,
    errors: dict[str, str],
    saved: str | None = None,
    status_code: int = 200,
) -> Response:
    may_manage = ctx.may(Action.MANAGE_SHELTERS)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "shelters.html",
        {
            "errors": errors,
            "saved": saved,
            "directory": shelters.directory(ctx.db, ctx.acting),
            "own": shelters.own_shelters(ctx.db, ctx.acting) if may_manage else [],
            "may_manage": may_manage,
            "may_place": ctx.may(Action.MANAGE_PLACEMENTS),
        },
        status_code=status_code,
    )


@router.get("")
def directory(ctx: Directory) -> Response:
    saved = ctx.request.query_params.get("opgeslagen")
    return _page(ctx, errors={}, saved=saved if saved in ("places", "shelter", "placed") else None)


@router.post("")
def create_shelter(ctx: ShelterAdmin) -> Response:
    form = ctx.form
    try:
        shelters.create_shelter(
            ctx.db,
            ctx.acting,
            name=text(form, "name"),
            municipality=text(form, "municipality"),
            capacity=number(form, "capacity"),
            available_places=number(form, "available_places"),
            accepts_minors=text(form, "accepts_minors") == "ja",
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _page(ctx, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse("/opvang?opgeslagen=shelter", status_code=303)


@router.post("/{shelter_id}/plaatsen")
def update_places(ctx: OwnShelter, shelter_id: str) -> Response:
    shelter = ctx.db.get(Shelter, int(shelter_id))
    if shelter is None:
        raise NotFoundError("no such shelter")
    try:
        shelters.update_places(
            ctx.db,
            ctx.acting,
            shelter,
            available_places=number(ctx.form, "available_places"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.refresh(shelter)
        errors = {f"{name}-{shelter.id}": m for name, m in field_messages(exc.fields).items()}
        return _page(ctx, errors=errors, status_code=422)
    return RedirectResponse("/opvang?opgeslagen=places", status_code=303)


@router.post("/{shelter_id}/plaatsing")
def place(ctx: Placing, shelter_id: str) -> Response:
    if not shelter_id.isdigit() or len(shelter_id) > 9:
        raise NotFoundError("no such shelter")
    shelter = ctx.db.get(Shelter, int(shelter_id))
    if shelter is None:
        raise NotFoundError("no such shelter")
    try:
        shelters.place_now(
            ctx.db,
            ctx.acting,
            shelter_id=shelter.id,
            case_id=number(ctx.form, "case_id"),
            notes=text(ctx.form, "notes"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        errors = {f"{name}-{shelter.id}": m for name, m in field_messages(exc.fields).items()}
        return _page(ctx, errors=errors, status_code=422)
    return RedirectResponse("/opvang?opgeslagen=placed", status_code=303)
