"""The web app: ``create_app(settings) -> FastAPI``.

Server-rendered Jinja2 pages with htmx for partial updates, a small JSON API under ``/api/v1``,
static assets vendored into the package (no CDN). Every route declares exactly one
:func:`signaal.web.context.guard`; :func:`create_app` refuses to build an app with a route that
has none, and ``tests/web/test_access_matrix.py`` checks every route for every role.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
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
    from signaal.web.routes import admin, analysis, api, auth, contacts, pages

    if engine is None:
        engine = make_engine(url_from_settings(settings))
    app = FastAPI(
        title="Signaal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = WebState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        signer=TokenSigner(settings.secret_key),
        cookies=CookiePolicy.for_settings(settings),
        renderer=Renderer(),
    )
    for module in (pages, auth, analysis, contacts, admin, api):
        # The routes themselves, not an included router, so that ``app.routes`` lists every
        # route with its guard (the access-matrix test and the guard check read it).
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    # Added last = outermost: the finisher wraps everything, the catch-all sits inside it.
    app.add_middleware(CatchUnexpected)
    app.add_middleware(ResponseFinisher, headers=security_headers(settings))
    guarded_routes_check(app)
    return app
