"""The match service's HTTP API (FastAPI): a thin adapter over :mod:`.service`.

Routes (all but ``/v1/health`` need ``Authorization: Bearer <token>`` of a deployment):

- ``POST /v1/records`` ``{"purpose", "records": [...]}``: submit encodings; answers the hits
  of the submitted records (``{"hits": [{"reference", "organisation", "contact_route"}]}``);
- ``POST /v1/records/withdraw`` ``{"purpose", "references": [...]}``: withdraw records;
- ``GET /v1/hits?purpose=...&after=...&limit=...``: the current hits of the caller's records.

Every error has one shape, ``{"error": {"code", "message", "fields"?}}``: ``fields`` names each
bad value by its place in the body (``records[3].surname``) and says why. A body larger than
``max_body_bytes`` is refused with 413 while it is read, whatever ``Content-Length`` claims.
Nothing a request carries is logged except counts, the deployment's name and the purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signaal.errors import FieldErrors, SignaalError
from signaal.match_service import service
from signaal.match_service.settings import MatchServiceSettings
from signaal.match_service.store import Deployment, create_schema
from signaal.match_service.wire import (
    PURPOSE_PATTERN,
    REFERENCE_PATTERN,
    HitOut,
    HitsOut,
    SubmissionIn,
    WithdrawalIn,
    WithdrawnOut,
)
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import utcnow

log = logging.getLogger(__name__)
MAX_HITS_PAGE = 1000


class BodyLimit:
    """ASGI middleware: read the request body first, up to ``limit`` bytes, and refuse a larger
    one with 413 as soon as it passes the limit (a missing or false ``Content-Length`` does not
    get a larger body through); the app then gets the body read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> JSONResponse:
    return _error(413, "body_too_large", f"the request body is larger than {limit} bytes")


def _error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status)


def _place(loc: tuple[int | str, ...]) -> str:
    """``("body", "records", 3, "surname")`` → ``records[3].surname``."""
    parts = [p for p in loc if p not in ("body", "query", "header")]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _reason(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _database(request: Request) -> Iterator[Session]:
    """A session in one transaction per request (committed when the route returns)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with transaction(factory) as session:
        yield session


# Committed before the response is sent: a hit answered is a hit stored.
Db = Annotated[Session, Depends(_database, scope="function")]


def _caller(db: Db, authorization: Annotated[str | None, Header()] = None) -> Deployment:
    scheme, _, token = (authorization or "").partition(" ")
    return service.authenticate(db, token.strip() if scheme.lower() == "bearer" else None)


Caller = Annotated[Deployment, Depends(_caller)]


def create_app(settings: MatchServiceSettings, engine: Engine | None = None) -> FastAPI:
    """The service's app on its own store (created when missing)."""
    engine = engine or make_engine(settings.database_url)
    create_schema(engine)
    factory: sessionmaker[Session] = session_factory(engine)
    app = FastAPI(
        title="Signaal match service",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    app.state.sessions = factory

    @app.exception_handler(SignaalError)
    async def _signaal_error(request: Request, exc: SignaalError) -> JSONResponse:
        fields = exc.fields if isinstance(exc, FieldErrors) else None
        response = _error(exc.http_status, exc.code, exc.message, fields)
        if isinstance(exc, service.QuotaExceeded):
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.http_status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields: dict[str, str] = {}
        for error in exc.errors():
            fields.setdefault(_place(tuple(error.get("loc", ()))), _reason(error))
        return _error(
            422, "invalid_fields", "; ".join(f"{k}: {v}" for k, v in fields.items()), fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
        return _error(500, "internal", "the match service failed; nothing was changed")

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/records")
    def submit(body: SubmissionIn, db: Db, deployment: Caller) -> HitsOut:
        if len(body.records) > settings.max_records_per_request:
            raise FieldErrors(
                {
                    "records": f"at most {settings.max_records_per_request} records per "
                    f"request, got {len(body.records)}"
                }
            )
        hits = service.submit(
            db,
            deployment,
            body.purpose,
            body.records,
            now=utcnow(),
            records_per_hour=settings.records_per_hour,
            threshold=settings.match_threshold,
        )
        return HitsOut(hits=[HitOut(**h.__dict__) for h in hits])

    @app.post("/v1/records/withdraw")
    def withdraw(body: WithdrawalIn, db: Db, deployment: Caller) -> WithdrawnOut:
        return WithdrawnOut(
            withdrawn=service.withdraw(db, deployment, body.purpose, body.references)
        )

    @app.get("/v1/hits")
    def hits(
        db: Db,
        deployment: Caller,
        purpose: Annotated[str, Query(pattern=PURPOSE_PATTERN)],
        after: Annotated[str | None, Query(pattern=REFERENCE_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_HITS_PAGE)] = 500,
    ) -> HitsOut:
        found, following = service.hits_of(db, deployment, purpose, after=after, limit=limit)
        return HitsOut(hits=[HitOut(**h.__dict__) for h in found], next=following)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
