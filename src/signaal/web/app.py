"""The web app: ``create_app(settings) -> FastAPI``.

Server-rendered Jinja2 pages with htmx for partial updates, a small JSON API under ``/api/v1``,
static assets vendored into the package (no CDN). Every route declares exactly one
:func:`signaal.web.context.guard`; :func:`create_app` refuses to build an app with a route that
has none, and ``tests/web/test_access_matrix.py`` checks every route for every role.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signaal import audit
from signaal.chain.authz import Actor
from signaal.errors import ConfigurationError
from signaal.settings import Settings
from signaal.store.db import make_engine, session_factory, transaction, url_from_settings
from signaal.web.context import Guard
from signaal.web.errors import handle_unexpected, install_error_handlers
from signaal.web.forms import MAX_BODY_BYTES, is_api_path
from signaal.web.rendering import STATIC_DIR, Renderer
from signaal.web.security import CookiePolicy, TokenSigner, security_headers

log = logging.getLogger(__name__)

QUEUED_COOKIES = "signaal_cookies"
PUBLIC_MOUNTS = frozenset({"/static"})


@dataclass
class WebState:
    """Everything the app shares between requests (kept on ``app.state.web``)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signer: TokenSigner
    cookies: CookiePolicy
    renderer: Renderer
    # The moment an evidence report is exported (it is printed in the report): a test sets a
    # fixed clock to check that the same inputs give the same bytes.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def queue_cookie(
        self, connection: HTTPConnection, name: str, value: str, *, max_age: int | None
    ) -> None:
        """Set a cookie on whatever response this request ends with (errors included)."""
        carrier = Response()
        self.cookies.set(carrier, name, value, max_age=max_age)
        _queue(connection, carrier)

    def forget_session_cookie(self, connection: HTTPConnection) -> None:
        carrier = Response()
        self.cookies.delete(carrier, self.cookies.session_cookie)
        _queue(connection, carrier)

    def record_audit(
        self, event: audit.AuditEventBase, *, actor: Actor | None, ip: str | None
    ) -> None:
        """Write one audit event in its own transaction (it survives the request's rollback)."""
        with transaction(self.sessions) as session:
            audit.record(session, event, actor=actor, ip=ip)


def _queue(connection: HTTPConnection, carrier: Response) -> None:
    queued: list[bytes] = connection.scope.setdefault("state", {}).setdefault(QUEUED_COOKIES, [])
    queued.extend(value for key, value in carrier.raw_headers if key == b"set-cookie")


def web_state(connection: HTTPConnection) -> WebState:
    state: WebState = connection.app.state.web
    return state


class ResponseFinisher:
    """Adds the security headers and the cookies queued by the request to every response."""

    def __init__(self, app: ASGIApp, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def finish(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
                if "cache-control" not in headers:
                    static = scope.get("path", "").startswith("/static/")
                    # Pages may show personal data: never keep them in any cache.
                    headers.append(
                        "Cache-Control", "public, max-age=3600" if static else "no-store"
                    )
                already = {
                    value.split("=", 1)[0].strip() for value in headers.getlist("set-cookie")
                }
                for raw in scope.get("state", {}).get(QUEUED_COOKIES, []):
                    value = raw.decode("latin-1")
                    # A cookie the handler set itself wins over one queued earlier.
                    if value.split("=", 1)[0].strip() not in already:
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, finish)


class BodyTooLarge(HTTPException):
    """The request body grew past the limit (raised from ``receive``; answered with 413)."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` on the bytes actually received.

    A declared Content-Length over the limit is refused before a byte of the body is read; a
    chunked body (no Content-Length) or one that sends more than it declared is cut off as soon
    as the received bytes pass the limit: ``receive`` raises :class:`BodyTooLarge`, which the
    app answers with its 413 page. Nothing is spooled, and every response to a refused body
    carries ``Connection: close``, so the server stops reading the rest instead of draining it;
    so does any response sent before the request's body was read to its end (a route that never
    reads a body does not make the server read and discard a huge one after answering).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        too_large = declared is not None and (
            not declared.isdigit() or int(declared) > self.max_bytes
        )
        received = 0
        # Only a request with a declared length or a chunked body has a body to finish.
        body_done = declared in (None, "0") and "transfer-encoding" not in headers
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large, body_done
            if too_large:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge()
                body_done = not message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if too_large or not body_done:
                    MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        try:
            await self.app(scope, limited_receive, closing_send)
        except BodyTooLarge:
            if started:
                raise
            response: Response
            if is_api_path(scope.get("path", "")):  # the API's one error shape
                response = JSONResponse(
                    {"error": {"code": "too_large", "message": "Request body too large."}},
                    status_code=413,
                    headers={"connection": "close"},
                )
            else:
                response = PlainTextResponse(
                    "Te veel gegevens. / Request body too large.",
                    status_code=413,
                    headers={"connection": "close"},
                )
            await response(scope, receive, send)


class CatchUnexpected:
    """Turns an unexpected exception into the friendly 500 page or API error.

    It sits inside :class:`ResponseFinisher`, so error responses get the security headers too;
    Starlette's own server-error middleware would answer outside of it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BodyTooLarge:
            raise  # BodyLimit answers it
        except Exception as exc:
            if started:
                raise
            response = await handle_unexpected(Request(scope, receive), exc)
            await response(scope, receive, send)


def guarded_routes_check(app: FastAPI) -> None:
    """Refuse an app in which a route does not go through exactly one guard."""
    problems: list[str] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            guards = [
                dep.call for dep in route.dependant.dependencies if isinstance(dep.call, Guard)
            ]
            if len(guards) != 1:
                problems.append(f"{sorted(route.methods or ())} {route.path}: {len(guards)} guards")
        elif isinstance(route, Mount):
            if route.path not in PUBLIC_MOUNTS:
                problems.append(f"mount {route.path} is not a known public mount")
        elif getattr(route, "path", None) not in (None,):
            problems.append(f"{route!r} is not an API route")
    if problems:
        raise ConfigurationError("routes without exactly one guard: " + "; ".join(problems))


def route_guard(route: APIRoute) -> Guard:
    """The guard of a route (for the access-matrix test and docs)."""
    for dep in route.dependant.dependencies:
        if isinstance(dep.call, Guard):
            return dep.call
    raise LookupError(route.path)


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The web app for ``settings``; ``engine`` overrides the store of the settings (tests)."""
    from signaal.web.routes import (
        admin,
        analysis,
        api,
        api_cases,
        api_contact_requests,
        api_docs,
        api_signals,
        api_watches,
        auth,
        contact_requests,
        contacts,
        controls,
        coordination,
        dossiers,
        evidence,
        fieldwork,
        local_picture,
        pages,
        shelters,
        signals,
        triage,
        watches,
        watchlists,
    )

    if engine is None:
        engine = make_engine(url_from_settings(settings), data_key=settings.data_key)
    app = FastAPI(
        title="Signaal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = WebState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine, audit_key=settings.audit_key),
        signer=TokenSigner(settings.secret_key),
        cookies=CookiePolicy.for_settings(settings),
        renderer=Renderer(),
    )
    # The API's modules before the chain pages': an /api/ path is always answered as JSON.
    for module in (
        pages,
        auth,
        triage,
        analysis,
        watchlists,
        evidence,
        local_picture,
        contacts,
        coordination,
        admin,
        api,
        api_docs,
        api_signals,
        api_cases,
        api_contact_requests,
        api_watches,
        signals,
        contact_requests,
        watches,
        fieldwork,
        dossiers,
        shelters,
        controls,
    ):
        # The routes themselves, not an included router, so that ``app.routes`` lists every
        # route with its guard (the access-matrix test and the guard check read it).
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    # Added last = outermost: the finisher wraps everything (security headers on every answer),
    # the body limit counts every byte before anything inside reads it, the catch-all is inside.
    app.add_middleware(CatchUnexpected)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(ResponseFinisher, headers=security_headers(settings))
    guarded_routes_check(app)
    return app
