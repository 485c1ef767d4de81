"""Role × route → expected status, for every route of the app (and it fails on a route without
an entry, or an entry without a route).

The table is written out by hand (not derived from ``roles.json``), so that a change of a role's
rights or of a route's guard shows up here as a deliberate edit. Each request is a plain, valid
request (CSRF token included, empty form for POSTs): the status says whether the guard let it
through and what the handler did then.

The organisation matrix below it runs every route for every role in every organisation kind the
role fits, against one organisation of each kind with its own analysis: the records of one
organisation never reach another (status, and none of its ids or texts in any answer).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from signaal.chain import accounts, sessions
from signaal.chain.authz import roles
from signaal.settings import load_settings
from signaal.store.db import transaction, upgrade
from signaal.store.models import (
    AuditEvent,
    Case,
    JointControl,
    JointControlPersona,
    Notification,
    OrganisationKind,
    OutreachContact,
    Shelter,
    Subject,
    Task,
    User,
    WatchlistWatch,
)
from signaal.web.app import WebState, create_app
from web.conftest import (
    BASE_URL,
    TEST_AUDIT_KEY,
    TEST_CONTACT_KEY,
    TEST_DATA_KEY,
    TEST_PSEUDONYM_KEY,
    TEST_SECRET,
    Account,
    analysis_rows,
    id_marker,
    make_account,
    store_analysis,
    text_marker,
)
from web.signals_matrix import expected_entries, record_entries, seed_chain_records

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
    "youth_care_worker",
    "shelter_worker",
    "signal_reporter",
    "policy_officer",
    "integration",
)
# The roles of persons (the integration role is for API tokens: no pages, no own account).
PERSONAL = set(ROLES) - {"integration"}
PRINCIPALS = (ANON, PENDING, *ROLES)

ADMINS = {"platform_administrator", "administrator"}
AUDITORS = {"platform_administrator", "administrator"}
ANALYSIS = {"analyst", "care_coordinator", "outreach_worker", "police_officer", "viewer"}
DETAIL = {"analyst", "care_coordinator", "outreach_worker", "police_officer"}
REVEAL = {"analyst", "outreach_worker", "police_officer"}
# Evidence reports of a persona or network (a police file, a case conference).
EVIDENCE = {"analyst", "care_coordinator", "police_officer"}
TRIAGE = {"analyst", "care_coordinator", "outreach_worker", "police_officer"}
# Case work: who may do what, as in docs/roles.md.
CASE_WORKERS = {
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "youth_care_worker",
    "shelter_worker",
}
CASE_READERS = CASE_WORKERS | {"integration"}
TASKS = CASE_WORKERS | {"integration"}
SHELTER_READERS = CASE_WORKERS | {"integration"}
SHELTER_STAFF = {"shelter_worker"}
PLACERS = {"care_coordinator", "outreach_worker", "youth_care_worker", "shelter_worker"}
CONTROLS = {"outreach_worker", "police_officer"}
NO_RECORD = "999999"  # an id no record has: 404 for whoever may do the action at all
CHAIN_DASHBOARD = {"care_coordinator"}
# "Mijn gemeente": counts of the own organisation's analysis for a municipality or region.
LOCAL_PICTURE = {"analyst", "care_coordinator", "policy_officer"}
# Watchlists: the roles that open personas watch personas, networks and contact points.
WATCHLIST = {"analyst", "care_coordinator", "outreach_worker", "police_officer"}


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
    # A token that was never issued: the same answer for everyone, logged in or not.
    ("GET", "/account/activeren/{token}"): ("/account/activeren/" + "x" * 43, same(404)),
    ("POST", "/account/activeren/{token}"): ("/account/activeren/" + "x" * 43, same(404)),
    # Every role changes its own password; the empty form is refused with field errors.
    ("GET", "/account/wachtwoord"): ("/account/wachtwoord", protected(PERSONAL, 200)),
    ("POST", "/account/wachtwoord"): ("/account/wachtwoord", protected(PERSONAL, 422)),
    ("POST", "/logout"): ("/logout", same(303)),
    ("POST", "/taal"): ("/taal", same(303)),
    ("GET", "/dashboard"): ("/dashboard", protected(PERSONAL, 200)),
    ("GET", "/analyse"): ("/analyse", protected(ANALYSIS, 200)),
    ("GET", "/analyse/netwerken/{network_id}/personas"): (
        "/analyse/netwerken/N-1/personas",
        protected(ANALYSIS, 200),
    ),
    # The indicators and their sources, which the explained reasons link to: no person's data.
    ("GET", "/analyse/indicatoren"): ("/analyse/indicatoren", protected(ANALYSIS, 200)),
    # Without a purpose the persona page asks for one first.
    ("GET", "/analyse/personas/{persona_id}"): (
        "/analyse/personas/P-1",
        protected(DETAIL, 200),
    ),
    # Evidence reports: with a purpose the report itself (every organisation with an account
    # has P-1 and N-1); without one, the page that asks for it.
    ("GET", "/analyse/personas/{persona_id}/bewijs.html"): (
        "/analyse/personas/P-1/bewijs.html?doel=protection",
        protected(EVIDENCE, 200),
    ),
    # A photo's thumbnail on the persona page: the roles that open personas.
    ("GET", "/analyse/personas/{persona_id}/fotos/{number}"): (
        "/analyse/personas/P-1/fotos/1",
        protected(DETAIL, 200),
    ),
    ("GET", "/analyse/personas/{persona_id}/bewijs.pdf"): (
        "/analyse/personas/P-1/bewijs.pdf",
        protected(EVIDENCE, 200),
    ),
    ("GET", "/analyse/netwerken/{network_id}/bewijs.html"): (
        "/analyse/netwerken/N-1/bewijs.html",
        protected(EVIDENCE, 200),
    ),
    ("GET", "/analyse/netwerken/{network_id}/bewijs.pdf"): (
        "/analyse/netwerken/N-1/bewijs.pdf?doel=protection",
        protected(EVIDENCE, 200),
    ),
    # The seeded run is the GGD's: its analyst and outreach worker may reveal (the empty form,
    # without a purpose, is refused with 422 before anything is shown); the police officer is of
    # another organisation (reveals themselves: test_web_contacts.py).
    ("POST", "/analyse/runs/{run_id}/contactpunten/{pseudonym}"): (
        "/analyse/runs/{run_id}/contactpunten/phone:0123456789abcdef",
        protected(REVEAL - {"police_officer"}, 422),
    ),
    # The triage queue of the own run; a decision without a chosen decision is refused (422)
    # before anything is stored (every organisation with an account has P-1 and N-1).
    ("GET", "/analyse/triage"): ("/analyse/triage", protected(TRIAGE, 200)),
    ("POST", "/analyse/triage/personas/{persona_id}"): (
        "/analyse/triage/personas/P-1",
        protected(TRIAGE, 422),
    ),
    ("POST", "/analyse/triage/netwerken/{network_id}"): (
        "/analyse/triage/netwerken/N-1",
        protected(TRIAGE, 422),
    ),
    # The own watchlist; watching the own run's persona and network starts a watch (303 to the
    # list). No run holds this contact point: refused like another organisation's (403). A
    # watch that does not exist is not found for whoever may watch at all.
    ("GET", "/volglijst"): ("/volglijst", protected(WATCHLIST, 200)),
    ("POST", "/volglijst/personas/{persona_id}"): (
        "/volglijst/personas/P-1",
        protected(WATCHLIST, 303),
    ),
    ("POST", "/volglijst/netwerken/{network_id}"): (
        "/volglijst/netwerken/N-1",
        protected(WATCHLIST, 303),
    ),
    ("POST", "/volglijst/contactpunten/{pseudonym}"): (
        "/volglijst/contactpunten/phone:0123456789abcdef",
        protected(set(), 403),
    ),
    ("POST", "/volglijst/{watch_id}/stoppen"): (
        f"/volglijst/{NO_RECORD}/stoppen",
        protected(WATCHLIST, 404),
    ),
    ("GET", "/beheer/gebruikers"): ("/beheer/gebruikers", protected(ADMINS, 200)),
    ("POST", "/beheer/gebruikers"): ("/beheer/gebruikers", protected(ADMINS, 422)),
    # A user of the GGD (the organisation of the administrator and the platform administrator);
    # the empty form is refused (422) before anything changes.
    ("POST", "/beheer/gebruikers/{user_id}/status"): (
        "/beheer/gebruikers/{viewer_id}/status",
        protected(ADMINS, 422),
    ),
    # The viewer of the GGD again; without a chosen role or confirmation nothing changes.
    ("POST", "/beheer/gebruikers/{user_id}/rol"): (
        "/beheer/gebruikers/{viewer_id}/rol",
        protected(ADMINS, 422),
    ),
    ("POST", "/beheer/gebruikers/{user_id}/activeringslink"): (
        "/beheer/gebruikers/{viewer_id}/activeringslink",
        protected(ADMINS, 422),
    ),
    ("GET", "/beheer/audit"): ("/beheer/audit", protected(AUDITORS, 200)),
    ("GET", "/api/v1/me"): ("/api/v1/me", protected(PERSONAL, 200, api=True)),
    # The API's description: public, it holds no data.
    ("GET", "/api/v1/openapi.json"): ("/api/v1/openapi.json", same(200)),
    # The coordinator's dashboard (counts only) and its tables as CSV.
    ("GET", "/coordinatie/dashboard"): ("/coordinatie/dashboard", protected(CHAIN_DASHBOARD, 200)),
    ("GET", "/coordinatie/dashboard.csv"): (
        "/coordinatie/dashboard.csv?tabel=fase",
        protected(CHAIN_DASHBOARD, 200),
    ),
    ("GET", "/api/v1/analysis/networks"): (
        "/api/v1/analysis/networks",
        protected(ANALYSIS, 200, api=True),
    ),
    # "Mijn gemeente" of a place of the seeded run (Utrecht), and one of its tables as CSV.
    ("GET", "/mijn-gemeente"): ("/mijn-gemeente?plaats=Utrecht", protected(LOCAL_PICTURE, 200)),
    ("GET", "/mijn-gemeente.csv"): (
        "/mijn-gemeente.csv?plaats=Utrecht&tabel=weken",
        protected(LOCAL_PICTURE, 200),
    ),
    # Signals, subjects, routing, referrals, agreements, emergency access (signals_matrix.py).
    **expected_entries(protected),
    # Case work. Empty forms are refused per field (422); ids no record has answer 404 to
    # whoever may do the action at all, like a record of another organisation.
    ("GET", "/contact/nieuw"): ("/contact/nieuw", protected(CASE_WORKERS, 200)),
    ("POST", "/contact/nieuw"): ("/contact/nieuw", protected(CASE_WORKERS, 422)),
    ("POST", "/contact/{contact_id}/nummer"): (
        f"/contact/{NO_RECORD}/nummer",
        protected(REVEAL, 404),
    ),
    ("GET", "/taken"): ("/taken", protected(TASKS, 200)),
    ("POST", "/taken"): ("/taken", protected(TASKS, 422)),
    ("POST", "/taken/{task_id}/klaar"): (f"/taken/{NO_RECORD}/klaar", protected(TASKS, 404)),
    ("GET", "/meldingen"): ("/meldingen", protected(PERSONAL, 200)),
    ("POST", "/meldingen/{notification_id}/gelezen"): (
        f"/meldingen/{NO_RECORD}/gelezen",
        protected(PERSONAL, 404),
    ),
    ("GET", "/dossiers"): ("/dossiers", protected(CASE_READERS, 200)),
    ("POST", "/dossiers"): ("/dossiers", protected(CASE_WORKERS, 422)),
    ("GET", "/dossiers/{case_id}"): (f"/dossiers/{NO_RECORD}", protected(CASE_READERS, 404)),
    ("POST", "/dossiers/{case_id}/fase"): (
        f"/dossiers/{NO_RECORD}/fase",
        protected(CASE_WORKERS, 404),
    ),
    ("POST", "/dossiers/{case_id}/beoordeling"): (
        f"/dossiers/{NO_RECORD}/beoordeling",
        protected(CASE_WORKERS, 404),
    ),
    ("POST", "/dossiers/{case_id}/aangifte"): (
        f"/dossiers/{NO_RECORD}/aangifte",
        protected(CASE_WORKERS, 404),
    ),
    ("GET", "/opvang"): ("/opvang", protected(SHELTER_READERS, 200)),
    ("POST", "/opvang"): ("/opvang", protected(SHELTER_STAFF, 422)),
    ("POST", "/opvang/{shelter_id}/plaatsen"): (
        f"/opvang/{NO_RECORD}/plaatsen",
        protected(SHELTER_STAFF, 404),
    ),
    ("POST", "/opvang/{shelter_id}/plaatsing"): (
        f"/opvang/{NO_RECORD}/plaatsing",
        protected(PLACERS, 404),
    ),
    ("GET", "/controles"): ("/controles", protected(CONTROLS, 200)),
    ("POST", "/controles"): ("/controles", protected(CONTROLS, 422)),
    ("GET", "/controles/{control_id}"): (f"/controles/{NO_RECORD}", protected(CONTROLS, 404)),
    ("POST", "/controles/{control_id}"): (f"/controles/{NO_RECORD}", protected(CONTROLS, 404)),
    ("POST", "/controles/{control_id}/eigen-deel"): (
        f"/controles/{NO_RECORD}/eigen-deel",
        protected(CONTROLS, 404),
    ),
    # The visit list: an empty form names no control (a field error); a control that does not
    # exist is not found for whoever may manage controls at all.
    ("POST", "/controles/personas"): ("/controles/personas", protected(CONTROLS, 422)),
    ("POST", "/controles/{control_id}/personas/{persona_id}/verwijderen"): (
        f"/controles/{NO_RECORD}/personas/P-1/verwijderen",
        protected(CONTROLS, 404),
    ),
    ("POST", "/controles/{control_id}/personas/{persona_id}/uitkomst"): (
        f"/controles/{NO_RECORD}/personas/P-1/uitkomst",
        protected(CONTROLS, 404),
    ),
    ("GET", "/controles/{control_id}/bezoeklijst"): (
        f"/controles/{NO_RECORD}/bezoeklijst",
        protected(CONTROLS, 404),
    ),
    ("GET", "/controles/{control_id}/bezoeklijst.csv"): (
        f"/controles/{NO_RECORD}/bezoeklijst.csv",
        protected(CONTROLS, 404),
    ),
    ("GET", "/api/v1/cases"): ("/api/v1/cases", protected(CASE_READERS, 200, api=True)),
    ("POST", "/api/v1/cases"): ("/api/v1/cases", protected(CASE_WORKERS, 422, api=True)),
    ("GET", "/api/v1/cases/{case_id}"): (
        f"/api/v1/cases/{NO_RECORD}",
        protected(CASE_READERS, 404, api=True),
    ),
    ("POST", "/api/v1/cases/{case_id}/stage"): (
        f"/api/v1/cases/{NO_RECORD}/stage",
        protected(CASE_WORKERS, 404, api=True),
    ),
    ("GET", "/api/v1/tasks"): ("/api/v1/tasks", protected(TASKS, 200, api=True)),
    ("POST", "/api/v1/tasks"): ("/api/v1/tasks", protected(TASKS, 422, api=True)),
    ("GET", "/api/v1/tasks/{task_id}"): (
        f"/api/v1/tasks/{NO_RECORD}",
        protected(TASKS, 404, api=True),
    ),
    ("POST", "/api/v1/tasks/{task_id}/done"): (
        f"/api/v1/tasks/{NO_RECORD}/done",
        protected(TASKS, 404, api=True),
    ),
    ("GET", "/api/v1/shelters"): ("/api/v1/shelters", protected(SHELTER_READERS, 200, api=True)),
    ("GET", "/api/v1/shelters/{shelter_id}"): (
        f"/api/v1/shelters/{NO_RECORD}",
        protected(SHELTER_READERS, 404, api=True),
    ),
    ("POST", "/api/v1/shelters/{shelter_id}/places"): (
        f"/api/v1/shelters/{NO_RECORD}/places",
        protected(SHELTER_STAFF, 404, api=True),
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


def _submit(client: TestClient, method: str, path: str, csrf: str):  # type: ignore[no-untyped-def]
    """A plain, valid state-changing request: an empty form with its CSRF token on a page, an
    empty JSON object with the token in the header in the API (which takes JSON only)."""
    if path.startswith("/api/"):
        return client.request(method, path, json={}, headers={"X-CSRF-Token": csrf})
    return client.request(method, path, data={"csrf_token": csrf})


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
                    response = _submit(client, method, path, csrf)
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


# ----------------------------------------------------------------------------------------------
# The organisation matrix: route × role × (organisation kind of the actor, of the data's owner)

KINDS = tuple(OrganisationKind)


def for_roles(allowed: set[str], ok: int, refused: int = 403) -> dict[str, int]:
    return {role: ok if role in allowed else refused for role in ROLES}


# Routes whose path names a record: the path for a record of the owning organisation, and the
# status per role when the owner is the actor's own organisation and when it is another one.
# Every route of EXPECTED with a path parameter needs an entry here.
RECORD_ROUTES: dict[tuple[str, str], tuple[str, dict[str, int], dict[str, int]]] = {
    ("GET", "/analyse/netwerken/{network_id}/personas"): (
        "/analyse/netwerken/{network_id}/personas",
        for_roles(ANALYSIS, 200),
        for_roles(set(), 200),
    ),
    # With a purpose: the page that shows the persona's ads.
    ("GET", "/analyse/personas/{persona_id}"): (
        "/analyse/personas/{persona_id}?doel=assess_signal",
        for_roles(DETAIL, 200),
        for_roles(set(), 200),
    ),
    # The reports themselves (the PDF's text is read back for the records and for leaks); one of
    # another organisation's run is refused like an id that exists nowhere.
    ("GET", "/analyse/personas/{persona_id}/bewijs.html"): (
        "/analyse/personas/{persona_id}/bewijs.html?doel=protection",
        for_roles(EVIDENCE, 200),
        for_roles(set(), 200),
    ),
    # The thumbnail of the persona's first photo: another organisation's is refused like a
    # persona that exists nowhere.
    ("GET", "/analyse/personas/{persona_id}/fotos/{number}"): (
        "/analyse/personas/{persona_id}/fotos/1",
        for_roles(DETAIL, 200),
        for_roles(set(), 200),
    ),
    ("GET", "/analyse/personas/{persona_id}/bewijs.pdf"): (
        "/analyse/personas/{persona_id}/bewijs.pdf?doel=protection",
        for_roles(EVIDENCE, 200),
        for_roles(set(), 200),
    ),
    ("GET", "/analyse/netwerken/{network_id}/bewijs.html"): (
        "/analyse/netwerken/{network_id}/bewijs.html?doel=protection",
        for_roles(EVIDENCE, 200),
        for_roles(set(), 200),
    ),
    ("GET", "/analyse/netwerken/{network_id}/bewijs.pdf"): (
        "/analyse/netwerken/{network_id}/bewijs.pdf?doel=protection",
        for_roles(EVIDENCE, 200),
        for_roles(set(), 200),
    ),
    # A viewer of the owner; the empty form is refused (422) before anything changes. Only the
    # platform administrator may manage a user of another organisation.
    # Without a purpose the reveal is refused (422) before anything is shown.
    ("POST", "/analyse/runs/{run_id}/contactpunten/{pseudonym}"): (
        "/analyse/runs/{run_id}/contactpunten/{pseudonym}",
        for_roles(REVEAL, 422),
        for_roles(set(), 403),
    ),
    # A decision on an item of another organisation is refused like an id that exists nowhere.
    ("POST", "/analyse/triage/personas/{persona_id}"): (
        "/analyse/triage/personas/{persona_id}",
        for_roles(TRIAGE, 422),
        for_roles(set(), 403),
    ),
    ("POST", "/analyse/triage/netwerken/{network_id}"): (
        "/analyse/triage/netwerken/{network_id}",
        for_roles(TRIAGE, 422),
        for_roles(set(), 403),
    ),
    # Watching an item of the own run starts a watch; one of another organisation is refused
    # like an id that exists nowhere. The contact point is in no run: refused for both.
    ("POST", "/volglijst/personas/{persona_id}"): (
        "/volglijst/personas/{persona_id}",
        for_roles(WATCHLIST, 303),
        for_roles(set(), 403),
    ),
    ("POST", "/volglijst/netwerken/{network_id}"): (
        "/volglijst/netwerken/{network_id}",
        for_roles(WATCHLIST, 303),
        for_roles(set(), 403),
    ),
    ("POST", "/volglijst/contactpunten/{pseudonym}"): (
        "/volglijst/contactpunten/{pseudonym}",
        for_roles(set(), 403),
        for_roles(set(), 403),
    ),
    # The seeded watch is the organisation's viewer's: nobody else stops it, in the own
    # organisation or another (not found, as a watch that does not exist).
    ("POST", "/volglijst/{watch_id}/stoppen"): (
        "/volglijst/{watch_id}/stoppen",
        for_roles(WATCHLIST, 404),
        for_roles(WATCHLIST, 404),
    ),
    ("POST", "/beheer/gebruikers/{user_id}/status"): (
        "/beheer/gebruikers/{user_id}/status",
        for_roles(ADMINS, 422),
        for_roles({"platform_administrator"}, 422),
    ),
    ("POST", "/beheer/gebruikers/{user_id}/rol"): (
        "/beheer/gebruikers/{user_id}/rol",
        for_roles(ADMINS, 422),
        for_roles({"platform_administrator"}, 422),
    ),
    ("POST", "/beheer/gebruikers/{user_id}/activeringslink"): (
        "/beheer/gebruikers/{user_id}/activeringslink",
        for_roles(ADMINS, 422),
        for_roles({"platform_administrator"}, 422),
    ),
    # A link that was never issued: the same answer for every role, of every organisation.
    ("GET", "/account/activeren/{token}"): (
        "/account/activeren/{token}",
        for_roles(set(), 404, 404),
        for_roles(set(), 404, 404),
    ),
    ("POST", "/account/activeren/{token}"): (
        "/account/activeren/{token}",
        for_roles(set(), 404, 404),
        for_roles(set(), 404, 404),
    ),
    **record_entries(for_roles),
    # Case work: the own organisation's record, and another organisation's (404 to whoever may
    # do the action at all). Shelters are a directory without persons: placing someone in
    # another organisation's shelter is the point, so that answers the same for both.
    ("POST", "/contact/{contact_id}/nummer"): (
        "/contact/{contact_id}/nummer",
        for_roles(REVEAL, 422),
        for_roles(REVEAL, 404),
    ),
    ("POST", "/taken/{task_id}/klaar"): (
        "/taken/{task_id}/klaar",
        for_roles(TASKS, 422),
        for_roles(TASKS, 404),
    ),
    # Notifications are the user's own: another user's (here: of no user) is not found.
    ("POST", "/meldingen/{notification_id}/gelezen"): (
        "/meldingen/{notification_id}/gelezen",
        for_roles(PERSONAL, 404),
        for_roles(PERSONAL, 404),
    ),
    ("GET", "/dossiers/{case_id}"): (
        "/dossiers/{case_id}",
        for_roles(CASE_READERS, 200),
        for_roles(CASE_READERS, 404),
    ),
    ("POST", "/dossiers/{case_id}/fase"): (
        "/dossiers/{case_id}/fase",
        for_roles(CASE_WORKERS, 422),
        for_roles(CASE_WORKERS, 404),
    ),
    # An empty assessment is one of "unknown" for every factor: it is recorded.
    ("POST", "/dossiers/{case_id}/beoordeling"): (
        "/dossiers/{case_id}/beoordeling",
        for_roles(CASE_WORKERS, 303),
        for_roles(CASE_WORKERS, 404),
    ),
    ("POST", "/dossiers/{case_id}/aangifte"): (
        "/dossiers/{case_id}/aangifte",
        for_roles(CASE_WORKERS, 422),
        for_roles(CASE_WORKERS, 404),
    ),
    ("POST", "/opvang/{shelter_id}/plaatsen"): (
        "/opvang/{shelter_id}/plaatsen",
        for_roles(SHELTER_STAFF, 422),
        for_roles(SHELTER_STAFF, 404),
    ),
    ("POST", "/opvang/{shelter_id}/plaatsing"): (
        "/opvang/{shelter_id}/plaatsing",
        for_roles(PLACERS, 422),
        for_roles(PLACERS, 422),
    ),
    ("GET", "/controles/{control_id}"): (
        "/controles/{control_id}",
        for_roles(CONTROLS, 200),
        for_roles(CONTROLS, 404),
    ),
    ("POST", "/controles/{control_id}"): (
        "/controles/{control_id}",
        for_roles(CONTROLS, 422),
        for_roles(CONTROLS, 404),
    ),
    # Empty own notes are a valid (empty) own part.
    ("POST", "/controles/{control_id}/eigen-deel"): (
        "/controles/{control_id}/eigen-deel",
        for_roles(CONTROLS, 303),
        for_roles(CONTROLS, 404),
    ),
    # The seeded control's visit list holds the organisation's persona with an outcome: it
    # stays on the list (409); an empty outcome form is refused per field (422).
    ("POST", "/controles/{control_id}/personas/{persona_id}/verwijderen"): (
        "/controles/{control_id}/personas/{persona_id}/verwijderen",
        for_roles(CONTROLS, 409),
        for_roles(CONTROLS, 404),
    ),
    ("POST", "/controles/{control_id}/personas/{persona_id}/uitkomst"): (
        "/controles/{control_id}/personas/{persona_id}/uitkomst",
        for_roles(CONTROLS, 422),
        for_roles(CONTROLS, 404),
    ),
    ("GET", "/controles/{control_id}/bezoeklijst"): (
        "/controles/{control_id}/bezoeklijst",
        for_roles(CONTROLS, 200),
        for_roles(CONTROLS, 404),
    ),
    ("GET", "/controles/{control_id}/bezoeklijst.csv"): (
        "/controles/{control_id}/bezoeklijst.csv",
        for_roles(CONTROLS, 200),
        for_roles(CONTROLS, 404),
    ),
    ("GET", "/api/v1/cases/{case_id}"): (
        "/api/v1/cases/{case_id}",
        for_roles(CASE_READERS, 200),
        for_roles(CASE_READERS, 404),
    ),
    ("POST", "/api/v1/cases/{case_id}/stage"): (
        "/api/v1/cases/{case_id}/stage",
        for_roles(CASE_WORKERS, 422),
        for_roles(CASE_WORKERS, 404),
    ),
    ("GET", "/api/v1/tasks/{task_id}"): (
        "/api/v1/tasks/{task_id}",
        for_roles(TASKS, 200),
        for_roles(TASKS, 404),
    ),
    # Done is idempotent: the second worker of the organisation gets the done task again.
    ("POST", "/api/v1/tasks/{task_id}/done"): (
        "/api/v1/tasks/{task_id}/done",
        for_roles(TASKS, 200),
        for_roles(TASKS, 404),
    ),
    ("GET", "/api/v1/shelters/{shelter_id}"): (
        "/api/v1/shelters/{shelter_id}",
        for_roles(SHELTER_READERS, 200),
        for_roles(SHELTER_READERS, 200),
    ),
    ("POST", "/api/v1/shelters/{shelter_id}/places"): (
        "/api/v1/shelters/{shelter_id}/places",
        for_roles(SHELTER_STAFF, 422),
        for_roles(SHELTER_STAFF, 404),
    ),
}

# Routes that show the own organisation's analysis to these roles (the own ids must be there).
SHOWS_OWN_ANALYSIS: dict[tuple[str, str], set[str]] = {
    ("GET", "/dashboard"): ANALYSIS,
    ("GET", "/analyse"): ANALYSIS,
    ("GET", "/api/v1/analysis/networks"): ANALYSIS,
}

# The audit log names records that its readers' users tried to open (also other
# organisations' ids, refused): there only the texts of other organisations must never appear.
IDS_MAY_APPEAR_IN = {("GET", "/beheer/audit")}
# The shelter directory holds no data about persons and is the same for every organisation: its
# records carry no text marker (that would count as a leak elsewhere), so none is looked for.
DIRECTORY_ROUTES = {("GET", "/api/v1/shelters/{shelter_id}")}
# Images: no text marker to look for; their answer must be the image itself.
IMAGE_ROUTES = {("GET", "/analyse/personas/{persona_id}/fotos/{number}")}
# The visit list's CSV holds ids, places, times and codes of the own records, none of their texts
# (it is checked for other organisations' ids and texts like every answer).
NO_TEXT_ROUTES = {("GET", "/controles/{control_id}/bezoeklijst.csv")}


def seed_casework(session: Session, organisation_id: int, tag: str) -> dict[str, str]:
    """One record of each case-work kind of an organisation, its texts tagged (the shelter's
    name is not: the directory is everyone's)."""
    subject = Subject(organisation_id=organisation_id, alias=f"Persoon {text_marker(tag)}")
    session.add(subject)
    session.flush()
    case = Case(organisation_id=organisation_id, subject_id=subject.id)
    contact = OutreachContact(
        organisation_id=organisation_id,
        kind="street",
        at=datetime.now(UTC),
        outcome=text_marker(tag),
        phone_pseudonym="phone:0123456789abcdef",
        phone_sealed="v1.not-opened-without-a-purpose",
        phone_masked="06-•••••78",
    )
    task = Task(
        organisation_id=organisation_id,
        title=f"Taak {text_marker(tag)}",
        due_at=datetime.now(UTC) + timedelta(days=1),
    )
    shelter = Shelter(
        organisation_id=organisation_id, name=f"Opvang {tag}", capacity=3, available_places=1
    )
    control = JointControl(
        organisation_id=organisation_id,
        partner_organisation_id=organisation_id,
        planned_at=datetime.now(UTC) + timedelta(days=2),
        location=text_marker(tag),
    )
    notification = Notification(
        organisation_id=organisation_id, kind="task_due", text=text_marker(tag), role="nobody"
    )
    session.add_all([case, contact, task, shelter, control, notification])
    session.flush()
    # The organisation's persona on the control's visit list, its visit recorded.
    session.add(
        JointControlPersona(
            control_id=control.id,
            persona_id=f"P{id_marker(tag)}",
            run_id=0,
            outcome="met",
            outcome_organisation_id=organisation_id,
        )
    )
    session.flush()
    return {
        "case_id": str(case.id),
        "contact_id": str(contact.id),
        "task_id": str(task.id),
        "shelter_id": str(shelter.id),
        "control_id": str(control.id),
        "notification_id": str(notification.id),
    }


def seed_watch(session: Session, organisation_id: int, user_id: int) -> str:
    """A watch of a user of the organisation on its persona (the path parameter ``watch_id``)."""
    watch = WatchlistWatch(
        organisation_id=organisation_id, user_id=user_id, kind="persona", item_id="P-1"
    )
    session.add(watch)
    session.flush()
    return str(watch.id)


def _tag(kind: OrganisationKind) -> str:
    return f"org{KINDS.index(kind)}"


@dataclass
class Principal:
    account: Account
    kind: OrganisationKind


@dataclass
class World:
    app: FastAPI
    state: WebState
    organisations: dict[OrganisationKind, int]
    viewers: dict[OrganisationKind, int]  # a user id of a viewer per organisation
    principals: list[Principal]
    runs: dict[OrganisationKind, int]  # the analysis run of each organisation
    # The chain records of each organisation, as path parameters (signal_id, case_id, ...).
    chain_ids: dict[OrganisationKind, dict[str, str]]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One app, seeded once: an organisation of every kind, each with its own analysis run
    (ids and texts tagged with the organisation), and an account for every role in every
    organisation kind the role fits."""
    from conftest import create_postgres_database, drop_postgres_database

    folder = tmp_path_factory.mktemp("organisation-matrix")
    if request.param == "sqlite":
        url = f"sqlite:///{(folder / 'signaal.db').as_posix()}"
    else:
        url = create_postgres_database()
    upgrade(url)
    settings = load_settings(
        env="test",
        database_url=url,
        data_dir=Path(folder) / "data",
        secret_key=TEST_SECRET,
        pseudonym_key=TEST_PSEUDONYM_KEY,
        audit_key=TEST_AUDIT_KEY,
        contact_key=TEST_CONTACT_KEY,
        data_key=TEST_DATA_KEY,
    )
    app = create_app(settings)
    state: WebState = app.state.web
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        accounts._dummy_hash.cache_clear()
        organisations: dict[OrganisationKind, int] = {}
        viewers: dict[OrganisationKind, int] = {}
        principals: list[Principal] = []
        runs: dict[OrganisationKind, int] = {}
        chain_ids: dict[OrganisationKind, dict[str, str]] = {}
        with transaction(state.sessions) as session:
            receiver = accounts.create_organisation(
                session, name="Ontvanger zonder accounts", kind=OrganisationKind.SHELTER
            )
            for kind in KINDS:
                organisation = accounts.create_organisation(
                    session, name=f"Organisatie {kind.value}", kind=kind
                )
                organisations[kind] = organisation.id
                runs[kind] = store_analysis(
                    session, settings, organisation.id, analysis_rows(_tag(kind), with_photo=True)
                )
                for role, definition in roles().items():
                    if not definition.fits(kind):
                        continue
                    account = make_account(
                        session, role, organisation, f"{role}.{kind.value}@matrix.example.test"
                    )
                    if role == "viewer":
                        viewers[kind] = account.user_id
                    principals.append(Principal(account, kind))
                chain_ids[kind] = {
                    **seed_chain_records(
                        session,
                        organisation,
                        viewers[kind],
                        receiver,
                        text_marker(_tag(kind)),
                        TEST_PSEUDONYM_KEY,
                        TEST_CONTACT_KEY,
                    ),
                    **seed_casework(session, organisation.id, _tag(kind)),
                    "watch_id": seed_watch(session, organisation.id, viewers[kind]),
                }
    accounts._dummy_hash.cache_clear()
    try:
        yield World(app, state, organisations, viewers, principals, runs, chain_ids)
    finally:
        state.engine.dispose()
        if request.param != "sqlite":
            drop_postgres_database(url)


def _as(client: TestClient, world: World, principal: Principal) -> str:
    """Make ``client`` act as ``principal`` in a new, complete login session; returns the CSRF
    token to send."""
    with transaction(world.state.sessions) as session:
        user = session.get(User, principal.account.user_id)
        assert user is not None
        token = sessions.create_session(
            session,
            user,
            ip="testclient",
            user_agent="pytest",
            second_factor_done=True,
            settings=world.state.settings,
        )
    client.cookies.clear()
    client.cookies.set(world.state.cookies.session_cookie, world.state.signer.sign_session(token))
    return world.state.signer.csrf_token(token, kind="session")


def _leaks(
    body: str, own: OrganisationKind, *, ids: bool, requested: str | None = None
) -> list[str]:
    """The other organisations whose ids (if ``ids``) or texts appear in ``body``; the id the
    request itself named (``requested``, which a page may repeat) does not count."""
    if requested:
        body = body.replace(requested, "")
    found = []
    for kind in KINDS:
        if kind is own:
            continue
        markers = [text_marker(_tag(kind))] + ([id_marker(_tag(kind))] if ids else [])
        found += [f"{kind.value}: {marker!r}" for marker in markers if marker in body]
    return found


def test_every_route_with_a_path_parameter_has_an_organisation_entry() -> None:
    with_parameters = {key for key in EXPECTED if "{" in key[1]}
    assert with_parameters == set(RECORD_ROUTES), (
        "routes that name a record need an entry in RECORD_ROUTES (own and other organisation)"
    )


def test_accounts_exist_only_in_organisation_kinds_their_role_fits(world: World) -> None:
    for principal in world.principals:
        assert roles()[principal.account.role].fits(principal.kind)
    # Every role and every kind is in the matrix at least once.
    assert {p.account.role for p in world.principals} == set(ROLES)
    assert {p.kind for p in world.principals} == set(KINDS)


@dataclass
class _Visit:
    """The requests of one principal in the organisation matrix, collecting every mismatch."""

    client: TestClient
    csrf: str
    principal: Principal
    mismatches: list[str]

    @property
    def who(self) -> str:
        return f"{self.principal.account.role} @ {self.principal.kind.value}"

    def check(
        self,
        method: str,
        path: str,
        expected: int,
        *,
        label: str,
        ids: bool = True,
        requested: str | None = None,
    ) -> str:
        """Request ``path``; record a wrong status or another organisation's data in the answer.
        Returns the body without the id the request named."""
        if method == "GET":
            response = self.client.get(path)
        else:
            response = _submit(self.client, method, path, self.csrf)
        if response.status_code != expected:
            self.fail(f"{label}: expected {expected}, got {response.status_code}")
        # A PDF's text is compressed in its bytes: read it back, so that a leak would be seen.
        text = (
            _pdf_text(response.content)
            if response.headers.get("content-type") == "application/pdf"
            else response.text
        )
        body = text.replace(requested, "") if requested else text
        leaks = _leaks(body, self.principal.kind, ids=ids)
        if leaks:
            self.fail(f"{label}: shows {', '.join(leaks)}")
        return body

    def fail(self, message: str) -> None:
        self.mismatches.append(f"{self.who:40} {message}")


# Every (role, organisation kind) the role fits: one test each, so that the matrix spreads over
# the test workers (pytest-xdist) instead of running as one long test.
MATRIX_PRINCIPALS = [
    (role, kind) for kind in KINDS for role, definition in roles().items() if definition.fits(kind)
]


def test_the_organisation_matrix_has_every_principal(world: World) -> None:
    assert sorted((p.account.role, p.kind.value) for p in world.principals) == sorted(
        (role, kind.value) for role, kind in MATRIX_PRINCIPALS
    )


@pytest.mark.parametrize(
    ("role", "kind"), MATRIX_PRINCIPALS, ids=[f"{r}@{k.value}" for r, k in MATRIX_PRINCIPALS]
)
def test_organisation_matrix(world: World, role: str, kind: OrganisationKind) -> None:
    """No record crosses an organisation: for this principal, every record route against the
    records of every organisation kind, and every other route with all organisations' data in
    the store."""
    mismatches: list[str] = []
    others = sorted(
        (entry for entry in EXPECTED.items() if entry[0] not in RECORD_ROUTES),
        key=lambda item: (item[0] == ("POST", "/logout"), item[0]),
    )
    principal = next(p for p in world.principals if p.account.role == role and p.kind is kind)
    with TestClient(world.app, base_url=BASE_URL, follow_redirects=False) as client:
        visit = _Visit(client, _as(client, world, principal), principal, mismatches)
        own = principal.kind
        for (method, template), (path, own_status, other_status) in RECORD_ROUTES.items():
            # The record the path names is its last parameter (a run's contact point), except
            # a photo's number on its persona's page.
            parameter = [
                found for found in re.finditer(r"\{(\w+)\}", template) if found.group(1) != "number"
            ][-1]
            for owner in KINDS:
                tag = _tag(owner)
                named = {
                    "network_id": f"N{id_marker(tag)}",
                    "persona_id": f"P{id_marker(tag)}",
                    "user_id": str(world.viewers[owner]),
                    "token": "x" * 43,
                    "run_id": str(world.runs[owner]),
                    "pseudonym": "phone:0123456789abcdef",
                    **world.chain_ids[owner],
                }
                expected = (own_status if owner is own else other_status)[role]
                body = visit.check(
                    method,
                    path.format(**named),
                    expected,
                    label=f"{template} of {owner.value}",
                    requested=named[parameter.group(1)],
                )
                shows_records = (
                    method == "GET"
                    and expected == 200
                    and owner is own
                    and (method, template) not in DIRECTORY_ROUTES | IMAGE_ROUTES | NO_TEXT_ROUTES
                )
                if shows_records and text_marker(tag) not in body:
                    visit.fail(f"{template}: the own records are missing")
        for (method, template), (path, expected_by_principal) in others:
            body = visit.check(
                method,
                path.format(viewer_id=world.viewers[own]),
                expected_by_principal[role],
                label=template,
                ids=(method, template) not in IDS_MAY_APPEAR_IN,
            )
            shows_own = role in SHOWS_OWN_ANALYSIS.get((method, template), set())
            if shows_own and id_marker(_tag(own)) not in body:
                visit.fail(f"{template}: the own analysis is missing")
    assert not mismatches, "organisation matrix mismatches:\n" + "\n".join(mismatches)


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


BAD_PATH_PARAMETERS = {
    "nul": "P%00-1",
    "only a nul": "%00",
    "control character": "P-1%01",
    "escape": "%1b%5b31m",
    "too long": "P" * 300,
}


@pytest.mark.parametrize("bad", sorted(BAD_PATH_PARAMETERS))
def test_absurd_path_parameters_are_not_found_on_every_backend(world: World, bad: str) -> None:
    """A NUL in a persona id was a 500 on PostgreSQL; now every such path parameter is a 404
    (the same on SQLite), before any query."""
    value = BAD_PATH_PARAMETERS[bad]
    principal = next(
        p
        for p in world.principals
        if p.account.role == "platform_administrator" and p.kind is OrganisationKind.POLICE
    )
    analyst = next(
        p
        for p in world.principals
        if p.account.role == "analyst" and p.kind is OrganisationKind.POLICE
    )
    with TestClient(world.app, base_url=BASE_URL, follow_redirects=False) as client:
        csrf = _as(client, world, analyst)
        for path in (
            f"/analyse/personas/{value}?doel=assess_signal",
            f"/analyse/personas/{value}",
            f"/analyse/netwerken/{value}/personas",
        ):
            response = client.get(path)
            assert response.status_code == 404, (path, response.status_code)
        csrf = _as(client, world, principal)
        response = client.post(f"/beheer/gebruikers/{value}/status", data={"csrf_token": csrf})
        assert response.status_code == 404
        assert re.search(r"Traceback|psycopg|sqlalchemy", response.text) is None


def test_a_record_of_another_organisation_looks_like_no_record_and_is_audited(
    world: World,
) -> None:
    """The pen test: accounts of other organisations (a housing corporation's, an outreach
    worker's) opened a police force's persona. A housing corporation has no role that opens
    personas any more (roles.json); an outreach worker still has, for her own organisation's
    runs. The persona of another organisation gets the same answer as an id that exists nowhere,
    and the attempt is in the audit log."""
    outsider = next(
        p
        for p in world.principals
        if p.account.role == "outreach_worker" and p.kind is OrganisationKind.OUTREACH
    )
    police_persona = f"P{id_marker(_tag(OrganisationKind.POLICE))}"
    with world.state.sessions() as session:
        before = session.scalar(select(func.max(AuditEvent.seq))) or 0
    answers = {}
    with TestClient(world.app, base_url=BASE_URL, follow_redirects=False) as client:
        _as(client, world, outsider)
        for persona_id in (police_persona, "P-1-nowhere"):
            response = client.get(f"/analyse/personas/{persona_id}?doel=assess_signal")
            answers[persona_id] = (response.status_code, response.text.replace(persona_id, "ID"))
        api = client.get("/api/v1/analysis/networks").json()
    assert answers[police_persona] == answers["P-1-nowhere"]
    assert answers[police_persona][0] == 403
    assert text_marker(_tag(OrganisationKind.POLICE)) not in answers[police_persona][1]
    assert api["run"]["organisation_id"] == world.organisations[OrganisationKind.OUTREACH]
    assert {n["network_id"] for n in api["networks"]} == {
        f"N{id_marker(_tag(OrganisationKind.OUTREACH))}"
    }
    with world.state.sessions() as session:
        denied = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "access.denied", AuditEvent.record_id == police_persona)
            .where(AuditEvent.actor_email == outsider.account.email, AuditEvent.seq > before)
        ).all()
    assert len(denied) == 1
    assert denied[0].organisation_id == world.organisations[OrganisationKind.OUTREACH]


def test_the_local_picture_is_of_the_own_organisations_run_only(world: World) -> None:
    """Every organisation has a run with the same counts, so the figures cannot tell them apart:
    the download's name and the audit events name the run that was read, which must be the
    actor's own organisation's for every principal whose role has ``local.picture``."""
    mismatches: list[str] = []
    with world.state.sessions() as session:
        before = session.scalar(select(func.max(AuditEvent.seq))) or 0
    readers = [p for p in world.principals if p.account.role in LOCAL_PICTURE]
    assert {p.kind for p in readers} >= {
        OrganisationKind.POLICE,
        OrganisationKind.MUNICIPALITY,
        OrganisationKind.GGD,
    }
    with TestClient(world.app, base_url=BASE_URL, follow_redirects=False) as client:
        for principal in readers:
            _as(client, world, principal)
            own_run = world.runs[principal.kind]
            page = client.get("/mijn-gemeente?plaats=Utrecht")
            answer = client.get("/mijn-gemeente.csv?plaats=Utrecht&tabel=weken")
            who = f"{principal.account.role} @ {principal.kind.value}"
            if page.status_code != 200 or answer.status_code != 200:
                mismatches.append(f"{who}: {page.status_code}, {answer.status_code}")
                continue
            disposition = answer.headers["content-disposition"]
            if not disposition.endswith(f'-run{own_run}.csv"'):
                mismatches.append(f"{who}: downloaded {disposition}, own run is {own_run}")
            leaks = _leaks(page.text + answer.text, principal.kind, ids=True)
            if leaks:
                mismatches.append(f"{who}: shows {', '.join(leaks)}")
    with world.state.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.seq > before,
                AuditEvent.action.in_(("local_picture.viewed", "local_picture.exported")),
            )
        ).all()
    by_email = {p.account.email: world.runs[p.kind] for p in readers}
    assert len(events) == 2 * len(readers)
    mismatches += [
        f"{event.actor_email}: {event.action} of run {event.record_id}"
        for event in events
        if event.record_id != str(by_email[event.actor_email or ""])
    ]
    assert not mismatches, "local picture mismatches:\n" + "\n".join(mismatches)
