"""The OpenAPI description of the JSON API (``/api/v1`` only), served at
``/api/v1/openapi.json``.

It is made from the app's own routes (FastAPI's generator over every route under ``/api/v1``, so
that routes added later are described without more code) and then completed for every operation
with what the guard, the body limit and the error handlers answer, in the API's one error shape
``{"error": {"code", "message", "fields"?}}``:

* 401 without a valid login session or bearer token, 403 when the role may not do it (or the
  CSRF token of a cookie session is missing), 400 for a body that is no JSON, 422 for invalid
  parameters or fields, 500;
* 404 for a path that names a record (a chain record the caller may not see answers 404 exactly
  as one that does not exist);
* 409, 413 and 415 for operations that change something (conflict, body too large, a body that
  is not JSON);
* the security schemes: ``bearer`` (an API token, ``signaal api-tokens create``) and ``session``
  (the web login's cookie, with the ``X-CSRF-Token`` header on changes). Public operations (the
  description itself) need neither.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from signaal.chain.authz import PUBLIC_ACTIONS
from signaal.web.context import Guard
from signaal.web.forms import MAX_BODY_BYTES
from signaal.web.security import CSRF_HEADER

API_PREFIX = "/api/v1"
ERROR_SCHEMA_NAME = "Error"
ERROR_REF = f"#/components/schemas/{ERROR_SCHEMA_NAME}"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of the API.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Stable code, e.g. not_found."},
                "message": {
                    "type": "string",
                    "description": "Human text in the caller's language.",
                },
                "fields": {
                    "type": "object",
                    "description": "Per invalid field: why (one message per field).",
                    "additionalProperties": {"type": "string"},
                },
            },
        }
    },
}
ERROR_TEXT: dict[int, str] = {
    400: "The request body could not be read as JSON (not UTF-8 or not JSON).",
    401: "No valid login session or API token (unknown, revoked or expired).",
    403: "The caller's role may not do this (or a cookie session sent no CSRF token).",
    404: "No such record, or one the caller may not see (the same answer).",
    405: "The path does not take this method.",
    409: "The change conflicts with the record's current state.",
    413: f"The request body is larger than {MAX_BODY_BYTES} bytes.",
    415: "The request body is not application/json.",
    422: "Invalid parameters or fields; `fields` names each field with its reason.",
    500: "Something went wrong on the server; nothing was saved.",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token of a system integration (signaal api-tokens create).",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "signaal_session",
        "description": (
            f"The web app's login session; changes also need the {CSRF_HEADER} header."
        ),
    },
}


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_TEXT[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def _api_routes(app: FastAPI) -> list[APIRoute]:
    return [
        route
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith(API_PREFIX + "/")
    ]


def _guard_of(route: APIRoute) -> Guard | None:
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Guard):
            return dependency.call
    return None


def complete(
    description: dict[str, Any], public_paths: set[tuple[str, str]], session_cookie: str
) -> dict[str, Any]:
    """Add the error answers, the error schema and the security of every operation to a
    description FastAPI made (a copy is returned). ``public_paths`` are the (method, path) pairs
    whose guard is public (no security)."""
    result = copy.deepcopy(description)
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # FastAPI's own validation error schemas describe an answer Signaal never gives.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    schemes = copy.deepcopy(SECURITY_SCHEMES)
    schemes["session"]["name"] = session_cookie
    components["securitySchemes"] = schemes
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            statuses = {405, 422, 500}
            public = (method.upper(), path) in public_paths
            if not public:
                statuses |= {401, 403}
                operation["security"] = [{"bearer": []}, {"session": []}]
            else:
                operation["security"] = []
            if "{" in path:
                statuses.add(404)
            if method in WRITE_METHODS:
                statuses |= {400, 409, 413, 415}
            for status in sorted(statuses):
                responses[str(status)] = _error_response(status)
    return result


def api_description(app: FastAPI, *, session_cookie: str = "signaal_session") -> dict[str, Any]:
    """The OpenAPI description of every route under ``/api/v1`` of ``app``."""
    routes = _api_routes(app)
    public: set[tuple[str, str]] = set()
    for route in routes:
        route_guard = _guard_of(route)
        if route_guard is not None and route_guard.action in PUBLIC_ACTIONS:
            public.update((method, route.path) for method in route.methods or ())
    description = get_openapi(
        title="Signaal API",
        version="1",
        openapi_version="3.1.0",
        description=(
            "The JSON API of Signaal under /api/v1. Authenticate with an API token "
            "(Authorization: Bearer) or the web login session. Every error is "
            '{"error": {"code", "message", "fields"?}}. See docs/chain.md.'
        ),
        routes=routes,
    )
    return complete(description, public, session_cookie)
