"""How errors reach people: friendly pages in the app, one JSON shape in the API.

Every error that leaves the web app goes through :func:`install_error_handlers`:

* under ``/api/`` the body is always ``{"error": {"code": str, "message": str}}`` (also for
  404 and 405 from routing, 422 from request validation and unexpected 500s);
* elsewhere a page in the user's language says what happened and what to do, without a stack
  trace; a missing or expired login redirects to the login page instead.

The web layer adds two errors to the tree of :mod:`signaal.errors`::

    AuthenticationError
    └── LoginRequired        no (valid) login session for a route that needs one
    PermissionDenied
    └── CsrfFailure          a state-changing request without the right CSRF token
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from signaal.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    FieldErrors,
    InputError,
    NotFoundError,
    PermissionDenied,
    SignaalError,
    StoreError,
)
from signaal.store.db import database_problem
from signaal.web.i18n import N_, translate

log = logging.getLogger(__name__)


class LoginRequired(AuthenticationError):
    """The route needs a login. ``reason`` is "required", "expired" or "second_factor"."""

    code = "unauthenticated"

    def __init__(self, reason: str = "required") -> None:
        super().__init__(f"login required ({reason})")
        self.reason = reason


class CsrfFailure(PermissionDenied):
    code = "csrf"

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token")


# What people read: (title, explanation) per HTTP status, in English msgids.
PAGE_TEXT: dict[int, tuple[str, str]] = {
    400: (N_("Bad request"), N_("The request could not be understood. Please try again.")),
    401: (N_("Please log in"), N_("You need to log in to see this page.")),
    403: (
        N_("No access"),
        N_("Your role does not give access to this page. Ask your administrator if you need it."),
    ),
    404: (
        N_("Page not found"),
        N_("This page does not exist (any more). Check the address or go back to the start."),
    ),
    405: (N_("Not possible"), N_("This page cannot be used in this way.")),
    409: (
        N_("Conflict"),
        N_("Your change conflicts with the current state. Reload the page and try again."),
    ),
    413: (N_("Too much data"), N_("The form you sent is too large. Nothing was saved.")),
    415: (
        N_("Not accepted"),
        N_("Files and other kinds of data cannot be sent here. Nothing was saved."),
    ),
    422: (
        N_("Check your input"),
        N_("Some of the values you sent are missing or not valid. Go back and correct them."),
    ),
    500: (
        N_("Something went wrong"),
        N_("Something went wrong on our side. Nothing was saved. Please try again later."),
    ),
}
CSRF_TEXT = (
    N_("Form expired"),
    N_(
        "This form was too old or not sent from Signaal itself, so nothing was done. "
        "Go back, reload the page and try again."
    ),
)

# The code of an API error per HTTP status when no Signaal error says otherwise.
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def request_locale(request: Request) -> str:
    from signaal.web.context import negotiate_locale

    locale: str | None = getattr(request.state, "locale", None)
    return locale or negotiate_locale(request)


def api_error(
    status: int,
    code: str,
    message: str,
    headers: Any = None,
    fields: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error shape of the API; ``fields`` (field -> reason) when input was invalid."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def error_page(
    request: Request,
    status: int,
    *,
    text: tuple[str, str] | None = None,
    details: list[str] | None = None,
) -> Response:
    from signaal.web.app import web_state

    title, explanation = text or PAGE_TEXT.get(status, PAGE_TEXT[500])
    if not hasattr(request.state, "locale"):
        request.state.locale = request_locale(request)
    return web_state(request).renderer.page(
        request,
        "error.html",
        {"status": status, "title": title, "explanation": explanation, "details": details or []},
        status_code=status,
    )


def login_redirect(request: Request, reason: str) -> Response:
    target = "/login/tweede-factor" if reason == "second_factor" else "/login"
    query = f"?reden={reason}"
    htmx = request.headers.get("HX-Request") == "true"
    if reason != "second_factor" and request.method == "GET" and not htmx:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query += f"&volgende={quote(next_path, safe='/')}"
    if htmx:
        # A partial update would swap the login page into the table: let htmx go there instead.
        return Response(status_code=401, headers={"HX-Redirect": target + query})
    return RedirectResponse(target + query, status_code=303)


def _status_of(exc: SignaalError) -> int:
    return exc.http_status


async def handle_signaal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignaalError)
    status = _status_of(exc)
    if isinstance(exc, StoreError):
        # A store failure is a known condition (database down, full, refusing): one line that
        # says what, no traceback of chained driver exceptions (that goes to debug logging).
        log.error("store failure on %s %s: %s", request.method, request.url.path, exc.message)
        log.debug("store failure", exc_info=exc)
    elif status >= 500:
        log.error(
            "unexpected %s on %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=exc,
        )
    if is_api(request):
        locale = request_locale(request)
        if status >= 500:
            message = translate(locale, PAGE_TEXT[500][1])
        elif isinstance(exc, InputError):
            message = exc.message
        else:
            message = translate(locale, PAGE_TEXT.get(status, PAGE_TEXT[500])[1])
        fields = None
        if isinstance(exc, FieldErrors):
            fields = exc.fields
        elif isinstance(exc, FieldError):
            fields = {exc.field: exc.reason}
        return api_error(status, exc.code, message, fields=fields)
    if isinstance(exc, LoginRequired):
        return login_redirect(request, exc.reason)
    if isinstance(exc, AuthenticationError):
        return login_redirect(request, "required")
    if isinstance(exc, CsrfFailure):
        return error_page(request, 403, text=CSRF_TEXT)
    if isinstance(exc, (PermissionDenied, NotFoundError, ConflictError, InputError)):
        return error_page(request, status)
    return error_page(request, 500)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = getattr(exc, "headers", None)
    if is_api(request):
        message = translate(request_locale(request), PAGE_TEXT.get(status, PAGE_TEXT[400])[1])
        return api_error(status, STATUS_CODES.get(status, "error"), message, headers)
    response = error_page(request, status if status in PAGE_TEXT else 400)
    if headers:
        response.headers.update(headers)
    return response


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in error.get('loc', ()) if p not in ('body', 'query', 'path'))}"
        for error in exc.errors()
    ]
    if is_api(request):
        locale = request_locale(request)
        message = translate(locale, PAGE_TEXT[422][1])
        fields = ", ".join(p for p in problems if p)
        return api_error(422, "invalid_input", f"{message} ({fields})" if fields else message)
    return error_page(request, 422, details=[p for p in problems if p])


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SQLAlchemyError):  # the store failed under a query: one line, as above
        problem = database_problem(exc)
        log.error("store failure on %s %s: %s", request.method, request.url.path, problem)
        log.debug("store failure", exc_info=exc)
    else:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if is_api(request):
        return api_error(500, "internal", translate(request_locale(request), PAGE_TEXT[500][1]))
    try:
        return error_page(request, 500)
    except Exception:  # the error page itself failed: fall back to plain text, never a trace
        log.exception("error page failed")
        return Response(
            "Er ging iets mis. / Something went wrong.", status_code=500, media_type="text/plain"
        )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignaalError, handle_signaal_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)
