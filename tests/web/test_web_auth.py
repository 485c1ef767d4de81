"""Logging in and out through the web app: password, TOTP, enrolment, sessions, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from signaal.chain import accounts
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, LoginSession, Organisation, OrganisationKind, User
from signaal.web.app import WebState

CsrfOf = Callable[[str], str]


def _login_form(client: TestClient, csrf_of: CsrfOf) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return csrf_of(page.text)


def _post_login(client: TestClient, csrf_of: CsrfOf, email: str, password: str):  # type: ignore[no-untyped-def]
    token = _login_form(client, csrf_of)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


def _audit_actions(state: WebState) -> list[str]:
    with state.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_login_with_password_and_totp_reaches_dashboard(client, state, accounts_by_role, csrf_of):
    analyst = accounts_by_role["analyst"]
    response = _post_login(client, csrf_of, analyst.email, analyst.password)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login/tweede-factor")
    cookie = response.headers["set-cookie"]
    assert "__Host-signaal_sessie=" in cookie
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()

    # Half-way: the dashboard is not reachable yet.
    assert client.get("/dashboard").headers["location"].startswith("/login/tweede-factor")

    page = client.get("/login/tweede-factor")
    assert page.status_code == 200
    half_way_cookie = client.cookies.get(state.cookies.session_cookie)
    response = client.post(
        "/login/tweede-factor", data={"csrf_token": csrf_of(page.text), "code": analyst.code()}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    # The session got a new token with its rights: the half-way one is worth nothing now.
    full_cookie = client.cookies.get(state.cookies.session_cookie)
    assert full_cookie != half_way_cookie
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as other:
        other.cookies.set(state.cookies.session_cookie, half_way_cookie)
        assert other.get("/dashboard").status_code == 303
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Test analyst" in dashboard.text
    assert "login.second_factor_passed" in _audit_actions(state)


def test_wrong_totp_code_shows_dutch_message_and_is_audited(
    client, state, accounts_by_role, csrf_of
):
    analyst = accounts_by_role["analyst"]
    _post_login(client, csrf_of, analyst.email, analyst.password)
    page = client.get("/login/tweede-factor")
    wrong = "000000" if analyst.code() != "000000" else "111111"
    response = client.post(
        "/login/tweede-factor", data={"csrf_token": csrf_of(page.text), "code": wrong}
    )
    assert response.status_code == 401
    assert "Deze code klopt niet" in response.text
    assert 'aria-invalid="true"' in response.text
    assert "login.second_factor_failed" in _audit_actions(state)
    assert client.get("/dashboard").status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client, state, accounts_by_role, csrf_of
):
    analyst = accounts_by_role["analyst"]
    wrong = _post_login(client, csrf_of, analyst.email, "not the password at all")
    unknown = _post_login(client, csrf_of, "nobody@example.test", "whatever password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Het e-mailadres of het wachtwoord klopt niet."
    assert message in wrong.text
    assert message in unknown.text
    assert "set-cookie" not in wrong.headers or "sessie" not in wrong.headers["set-cookie"]
    assert _audit_actions(state).count("login.failed") == 2


def test_login_is_rate_limited_with_a_clear_message(client, state, accounts_by_role, csrf_of):
    analyst = accounts_by_role["analyst"]
    for _ in range(state.settings.login_rate_limit):
        assert _post_login(client, csrf_of, analyst.email, "wrong password!!").status_code == 401
    # Even the right password is refused now.
    response = _post_login(client, csrf_of, analyst.email, analyst.password)
    assert response.status_code == 429
    assert "Te veel mislukte pogingen" in response.text
    assert "Probeer het over 1 min. opnieuw" in response.text  # the first delay: 30 s
    assert "login.rate_limited" in _audit_actions(state)


def test_login_form_with_missing_or_absurd_values(client, state, csrf_of):
    token = _login_form(client, csrf_of)
    response = client.post("/login", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Vul je e-mailadres in." in response.text
    assert "Vul je wachtwoord in." in response.text
    absurd = client.post(
        "/login", data={"csrf_token": token, "email": "x" * 5000, "password": "p" * 5000}
    )
    assert absurd.status_code == 422
    assert "x" * 300 not in absurd.text  # the absurd value is not echoed back
    with state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_new_account_enrols_totp_with_qr_code(client, state, csrf_of):
    with transaction(state.sessions) as session:
        organisation = session.scalar(select(Organisation)) or accounts.create_organisation(
            session, name="Enrol GGD", kind=OrganisationKind.GGD
        )
        accounts.create_user(
            session,
            email="new@example.test",
            password="a new long password",
            display_name="Nieuwe Gebruiker",
            organisation=organisation,
            role="viewer",
        )
    response = _post_login(client, csrf_of, "new@example.test", "a new long password")
    assert response.headers["location"] == "/account/tweede-factor"
    page = client.get("/account/tweede-factor")
    assert page.status_code == 200
    assert "<svg" in page.text
    secret = page.text.split('data-secret="')[1].split('"')[0]
    # A reload shows the same secret (the user may have scanned it already).
    assert secret in client.get("/account/tweede-factor").text
    wrong = client.post(
        "/account/tweede-factor", data={"csrf_token": csrf_of(page.text), "code": "12345"}
    )
    assert wrong.status_code == 422
    assert secret in wrong.text
    response = client.post(
        "/account/tweede-factor",
        data={"csrf_token": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
    )
    assert response.status_code == 303
    assert client.get("/dashboard").status_code == 200
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.email == "new@example.test"))
        assert user is not None
        assert user.totp_enabled


def test_logout_ends_the_session(client, state, accounts_by_role, sign_in, csrf_of):
    token = sign_in(accounts_by_role["viewer"])
    page = client.get("/dashboard")
    assert page.status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?reden=uitgelogd"
    assert "__Host-signaal_sessie=" in response.headers["set-cookie"]
    with state.sessions() as session:
        from signaal.chain.sessions import load_session

        assert load_session(session, token, settings=state.settings) is None
    # The old cookie no longer works even if a client kept it.
    client.cookies.set(state.cookies.session_cookie, state.signer.sign_session(token))
    assert client.get("/dashboard").status_code == 303
    assert "logout" in _audit_actions(state)


def test_tampered_cookie_is_refused_cleanly(client, state, accounts_by_role, sign_in):
    token = sign_in(accounts_by_role["viewer"])
    signed = state.signer.sign_session(token)
    tampered = signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")
    client.cookies.set(state.cookies.session_cookie, tampered)
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?reden=invalid")
    assert "kon niet worden gecontroleerd" in client.get(response.headers["location"]).text
    assert "Max-Age=0" in response.headers["set-cookie"] or "expires=" in (
        response.headers["set-cookie"].lower()
    )
    # An unsigned raw token is no better.
    client.cookies.set(state.cookies.session_cookie, token)
    assert client.get("/dashboard").status_code == 303


def test_expired_session_says_so(client, state, accounts_by_role, sign_in):
    token = sign_in(accounts_by_role["viewer"])
    from signaal.chain.sessions import token_hash

    with transaction(state.sessions) as session:
        login_session = session.get(LoginSession, token_hash(token))
        assert login_session is not None
        login_session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?reden=expired")
    page = client.get(response.headers["location"])
    assert "Je sessie is verlopen" in page.text


def test_next_path_is_kept_but_never_offsite(client, accounts_by_role, csrf_of):
    response = client.get("/beheer/audit")
    assert response.headers["location"] == "/login?reden=required&volgende=/beheer/audit"
    page = client.get("/login?volgende=//evil.example/x")
    assert 'value="/dashboard"' in page.text
    page = client.get("/login?volgende=/beheer/audit")
    assert 'value="/beheer/audit"' in page.text


def test_htmx_request_without_login_is_sent_to_the_login_page(client):
    response = client.get("/analyse?zoek=x", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?reden=required"
