"""Cases (dossiers): the list, opening a case, and one case with its stage flow, history,
assessments timeline, aangifte support, placements, contacts and tasks.

Every case route loads its case through ``chain_resource``: a case the actor may not see answers
404 like one that does not exist. Reading is audited by the service (NEN 7513).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from signaal.chain import cases
from signaal.chain.authz import Action
from signaal.chain.catalogue import (
    AANGIFTE_PRESENCE,
    CASE_STAGES,
    CONTACT_KINDS,
    PLACEMENT_STATES,
    VULNERABILITY_FACTORS,
    label,
)
from signaal.errors import ConflictError, FieldErrors
from signaal.store.models import Case, User
from signaal.web.app import web_state
from signaal.web.casework_forms import field_messages, local_time, number, text
from signaal.web.context import RequestContext, chain_resource, guard
from signaal.web.i18n import N_

router = APIRouter(prefix="/dossiers")

CaseList = Annotated[RequestContext, guard(Action.VIEW_CASES)]
CaseOpen = Annotated[RequestContext, guard(Action.MANAGE_CASES)]
CaseView = Annotated[RequestContext, guard(Action.VIEW_CASES, chain_resource("case", "case_id"))]
CaseChange = Annotated[
    RequestContext, guard(Action.MANAGE_CASES, chain_resource("case", "case_id"))
]
ALREADY_OPEN = N_("Your organisation already has an open case for this person.")


def _list_page(ctx: RequestContext, *, errors: dict[str, str], status_code: int = 200) -> Response:
    stage = ctx.request.query_params.get("fase") or None
    if stage not in CASE_STAGES:
        stage = None
    page = cases.list_cases(ctx.db, ctx.acting, stage=stage, ip=ctx.ip)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "cases.html",
        {
            "errors": errors,
            "items": page.items,
            "stage": stage,
            "stages": {code: label(CASE_STAGES, code, ctx.locale) for code in CASE_STAGES},
            "may_open": ctx.may(Action.MANAGE_CASES),
        },
        status_code=status_code,
    )


@router.get("")
def case_list(ctx: CaseList) -> Response:
    return _list_page(ctx, errors={})


@router.post("")
def case_open(ctx: CaseOpen) -> Response:
    try:
        case = cases.open_case(
            ctx.db, ctx.acting, subject_id=number(ctx.form, "subject_id"), ip=ctx.ip
        )
    except FieldErrors as exc:
        return _list_page(ctx, errors=field_messages(exc.fields), status_code=422)
    except ConflictError:
        return _list_page(ctx, errors={"subject_id": ALREADY_OPEN}, status_code=409)
    return RedirectResponse(f"/dossiers/{case.id}", status_code=303)


def _detail_page(
    ctx: RequestContext, case: Case, *, errors: dict[str, str], status_code: int = 200
) -> Response:
    detail = cases.case_detail(ctx.db, ctx.acting, case, ip=ctx.ip)
    own = case.organisation_id == ctx.acting.organisation_id
    names = {}
    if own:
        names = {
            user.id: user.display_name
            for user in ctx.db.scalars(
                select(User).where(User.organisation_id == case.organisation_id)
            )
        }
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "case.html",
        {
            "errors": errors,
            "detail": detail,
            "case": case,
            "own": own,
            "may_change": own and ctx.may(Action.MANAGE_CASES),
            "stages": {code: label(CASE_STAGES, code, ctx.locale) for code in CASE_STAGES},
            "factors": {
                c: label(VULNERABILITY_FACTORS, c, ctx.locale) for c in VULNERABILITY_FACTORS
            },
            "presence": {c: label(AANGIFTE_PRESENCE, c, ctx.locale) for c in AANGIFTE_PRESENCE},
            "contact_kinds": {c: label(CONTACT_KINDS, c, ctx.locale) for c in CONTACT_KINDS},
            "placement_states": {
                c: label(PLACEMENT_STATES, c, ctx.locale) for c in PLACEMENT_STATES
            },
            "answer": cases.answer_code,
            "names": names,
        },
        status_code=status_code,
    )


@router.get("/{case_id}")
def case_view(ctx: CaseView, case_id: str) -> Response:
    return _detail_page(ctx, ctx.chain_record(Case), errors={})


@router.post("/{case_id}/fase")
def case_stage(ctx: CaseChange, case_id: str) -> Response:
    case = ctx.chain_record(Case)
    try:
        cases.move_stage(
            ctx.db,
            ctx.acting,
            case,
            to_stage=text(ctx.form, "to_stage"),
            reason=text(ctx.form, "reason"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _detail_page(ctx, case, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/dossiers/{case.id}", status_code=303)


@router.post("/{case_id}/beoordeling")
def case_assessment(ctx: CaseChange, case_id: str) -> Response:
    case = ctx.chain_record(Case)
    answers: dict[str, object] = {f: text(ctx.form, f) or "unknown" for f in VULNERABILITY_FACTORS}
    try:
        cases.record_assessment(
            ctx.db, ctx.acting, case, answers=answers, notes=text(ctx.form, "notes"), ip=ctx.ip
        )
    except FieldErrors as exc:
        return _detail_page(ctx, case, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/dossiers/{case.id}", status_code=303)


@router.post("/{case_id}/aangifte")
def case_aangifte(ctx: CaseChange, case_id: str) -> Response:
    case = ctx.chain_record(Case)
    form = ctx.form
    try:
        cases.record_aangifte_support(
            ctx.db,
            ctx.acting,
            case,
            at=local_time(form, "at"),
            presence=text(form, "presence"),
            accompanied_by_user_id=number(form, "accompanied_by_user_id"),
            accompanied_by=text(form, "accompanied_by"),
            police_unit=text(form, "police_unit"),
            follow_up=text(form, "follow_up"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _detail_page(ctx, case, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/dossiers/{case.id}", status_code=303)
