"""Joint controls: police plan a visit with an outreach partner. Both see and keep the shared
part; each organisation's own notes are seen only by itself (see :mod:`signaal.chain.controls`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from signaal.chain import controls
from signaal.chain.authz import Action
from signaal.errors import FieldErrors
from signaal.store.models import JointControl
from signaal.web.app import web_state
from signaal.web.casework_forms import field_messages, local_input, local_time, number, text
from signaal.web.context import RequestContext, chain_resource, guard

router = APIRouter(prefix="/controles")

Controls = Annotated[RequestContext, guard(Action.MANAGE_CONTROLS)]
OneControl = Annotated[
    RequestContext, guard(Action.MANAGE_CONTROLS, chain_resource("joint_control", "control_id"))
]


def _list(ctx: RequestContext, *, errors: dict[str, str], status_code: int = 200) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "controls.html",
        {
            "errors": errors,
            "controls": controls.list_controls(ctx.db, ctx.acting),
            "partners": controls.partner_organisations(ctx.db, ctx.acting),
        },
        status_code=status_code,
    )


@router.get("")
def control_list(ctx: Controls) -> Response:
    return _list(ctx, errors={})


@router.post("")
def plan(ctx: Controls) -> Response:
    form = ctx.form
    try:
        control = controls.plan_control(
            ctx.db,
            ctx.acting,
            partner_organisation_id=number(form, "partner_organisation_id"),
            planned_at=local_time(form, "planned_at"),
            municipality=text(form, "municipality"),
            location=text(form, "location"),
            shared_notes=text(form, "shared_notes"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _list(ctx, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)


def _detail(
    ctx: RequestContext, control: JointControl, *, errors: dict[str, str], status_code: int = 200
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "control.html",
        {
            "errors": errors,
            "detail": controls.control_detail(ctx.db, ctx.acting, control, ip=ctx.ip),
            "planned_input": local_input(control.planned_at),
        },
        status_code=status_code,
    )


@router.get("/{control_id}")
def control_view(ctx: OneControl, control_id: str) -> Response:
    return _detail(ctx, ctx.chain_record(JointControl), errors={})


@router.post("/{control_id}")
def control_shared(ctx: OneControl, control_id: str) -> Response:
    control = ctx.chain_record(JointControl)
    form = ctx.form
    try:
        controls.update_shared(
            ctx.db,
            ctx.acting,
            control,
            planned_at=local_time(form, "planned_at"),
            municipality=text(form, "municipality"),
            location=text(form, "location"),
            shared_notes=text(form, "shared_notes"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.refresh(control)
        return _detail(ctx, control, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)


@router.post("/{control_id}/eigen-deel")
def control_own_part(ctx: OneControl, control_id: str) -> Response:
    control = ctx.chain_record(JointControl)
    try:
        controls.save_own_part(
            ctx.db, ctx.acting, control, notes=text(ctx.form, "notes"), ip=ctx.ip
        )
    except FieldErrors as exc:
        return _detail(ctx, control, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)
