"""The JSON API under ``/api/v1``: same guard, same sessions, one error shape.

Every error answer is ``{"error": {"code": str, "message": str}}`` (see
:mod:`signaal.web.errors`); ``tests/web/test_errors.py`` checks it for every kind of error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from signaal.chain.authz import Action, roles
from signaal.web.context import RequestContext, guard

router = APIRouter(prefix="/api/v1")


@router.get("/me")
def me(ctx: Annotated[RequestContext, guard(Action.MANAGE_OWN_ACCOUNT)]) -> dict[str, Any]:
    """The logged-in user: who they are and what their role may do."""
    assert ctx.user is not None
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
