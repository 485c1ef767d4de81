"""Security headers, cookies and CSRF protection of the web app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signaal.settings import load_settings
from signaal.web.app import create_app

EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/css/app.css", "/nergens"])
def test_security_headers_on_every_kind_of_response(client, path):
    response = client.get(path)
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["strict-transport-security"].startswith("max-age=")
    if not path.startswith("/static/"):
        assert response.headers["cache-control"] == "no-store"


def test_no_hsts_and_no_secure_cookie_in_development(tmp_path, migrated_url):
    settings = load_settings(env="development", database_url=migrated_url, data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.get("/login")
    app.state.web.engine.dispose()
    assert "strict-transport-security" not in response.headers
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("signaal_pre=")
    assert "secure" not in cookie.lower()
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()


def test_pages_have_no_inline_scripts_or_styles(client):
    html = client.get("/login").text
    assert "<script>" not in html
    assert "<style" not in html
    assert 'style="' not in html
    assert " on" + "click=" not in html
    assert '<script src="/static/vendor/htmx.min.js?v=' in html


def test_csrf_missing_or_wrong_is_refused_with_a_friendly_page(
    client, state, accounts_by_role, sign_in
):
    token = sign_in(accounts_by_role["viewer"])
    missing = client.post("/logout")
    assert missing.status_code == 403
    assert "Formulier verlopen" in missing.text
    wrong = client.post("/logout", data={"csrf_token": "0" * 64})
    assert wrong.status_code == 403
    # A token of another session (or of the pre-session) does not fit this session.
    other = state.signer.csrf_token("another-session-token", kind="session")
    assert client.post("/logout", data={"csrf_token": other}).status_code == 403
    # The session is still alive after the refusals.
    assert client.get("/dashboard").status_code == 200
    # htmx sends the token as a header.
    good = state.signer.csrf_token(token, kind="session")
    assert client.post("/logout", headers={"X-CSRF-Token": good}).status_code == 303


def test_login_form_needs_its_pre_session_token(client, accounts_by_role):
    analyst = accounts_by_role["analyst"]
    response = client.post("/login", data={"email": analyst.email, "password": analyst.password})
    assert response.status_code == 403
    assert "sessie" not in response.headers.get("set-cookie", "")


def test_oversized_form_is_refused(client, csrf_of):
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"csrf_token": token, "email": "a@b.nl", "password": "x" * 300_000}
    )
    assert response.status_code == 413
    assert "Te veel gegevens" in response.text


def test_vendored_htmx_matches_the_lock(client):
    import hashlib
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads(
        (root / "src/signaal/web/static/vendor/manifest.json").read_text(encoding="utf-8")
    )
    entry = manifest["htmx.min.js"]
    assert entry["version"] == lock["packages"]["node_modules/htmx.org"]["version"]
    served = client.get("/static/vendor/htmx.min.js")
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == entry["sha256"]
