"""Request size limits and the order of checks before a form is parsed.

The pen test spooled 300 MB to disk with a chunked body to POST /login before any login, and a
200 MB form kept the server busy. These tests drive the ASGI app directly with a body that is
produced lazily and count how many bytes the app pulled: a refused body is read at most up to the
limit plus the chunk that crossed it, and not at all when the request is refused on its headers
or cookies. (bench/web_limits.py measures the same against a real uvicorn server.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from signaal.web.app import WebState
from signaal.web.forms import (
    MAX_BODY_BYTES,
    MAX_FORM_FIELDS,
    parse_urlencoded,
    urlencoded_field,
)

CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int  # body bytes the app asked for
    chunks_left: bool = field(default=True)


def _chunks(total: int, size: int = CHUNK, fill: bytes = b"a") -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield fill * piece


def call(
    app: FastAPI,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Iterator[bytes] | bytes = b"",
) -> Answer:
    """One request straight into the ASGI app, its body handed over chunk by chunk on demand.

    Without a content-length header the body is chunked, as a client streaming it would send.
    """
    chunks = iter([body]) if isinstance(body, bytes) else body
    pulled = 0
    exhausted = False
    raw_headers = [(b"host", b"testserver")]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if not any(name == b"content-length" for name, _ in raw_headers):
        raw_headers.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("203.0.113.5", 50000),
        "server": ("testserver", 443),
    }
    messages: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled, exhausted
        if exhausted:
            await asyncio.sleep(3600)  # a client that sends nothing more
        try:
            chunk = next(chunks)
        except StopIteration:
            exhausted = True
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, object]) -> None:
        messages.append(message)

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=60)  # type: ignore[arg-type]

    # In a portal's own thread and loop: the test's thread may already run one (Playwright's).
    with start_blocking_portal() as portal:
        portal.call(run)
    start = next(m for m in messages if m["type"] == "http.response.start")
    response_headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in start["headers"]  # type: ignore[attr-defined]
    }
    body_bytes = b"".join(
        m.get("body", b"")  # type: ignore[misc]
        for m in messages
        if m["type"] == "http.response.body"
    )
    remaining = next(chunks, None) is not None
    return Answer(int(start["status"]), response_headers, body_bytes, pulled, remaining)  # type: ignore[call-overload]


@dataclass
class Browser:
    """What a browser that opened the login page holds: its cookies and the page's token."""

    cookie: str
    csrf_token: str

    def headers(self, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
        return {"cookie": self.cookie, "content-type": content_type}


@pytest.fixture
def browser(client: TestClient, csrf_of: Callable[[str], str]) -> Browser:
    page = client.get("/login")
    token = csrf_of(page.text)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return Browser(cookie, token)


def _form(token: str, **fields: str) -> bytes:
    values = {"csrf_token": token, **fields}
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in values.items()).encode()


# -- size -------------------------------------------------------------------------------------


def test_a_chunked_300_mb_login_is_cut_off_at_the_limit(app: FastAPI, browser: Browser) -> None:
    """The pen test's attack: a chunked body (no Content-Length) to POST /login, before login."""
    body = _chunks(300 * 1024 * 1024)
    answer = call(app, "POST", "/login", headers=browser.headers(), body=body)
    assert answer.status == 413
    assert answer.pulled <= MAX_BODY_BYTES + CHUNK
    assert answer.chunks_left  # the rest was never asked for
    assert answer.headers["connection"] == "close"  # the server stops reading the rest
    assert "Te veel gegevens" in answer.body.decode()


def test_a_body_larger_than_declared_is_cut_off_too(app: FastAPI, browser: Browser) -> None:
    headers = {**browser.headers(), "content-length": "100"}
    answer = call(app, "POST", "/login", headers=headers, body=_chunks(10 * 1024 * 1024))
    assert answer.status == 413
    assert answer.pulled <= MAX_BODY_BYTES + CHUNK


def test_a_declared_length_over_the_limit_is_refused_unread(app: FastAPI, browser: Browser) -> None:
    headers = {**browser.headers(), "content-length": str(200 * 1024 * 1024)}
    answer = call(app, "POST", "/login", headers=headers, body=_chunks(200 * 1024 * 1024))
    assert answer.status == 413
    assert answer.pulled == 0
    assert answer.headers["connection"] == "close"


def test_a_route_that_reads_no_body_closes_the_connection_after_answering(
    app: FastAPI,
) -> None:
    """Otherwise the server would read and discard a huge body after its answer."""
    answer = call(app, "GET", "/healthz", body=_chunks(50 * 1024 * 1024))
    assert answer.status == 200
    assert answer.pulled == 0
    assert answer.headers["connection"] == "close"
    plain = call(app, "GET", "/healthz", headers={"content-length": "0"})
    assert "connection" not in plain.headers  # keep-alive as usual without a body


def test_a_form_just_under_the_limit_is_read(app: FastAPI, browser: Browser) -> None:
    body = _form(browser.csrf_token, email="iemand@example.test", password="x" * 1000)
    room = MAX_BODY_BYTES - len(body)
    padding = b"".join(b"&extra%d=" % i + b"a" * (room // 4 - 10) for i in range(4))
    assert MAX_BODY_BYTES - 64 < len(body + padding) <= MAX_BODY_BYTES
    answer = call(app, "POST", "/login", headers=browser.headers(), body=body + padding)
    assert answer.status == 401  # read, parsed and checked: a wrong login


def test_too_many_or_too_long_fields_are_refused(app: FastAPI, browser: Browser) -> None:
    many = _form(browser.csrf_token) + b"".join(
        f"&f{i}=x".encode() for i in range(MAX_FORM_FIELDS + 1)
    )
    assert call(app, "POST", "/login", headers=browser.headers(), body=many).status == 413
    long = _form(browser.csrf_token, email="a@example.test", password="p" * (65 * 1024))
    assert call(app, "POST", "/login", headers=browser.headers(), body=long).status == 413


# -- CSRF before the body ---------------------------------------------------------------------


def test_without_a_session_or_pre_session_cookie_the_body_is_not_read(app: FastAPI) -> None:
    answer = call(
        app,
        "POST",
        "/login",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=_chunks(300 * 1024 * 1024),
    )
    assert answer.status == 403
    assert answer.pulled == 0


def test_a_forged_cookie_counts_as_none(app: FastAPI, state: WebState) -> None:
    cookie = f"{state.cookies.pre_session_cookie}=forged.value"
    answer = call(
        app,
        "POST",
        "/login",
        headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
        body=_chunks(10 * 1024 * 1024),
    )
    assert answer.status == 403
    assert answer.pulled == 0


def test_a_wrong_header_token_is_refused_before_the_body_is_read(
    app: FastAPI, browser: Browser
) -> None:
    headers = {**browser.headers(), "x-csrf-token": "not-the-token"}
    answer = call(app, "POST", "/login", headers=headers, body=_chunks(10 * 1024 * 1024))
    assert answer.status == 403
    assert answer.pulled == 0
    assert "Formulier verlopen" in answer.body.decode()


def test_a_right_header_token_lets_the_form_through(app: FastAPI, browser: Browser) -> None:
    headers = {**browser.headers(), "x-csrf-token": browser.csrf_token}
    body = b"email=iemand%40example.test&password=verkeerd-wachtwoord"
    assert call(app, "POST", "/login", headers=headers, body=body).status == 401


def test_a_wrong_body_token_is_refused_before_the_fields_are_parsed(
    app: FastAPI, browser: Browser
) -> None:
    """Too many fields give 413 once parsed; with a wrong token the answer is the CSRF refusal,
    so the fields were never parsed."""
    fields = b"".join(f"&f{i}=x".encode() for i in range(MAX_FORM_FIELDS * 10))
    wrong = call(app, "POST", "/login", headers=browser.headers(), body=b"csrf_token=nope" + fields)
    assert wrong.status == 403
    right = call(
        app, "POST", "/login", headers=browser.headers(), body=_form(browser.csrf_token) + fields
    )
    assert right.status == 413


# -- no uploads -------------------------------------------------------------------------------


def _state_changing_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                if method not in ("GET", "HEAD", "OPTIONS"):
                    path = route.path.replace("{user_id}", "1")
                    routes.append((method, path))
    return routes


def test_multipart_bodies_are_refused_on_every_route_unread(app: FastAPI, browser: Browser) -> None:
    routes = _state_changing_routes(app)
    assert ("POST", "/login") in routes
    boundary = "----signaal"
    upload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{browser.csrf_token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="x.bin"\r\n\r\n'
    ).encode()
    for method, path in routes:
        for content_type in (
            f"multipart/form-data; boundary={boundary}",
            f"Multipart/Mixed; boundary={boundary}",
        ):
            body = iter([upload, *_chunks(5 * 1024 * 1024)])
            answer = call(app, method, path, headers=browser.headers(content_type), body=body)
            assert (method, path, answer.status) == (method, path, 415)
            assert answer.pulled == 0
    assert "Niet toegestaan" in answer.body.decode()


# -- parsing ----------------------------------------------------------------------------------


def test_urlencoded_forms_decode_utf8_plus_and_blank_values() -> None:
    body = "naam=Zorgco%C3%B6rdinatie+Utrecht&leeg=&ruw=caf\u00e9&naam=tweede".encode()
    form = parse_urlencoded(body)
    assert form.getlist("naam") == ["Zorgcoördinatie Utrecht", "tweede"]
    assert form["leeg"] == ""
    assert form["ruw"] == "café"  # unencoded UTF-8 bytes, as some clients send them
    assert urlencoded_field(body, "naam") == "Zorgcoördinatie Utrecht"
    assert urlencoded_field(body, "csrf_token") is None
    assert parse_urlencoded(b"kapot=%ZZ%C3").get("kapot") == "%ZZ\ufffd"  # never an exception
