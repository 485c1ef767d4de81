"""Role × route → expected status, for every route of the app (and it fails on a route without
an entry, or an entry without a route).

The table is written out by hand (not derived from ``roles.json``), so that a change of a role's
rights or of a route's guard shows up here as a deliberate edit. Each request is a plain, valid
request (CSRF token included, empty form for POSTs): the status says whether the guard let it
through and what the handler did then.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from signaal.chain import sessions
from signaal.chain.authz import roles
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, User

ANON = "anonymous"
PENDING = "pending"  # password given, second factor not yet
ROLES = (
    "platform_administrator",
    "administrator",
    "analyst",
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "viewer",
)
PRINCIPALS = (ANON, PENDING, *ROLES)

ADMINS = {"platform_administrator", "administrator"}
AUDITORS = {"platform_administrator", "administrator"}
ANALYSIS = {"analyst", "care_coordinator", "outreach_worker", "police_officer", "viewer"}
DETAIL = {"analyst", "care_coordinator", "outreach_worker", "police_officer"}
REVEAL = {"analyst", "outreach_worker", "police_officer"}


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(PRINCIPALS, status)


def protected(allowed: set[str], ok: int, *, api: bool = False) -> dict[str, int]:
    """Anonymous and pending logins are sent to log in (401 in the API); roles outside
    ``allowed`` get 403; roles inside get ``ok``."""
    expected = {ANON: 401 if api else 303, PENDING: 401 if api else 303}
    for role in ROLES:
        expected[role] = ok if role in allowed else 403
    return expected


def logged_in(ok: int, *, anonymous: int, pending: int) -> dict[str, int]:
    return {ANON: anonymous, PENDING: pending, **dict.fromkeys(ROLES, ok)}


# (method, path template) -> the concrete path requested and the expected status per principal.
EXPECTED: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
    ("GET", "/"): ("/", same(303)),
    ("GET", "/healthz"): ("/healthz", same(200)),
    ("GET", "/static"): ("/static/css/app.css", same(200)),
    ("GET", "/login"): ("/login", logged_in(303, anonymous=200, pending=200)),
    # Public form; an empty submission is refused with field errors.
    ("POST", "/login"): ("/login", same(422)),
    ("GET", "/login/tweede-factor"): (
        "/login/tweede-factor",
        logged_in(303, anonymous=303, pending=200),
    ),
    ("POST", "/login/tweede-factor"): (
        "/login/tweede-factor",
        logged_in(303, anonymous=303, pending=422),
    ),
    # Logged-in users with a second factor see its status; the pending user has one already
    # and is sent on to enter the code.
    ("GET", "/account/tweede-factor"): (
        "/account/tweede-factor",
        logged_in(200, anonymous=303, pending=303),
    ),
    ("POST", "/account/tweede-factor"): (
        "/account/tweede-factor",
        logged_in(303, anonymous=303, pending=303),
    ),
    ("POST", "/logout"): ("/logout", same(303)),
    ("POST", "/taal"): ("/taal", same(303)),
    ("GET", "/dashboard"): ("/dashboard", protected(set(ROLES), 200)),
    ("GET", "/analyse"): ("/analyse", protected(ANALYSIS, 200)),
    ("GET", "/analyse/netwerken/{network_id}/personas"): (
        "/analyse/netwerken/N-1/personas",
        protected(ANALYSIS, 200),
    ),
    # Without a purpose the persona page asks for one first.
    ("GET", "/analyse/personas/{persona_id}"): (
        "/analyse/personas/P-1",
        protected(DETAIL, 200),
    ),
    # The seeded run belongs to an organisation none of the principals is in: the roles that may
    # reveal contact points are refused too (own-organisation reveals: test_web_contacts.py).
    ("POST", "/analyse/runs/{run_id}/contactpunten/{pseudonym}"): (
        "/analyse/runs/{run_id}/contactpunten/phone:0123456789abcdef",
        protected(REVEAL, 403),
    ),
    ("GET", "/beheer/gebruikers"): ("/beheer/gebruikers", protected(ADMINS, 200)),
    ("POST", "/beheer/gebruikers"): ("/beheer/gebruikers", protected(ADMINS, 422)),
    # A user of the GGD (the organisation of the administrator and the platform administrator);
    # the empty form is refused (422) before anything changes.
    ("POST", "/beheer/gebruikers/{user_id}/status"): (
        "/beheer/gebruikers/{viewer_id}/status",
        protected(ADMINS, 422),
    ),
    ("GET", "/beheer/audit"): ("/beheer/audit", protected(AUDITORS, 200)),
    ("GET", "/api/v1/me"): ("/api/v1/me", protected(set(ROLES), 200, api=True)),
    ("GET", "/api/v1/analysis/networks"): (
        "/api/v1/analysis/networks",
        protected(ANALYSIS, 200, api=True),
    ),
}


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.update((method, route.path) for method in route.methods)
        elif isinstance(route, Mount):
            found.add(("GET", route.path))
        else:
            found.add(("?", str(getattr(route, "path", route))))
    return found


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    routes = app_routes(app)
    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)
    assert not missing, f"routes without an entry in the access matrix: {missing}"
    assert not stale, f"matrix entries for routes that do not exist: {stale}"


def test_the_matrix_knows_every_role():
    assert set(ROLES) == set(roles()), "a role was added or removed: extend the access matrix"


def _client_for(app, state, principal, accounts_by_role):  # type: ignore[no-untyped-def]
    """A fresh client logged in as ``principal``, and the CSRF token it should send."""
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    if principal == ANON:
        client.get("/healthz")  # receives the pre-session cookie
        cookie = client.cookies.get(state.cookies.pre_session_cookie)
        nonce = state.signer.unsign_pre_session(cookie)
        return client, state.signer.csrf_token(nonce, kind="pre")
    account = accounts_by_role["analyst" if principal == PENDING else principal]
    with transaction(state.sessions) as session:
        user = session.get(User, account.user_id)
        token = sessions.create_session(
            session,
            user,
            ip="testclient",
            user_agent="pytest",
            second_factor_done=principal != PENDING,
            settings=state.settings,
        )
    client.cookies.set(state.cookies.session_cookie, state.signer.sign_session(token))
    return client, state.signer.csrf_token(token, kind="session")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_access_matrix(app, state, accounts_by_role, seeded_analysis):
    mismatches: list[str] = []
    # Logging out ends the session: it goes last for each principal.
    entries = sorted(EXPECTED.items(), key=lambda item: (item[0] == ("POST", "/logout"), item[0]))
    for principal in PRINCIPALS:
        client, csrf = _client_for(app, state, principal, accounts_by_role)
        with client:
            for (method, template), (path_template, expected) in entries:
                path = path_template.format(
                    viewer_id=accounts_by_role["viewer"].user_id, run_id=seeded_analysis
                )
                if method == "GET":
                    response = client.get(path)
                else:
                    response = client.request(method, path, data={"csrf_token": csrf})
                if response.status_code != expected[principal]:
                    mismatches.append(
                        f"{principal:24} {method:4} {template}: expected {expected[principal]}, "
                        f"got {response.status_code}"
                    )
    assert not mismatches, "access matrix mismatches:\n" + "\n".join(mismatches)


def test_refused_access_is_audited(client, state, accounts_by_role, sign_in):
    sign_in(accounts_by_role["viewer"])
    assert client.get("/beheer/audit").status_code == 403
    with state.sessions() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    assert event.action == "access.denied"
    assert event.actor_email == accounts_by_role["viewer"].email
    assert "/beheer/audit" in event.details
