"""The JSON API under ``/api/v1``: same guard, same sessions, one error shape.

Every error answer is ``{"error": {"code": str, "message": str}}`` (see
:mod:`signaal.web.errors`); ``tests/web/test_errors.py`` checks it for every kind of error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from signaal.chain.authz import Action, roles
from signaal.store import analysis
from signaal.web.context import RequestContext, guard

router = APIRouter(prefix="/api/v1")

MAX_LIMIT = 500


@router.get("/me")
def me(ctx: Annotated[RequestContext, guard(Action.MANAGE_OWN_ACCOUNT)]) -> dict[str, Any]:
    """The logged-in user: who they are and what their role may do (for an API token whose role
    manages an own account: the token, its organisation and role)."""
    if ctx.user is None:
        actor = ctx.acting
        token_role = roles().get(actor.role)
        return {
            "api_token": {
                "id": actor.token_id,
                "name": ctx.api_token.name if ctx.api_token else "",
            },
            "organisation": {"id": actor.organisation_id, "kind": str(actor.organisation_kind)},
            "role": actor.role,
            "actions": sorted(str(a) for a in token_role.actions) if token_role else [],
            "locale": ctx.locale,
        }
    role = roles().get(ctx.user.role)
    return {
        "email": ctx.user.email,
        "display_name": ctx.user.display_name,
        "organisation": {
            "id": ctx.user.organisation_id,
            "name": ctx.user.organisation.name,
            "kind": ctx.user.organisation.kind.value,
        },
        "role": ctx.user.role,
        "role_label": role.label_for(ctx.locale) if role else ctx.user.role,
        "actions": sorted(str(action) for action in role.actions) if role else [],
        "second_factor": ctx.user.totp_enabled,
        "locale": ctx.locale,
    }


@router.get("/analysis/networks")
def networks(
    ctx: Annotated[RequestContext, guard(Action.VIEW_ANALYSIS)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """The networks of the latest stored analysis of the caller's organisation, highest risk
    first, with their reasons."""
    assert ctx.actor is not None
    run = analysis.latest_run(ctx.db, ctx.actor.organisation_id)
    if run is None:
        return {"run": None, "networks": []}
    rows = analysis.top_networks(ctx.db, run.id, limit=limit)
    return {
        "run": {
            "id": run.id,
            "organisation_id": run.organisation_id,
            "finished_at": run.finished_at.isoformat(),
            "n_ads": run.n_ads,
            "n_personas": run.n_personas,
            "n_networks": run.n_networks,
        },
        "networks": [
            {
                "network_id": row.network_id,
                "risk_score": row.risk_score,
                "n_personas": row.n_personas,
                "n_ads": row.n_ads,
                "reasons": row.reasons,
                "municipalities": list(row.municipalities),
            }
            for row in rows
        ],
    }
