"""The start of the app: ``/`` (a redirect), ``/healthz`` and the start page of each role: what
that person has to do today (:mod:`signaal.monitor.today`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse, RedirectResponse, Response

from signaal.chain.authz import Action, roles
from signaal.monitor import today
from signaal.store import analysis
from signaal.store.models import User, utcnow
from signaal.web.app import web_state
from signaal.web.casework_forms import AMSTERDAM
from signaal.web.context import RequestContext, guard

router = APIRouter()

Public = Annotated[RequestContext, guard(Action.PUBLIC_VIEW)]


@router.get("/")
def start(ctx: Public) -> Response:
    if ctx.user is not None:
        return RedirectResponse("/dashboard", status_code=303)
    if ctx.pending_user is not None:
        return RedirectResponse("/login/tweede-factor", status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/healthz")
def health(ctx: Public) -> Response:
    """Liveness and store check for load balancers; says nothing about data."""
    try:
        ctx.db.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "store": "ok"})


@router.get("/dashboard")
def dashboard(ctx: Annotated[RequestContext, guard(Action.VIEW_DASHBOARD)]) -> Response:
    assert ctx.user is not None
    role = roles().get(ctx.user.role)
    context: dict[str, object] = {
        "user": ctx.user,
        "role_label": role.label_for(ctx.locale) if role else ctx.user.role,
        "run": None,
        "networks": [],
        "user_count": None,
        "may_analyse": ctx.may(Action.VIEW_ANALYSIS),
        "may_manage_users": ctx.may(Action.MANAGE_USERS),
        "may_view_audit": ctx.may(Action.VIEW_AUDIT),
    }
    now = utcnow()
    context["today"] = today.today(
        ctx.db, ctx.acting, ip=ctx.ip, end_of_day=today.end_of_local_day(now, AMSTERDAM), now=now
    )
    context["may_triage"] = ctx.may(Action.VIEW_TRIAGE)
    context["may_local"] = ctx.may(Action.VIEW_LOCAL_FIGURES)
    context["may_tasks"] = ctx.may(Action.MANAGE_TASKS)
    context["may_route"] = ctx.may(Action.ROUTE_SIGNALS)
    context["may_open_personas"] = ctx.may(Action.VIEW_ANALYSIS_DETAIL)
    context["now"] = now
    context["small_count"] = today.SMALL_COUNT
    if context["may_analyse"]:
        run = analysis.latest_run(ctx.db, ctx.user.organisation_id)  # only the own runs
        context["run"] = run
        # Who reads the overview (a viewer) sees its top; who triages sees her queue instead.
        if run is not None and not context["may_triage"]:
            context["networks"] = analysis.top_networks(ctx.db, run.id, limit=5)
    if context["may_manage_users"]:
        context["user_count"] = ctx.db.scalar(
            select(func.count())
            .select_from(User)
            .where(User.organisation_id == ctx.user.organisation_id)
        )
    return web_state(ctx.request).renderer.page(ctx.request, "dashboard.html", context)
