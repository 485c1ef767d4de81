"""``/api/v1/openapi.json``: the OpenAPI description of the JSON API (see
:mod:`signaal.web.openapi`). Public: it describes routes, it holds no data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from signaal.chain.authz import Action
from signaal.web.context import RequestContext, guard
from signaal.web.openapi import api_description

router = APIRouter(prefix="/api/v1")

_CACHE_KEY = "signaal_openapi"


@router.get("/openapi.json")
def openapi_description(
    ctx: Annotated[RequestContext, guard(Action.PUBLIC_VIEW)],
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every /api/v1 route, with its error answers."""
    from signaal.web.app import web_state

    app = ctx.request.app
    cached: dict[str, Any] | None = getattr(app.state, _CACHE_KEY, None)
    if cached is None:
        cached = api_description(app, session_cookie=web_state(ctx.request).cookies.session_cookie)
        setattr(app.state, _CACHE_KEY, cached)
    return cached
