"""API tokens: made once with a secret that is never stored, bearer auth on /api/ only, refused
when unknown, revoked or expired, every use audited, JSON bodies with bearer and with a cookie
session (CSRF header), and the ``signaal api-tokens`` commands."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import select
from typer.testing import CliRunner

from signaal.chain import accounts, api_tokens
from signaal.chain.authz import Action, roles
from signaal.cli import app as cli_app
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import ApiToken, AuditEvent, Organisation, OrganisationKind, utcnow
from signaal.web.app import WebState
from signaal.web.context import RequestContext, guard
from signaal.web.forms import MAX_BODY_BYTES

from .conftest import BASE_URL, Account


def _organisation(state: WebState, kind: OrganisationKind = OrganisationKind.POLICE) -> int:
    with transaction(state.sessions) as session:
        return accounts.create_organisation(session, name=f"Token {kind.value}", kind=kind).id


def _token(state: WebState, organisation_id: int, **options: Any) -> tuple[int, str]:
    with transaction(state.sessions) as session:
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        created = api_tokens.create_token(
            session, organisation=organisation, name="Registratiesysteem", **options
        )
        return created.token.id, created.secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _events(state: WebState, action: str) -> list[AuditEvent]:
    with state.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


@pytest.fixture
def bare(app: FastAPI) -> TestClient:
    """A client that keeps no cookies between requests (as an integration would)."""
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, cookies=None)


def test_a_token_is_stored_only_as_its_hash_and_acts_for_its_organisation(state, bare):
    organisation_id = _organisation(state)
    token_id, secret = _token(state, organisation_id, role="police_officer")
    assert secret.startswith("sgl_")
    assert len(secret) >= 40
    with state.sessions() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (token.prefix, token.name, token.token_hash)
        assert secret.startswith(token.prefix)
        assert len(token.prefix) < len(secret) // 2
    for event in _events(state, "api_token.event"):
        assert secret not in event.details

    response = bare.get("/api/v1/me", headers=_bearer(secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["organisation"]["id"] == organisation_id
    assert body["role"] == "police_officer"
    assert body["api_token"]["id"] == token_id
    # A bearer request gets no cookie of any kind (no login, no pre-session nonce).
    assert "set-cookie" not in response.headers


def test_every_use_is_audited_with_method_and_path_and_last_use_noted_once_a_minute(state, bare):
    organisation_id = _organisation(state)
    token_id, secret = _token(state, organisation_id, role="police_officer")
    for _ in range(3):
        assert bare.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    used = [e for e in _events(state, "api_token.event") if '"used"' in e.details]
    assert len(used) == 3
    details = json.loads(used[-1].details)
    assert details["method"] == "GET"
    assert details["path"] == "/api/v1/me"
    assert details["token_id"] == token_id
    assert used[-1].actor_user_id == -token_id
    assert used[-1].organisation_id == organisation_id
    with state.sessions() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.last_used_at is not None
        first_use = token.last_used_at
    assert bare.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    with transaction(state.sessions) as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.last_used_at == first_use  # within the minute: not written again
        token.last_used_at = first_use - timedelta(minutes=2)
    assert bare.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    with state.sessions() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.last_used_at is not None
        assert token.last_used_at > first_use - timedelta(minutes=2)


def _assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sgl_" + "x" * 43,  # well formed, never issued
        "Bearer ",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        ("Bearer sgl_" + "\u00e9" * 10).encode("latin-1"),
    ],
)
def test_an_unknown_or_malformed_token_is_401_in_the_one_error_shape(state, bare, header):
    response = bare.get("/api/v1/me", headers={"Authorization": header})
    _assert_error(response, 401)
    assert any("unknown bearer token" in e.details for e in _events(state, "access.denied"))


def test_revoked_and_expired_tokens_are_refused(state, bare):
    organisation_id = _organisation(state)
    revoked_id, revoked = _token(state, organisation_id, role="police_officer")
    expired_id, expired = _token(state, organisation_id, role="police_officer", expires_days=1)
    assert bare.get("/api/v1/me", headers=_bearer(revoked)).status_code == 200
    with transaction(state.sessions) as session:
        api_tokens.revoke_token(session, revoked_id)
        token = session.get(ApiToken, expired_id)
        assert token is not None
        assert token.expires_at is not None
        token.expires_at = utcnow() - timedelta(seconds=1)
    _assert_error(bare.get("/api/v1/me", headers=_bearer(revoked)), 401)
    _assert_error(bare.get("/api/v1/me", headers=_bearer(expired)), 401)
    changes = [json.loads(e.details)["change"] for e in _events(state, "api_token.event")]
    assert "refused_revoked" in changes
    assert "refused_expired" in changes


def test_the_token_role_decides(state, bare):
    """The integration role has no own account: /api/v1/me is refused (403), as for a person."""
    organisation_id = _organisation(state, OrganisationKind.SHELTER)
    _, secret = _token(state, organisation_id)
    _assert_error(bare.get("/api/v1/me", headers=_bearer(secret)), 403)
    _assert_error(bare.get("/api/v1/analysis/networks", headers=_bearer(secret)), 403)


def test_a_bearer_token_is_refused_on_pages_and_next_to_a_login_cookie(
    state, bare, client, sign_in, accounts_by_role
):
    organisation_id = _organisation(state)
    _, secret = _token(state, organisation_id, role="police_officer")
    page = bare.get("/dashboard", headers=_bearer(secret))
    assert page.status_code == 400
    sign_in(accounts_by_role["police_officer"])
    _assert_error(client.get("/api/v1/me", headers=_bearer(secret)), 401)


def test_creating_a_token_checks_every_field_first(state):
    housing = _organisation(state, OrganisationKind.HOUSING)
    with transaction(state.sessions) as session:
        organisation = session.get(Organisation, housing)
        assert organisation is not None
        with pytest.raises(FieldErrors) as caught:
            api_tokens.create_token(
                session, organisation=organisation, name="  ", role="nope", expires_days=0
            )
        assert set(caught.value.fields) == {"name", "role", "expires_days"}
        with pytest.raises(FieldErrors) as caught:
            api_tokens.create_token(session, organisation=organisation, name="x", role="analyst")
        assert "does not fit" in caught.value.fields["role"]
        with pytest.raises(FieldErrors) as caught:
            api_tokens.create_token(
                session, organisation=organisation, name="x", role="platform_administrator"
            )
        assert "platform" in caught.value.fields["role"]
        with pytest.raises(FieldErrors):
            api_tokens.create_token(session, organisation=organisation, name="a\x00b")
        assert session.scalars(select(ApiToken)).all() == []


def test_only_the_system_manages_tokens(state, accounts_by_role):
    police = accounts_by_role["police_officer"]
    from signaal.chain.authz import Actor

    person = Actor(
        police.user_id, police.email, police.organisation_id, None, "administrator", False
    )
    with transaction(state.sessions) as session:
        organisation = session.get(Organisation, police.organisation_id)
        assert organisation is not None
        with pytest.raises(PermissionDenied):
            api_tokens.create_token(session, organisation=organisation, name="x", actor=person)
        with pytest.raises(PermissionDenied):
            api_tokens.list_tokens(session, actor=person)
        with pytest.raises(NotFoundError):
            api_tokens.revoke_token(session, 424242)
    assert not any(Action.MANAGE_API_TOKENS in role.actions for role in roles().values())


def test_revoking_twice_is_a_conflict(state):
    organisation_id = _organisation(state)
    token_id, _ = _token(state, organisation_id)
    with transaction(state.sessions) as session:
        api_tokens.revoke_token(session, token_id)
    with transaction(state.sessions) as session, pytest.raises(ConflictError):
        api_tokens.revoke_token(session, token_id)


# ----------------------------------------------------------------------------------------------
# JSON bodies on /api/: bearer without CSRF, cookie sessions with the X-CSRF-Token header


class Echo(BaseModel):
    text: str = Field(max_length=50)


@pytest.fixture
def echo_app(app: FastAPI) -> FastAPI:
    """The app with one JSON route more (as the other API routes will have)."""

    @app.post("/api/v1/test-echo")
    def echo(
        body: Echo, ctx: Annotated[RequestContext, guard(Action.VIEW_SIGNALS)]
    ) -> dict[str, str]:
        return {"text": body.text, "role": ctx.acting.role}

    return app


def test_json_bodies_with_a_bearer_token_need_no_csrf(echo_app, state):
    organisation_id = _organisation(state)
    _, secret = _token(state, organisation_id, role="police_officer")
    bare = TestClient(echo_app, base_url=BASE_URL, follow_redirects=False)
    response = bare.post("/api/v1/test-echo", json={"text": "hallo"}, headers=_bearer(secret))
    assert response.status_code == 200, response.text
    assert response.json() == {"text": "hallo", "role": "police_officer"}
    _assert_error(
        bare.post("/api/v1/test-echo", json={"text": "x" * 51}, headers=_bearer(secret)), 422
    )
    _assert_error(
        bare.post(
            "/api/v1/test-echo",
            content=b"text=hallo",
            headers={**_bearer(secret), "Content-Type": "text/plain"},
        ),
        415,
    )
    big = json.dumps({"text": "x" * (MAX_BODY_BYTES + 10)})
    _assert_error(
        bare.post(
            "/api/v1/test-echo",
            content=big,
            headers={**_bearer(secret), "Content-Type": "application/json"},
        ),
        413,
    )


def test_json_bodies_with_a_cookie_session_need_the_csrf_header(
    echo_app, state, accounts_by_role: dict[str, Account]
):
    from signaal.chain import sessions
    from signaal.store.models import User

    account = accounts_by_role["police_officer"]
    with transaction(state.sessions) as session:
        user = session.get(User, account.user_id)
        assert user is not None
        raw = sessions.create_session(
            session, user, ip="t", user_agent="t", second_factor_done=True, settings=state.settings
        )
    browser = TestClient(echo_app, base_url=BASE_URL, follow_redirects=False)
    browser.cookies.set(state.cookies.session_cookie, state.signer.sign_session(raw))
    _assert_error(browser.post("/api/v1/test-echo", json={"text": "hallo"}), 403)
    csrf = state.signer.csrf_token(raw, kind="session")
    response = browser.post(
        "/api/v1/test-echo", json={"text": "hallo"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text


# ----------------------------------------------------------------------------------------------
# signaal api-tokens


@pytest.fixture
def cli_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNAAL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_commands_create_list_and_revoke(cli_env):
    runner = CliRunner()
    made = runner.invoke(
        cli_app, ["organisations", "create", "--name", "Koppeling GGD", "--kind", "ggd"]
    )
    assert made.exit_code == 0, made.output
    created = runner.invoke(
        cli_app,
        ["api-tokens", "create", "--organisation", "Koppeling GGD", "--name", "Meldsysteem"],
    )
    assert created.exit_code == 0, created.output
    secret = next(line for line in created.output.splitlines() if line.startswith("sgl_"))
    listed = runner.invoke(cli_app, ["api-tokens", "list", "--organisation", "Koppeling GGD"])
    assert listed.exit_code == 0, listed.output
    assert "Meldsysteem" in listed.output
    assert "active" in listed.output
    assert secret not in listed.output
    assert secret[:12] in listed.output
    bad = runner.invoke(
        cli_app,
        ["api-tokens", "create", "--organisation", "Koppeling GGD", "--name", "x", "--role", "zz"],
    )
    assert bad.exit_code == 2
    assert "role" in bad.output
    missing = runner.invoke(cli_app, ["api-tokens", "create", "--organisation", "?", "--name", "x"])
    assert missing.exit_code == 2
    token_id = listed.output.splitlines()[1].split("\t")[0]
    revoked = runner.invoke(cli_app, ["api-tokens", "revoke", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(cli_app, ["api-tokens", "list"]).output
    assert runner.invoke(cli_app, ["api-tokens", "revoke", token_id]).exit_code == 1
    engine = make_engine(f"sqlite:///{(cli_env / 'data' / 'signaal.db').as_posix()}")
    with session_factory(engine)() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    engine.dispose()
