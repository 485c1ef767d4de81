"""Watchlists end to end: a user watches a persona, a network and a contact point from their
pages; a second stored run gives alerts in the app (the watchlist, the start page, the
notifications) and a mail at a local SMTP server that holds no item, place, persona or contact
point; organisations and colleagues never reach each other's watches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fake_smtp import SmtpServer, running_smtp_server
from signaal.monitor import watchlists
from signaal.settings import Settings
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, WatchlistAlert, WatchlistWatch
from signaal.web.app import WebState
from signaal.worker.jobs import JOBS, JobOutcome, JobRun
from web.conftest import Account, SignIn, store_analysis

PHONE = "phone:5a5a5a5a5a5a5a5a"
AD_TEXT = "Synthetische advertentie [phone:5a5a5a5a5a5a5a5a] tekst-van-de-advertentie"


def rows(
    personas: dict[str, tuple[str, ...]], network_places: tuple[str, ...]
) -> dict[str, list[dict[str, object]]]:
    """One network N-W advertising with :data:`PHONE`, with these personas and places."""
    now = datetime.now(UTC)
    return {
        "networks": [
            {
                "network_id": "N-W",
                "n_personas": len(personas),
                "n_ads": len(personas),
                "contact_points": PHONE,
                "municipalities": ";".join(network_places),
                "risk_score": 70,
                "reasons": "one phone number in ads of several personas",
            }
        ],
        "personas": [
            {
                "persona_id": persona,
                "network_id": "N-W",
                "n_ads": 1,
                "municipalities": ";".join(places),
                "risk_score": 60,
                "reasons": "new in town",
            }
            for persona, places in personas.items()
        ],
        "ads": [
            {
                "ad_id": f"A-{persona}",
                "persona_id": persona,
                "network_id": "N-W",
                "risk_score": 60,
                "risk_level": "review",
                "indicators": "",
                "municipality": places[0] if places else None,
                "title": "Nieuw",
                "text": AD_TEXT,
                "posted_at": now - timedelta(days=1),
            }
            for persona, places in personas.items()
        ],
        "movements": [],
    }


FIRST = rows({"P-W1": ("Utrecht",), "P-W2": ("Amersfoort",)}, ("Utrecht", "Amersfoort"))
SECOND = rows(
    {"P-W1": ("Utrecht", "Zwolle"), "P-W2": ("Amersfoort",), "P-W9": ("Zwolle",)},
    ("Utrecht", "Amersfoort", "Zwolle"),
)


def store_and_check(
    state: WebState, organisation_id: int, data: dict[str, list[dict[str, object]]]
) -> int:
    """Store a run as ``signaal analyse --store`` does: saved, then compared with the
    watchlists in the same transaction."""
    with transaction(state.sessions) as session:
        run_id = store_analysis(session, state.settings, organisation_id, data)
        watchlists.check_run(session, run_id, now=datetime.now(UTC))
    return run_id


def post(client: TestClient, path: str, csrf_of: Callable[[str], str]) -> int:
    page = client.get("/volglijst")
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_of(page.text)}).status_code


def mail_settings(state: WebState, server: SmtpServer, tmp_path: Path) -> Settings:
    host, port = server.host_and_port
    return state.settings.model_copy(update={"smtp_host": host, "smtp_port": port})


def mail_job(state: WebState, settings: Settings) -> JobOutcome:
    job = next(job for job in JOBS if job.name == "mail-alerts")
    with transaction(state.sessions) as session:
        outcome = job.run(JobRun(session, datetime.now(UTC), settings))
    assert isinstance(outcome, JobOutcome)
    return outcome


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def analyst(accounts_by_role: dict[str, Account]) -> Account:
    return accounts_by_role["analyst"]


def test_two_runs_give_alerts_in_the_app_and_a_mail_without_content(
    client: TestClient,
    state: WebState,
    analyst: Account,
    sign_in: SignIn,
    csrf_of: Callable[[str], str],
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    store_and_check(state, analyst.organisation_id, FIRST)
    sign_in(analyst)
    persona_page = client.get("/analyse/personas/P-W1?doel=assess_signal")
    assert 'action="/volglijst/personas/P-W1"' in persona_page.text
    assert f'action="/volglijst/contactpunten/{PHONE}"' in persona_page.text
    network_page = client.get("/analyse/netwerken/N-W/personas")
    assert 'action="/volglijst/netwerken/N-W"' in network_page.text
    for path in ("/volglijst/personas/P-W1", "/volglijst/netwerken/N-W"):
        assert post(client, path, csrf_of) == 303
    assert post(client, f"/volglijst/contactpunten/{PHONE}", csrf_of) == 303
    # Watching again is the same watch.
    assert post(client, "/volglijst/personas/P-W1", csrf_of) == 303
    with state.sessions() as session:
        watches = session.scalars(select(WatchlistWatch).order_by(WatchlistWatch.id)).all()
        assert [(w.kind, w.item_id) for w in watches] == [
            ("persona", "P-W1"),
            ("network", "N-W"),
            ("contact_point", PHONE),
        ]
        # The baseline is the latest run: nothing is an alert yet.
        assert session.scalars(select(WatchlistAlert)).all() == []
        created = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "watchlist.watch_created")
        ).all()
        assert len(created) == 3
        assert all(PHONE not in event.details for event in created)

    # Storing the same picture again gives nothing; the second run moves and adds a persona.
    store_and_check(state, analyst.organisation_id, FIRST)
    with state.sessions() as session:
        assert session.scalars(select(WatchlistAlert)).all() == []
    second = store_and_check(state, analyst.organisation_id, SECOND)
    with state.sessions() as session:
        alerts = session.scalars(select(WatchlistAlert).order_by(WatchlistAlert.id)).all()
        by_watch = {
            w.kind: sorted((a.kind, a.detail) for a in alerts if a.watch_id == w.id)
            for w in watches
        }
        assert {a.run_id for a in alerts} == {second}
    assert by_watch["persona"] == [("new_municipality", "Zwolle"), ("new_region", "Overijssel")]
    for kind in ("network", "contact_point"):
        assert by_watch[kind] == [
            ("new_municipality", "Zwolle"),
            ("new_persona", "P-W9"),
            ("new_region", "Overijssel"),
        ]

    # In the app: the start page counts the watches with news, the watchlist shows them.
    start = client.get("/dashboard")
    assert "/volglijst" in start.text
    assert "gevolgde items met nieuwe meldingen" in start.text
    notes = client.get("/meldingen")
    assert "Nieuwe meldingen op je volglijst-item" in notes.text
    page = client.get("/volglijst")
    assert page.status_code == 200
    assert "Zwolle" in page.text
    assert "Overijssel" in page.text
    assert "P-W9" in page.text
    assert "Nieuwe gemeente" in page.text
    # Seen now: the start page no longer counts them.
    assert "gevolgde items met nieuwe meldingen" not in client.get("/dashboard").text

    # The worker's job mails one message per watch, with nothing but the watch's number and
    # a link; a second run sends nothing.
    settings = mail_settings(state, smtp_server, tmp_path)
    outcome = mail_job(state, settings)
    assert outcome.problems == ()
    assert "3 alert mail(s) sent" in outcome.summary
    assert len(smtp_server.messages) == 3
    for message in smtp_server.messages:
        assert analyst.email in message
        assert "/volglijst" in message
        assert "Log in" in message
        for secret in (PHONE, "5a5a5a5a", "Zwolle", "Overijssel", "P-W", "N-W", "tekst-van"):
            assert secret not in message
    for watch in watches:
        assert any(f"#{watch.id}" in message for message in smtp_server.messages)
    assert "0 alert mail(s) sent" in mail_job(state, settings).summary
    assert len(smtp_server.messages) == 3
    with state.sessions() as session:
        mailed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "watchlist.alert_mailed")
        ).all()
        assert sorted(int(e.record_id or 0) for e in mailed) == sorted(w.id for w in watches)
        assert all(analyst.email not in e.details and PHONE not in e.details for e in mailed)


def test_a_refused_mail_is_tried_again_and_a_stopped_watch_gives_nothing(
    client: TestClient,
    state: WebState,
    analyst: Account,
    sign_in: SignIn,
    csrf_of: Callable[[str], str],
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    store_and_check(state, analyst.organisation_id, FIRST)
    sign_in(analyst)
    assert post(client, "/volglijst/personas/P-W1", csrf_of) == 303
    assert post(client, "/volglijst/netwerken/N-W", csrf_of) == 303
    with state.sessions() as session:
        persona_watch, network_watch = session.scalars(
            select(WatchlistWatch).order_by(WatchlistWatch.id)
        ).all()
    assert post(client, f"/volglijst/{network_watch.id}/stoppen", csrf_of) == 303
    assert f"volg-{network_watch.id}" not in client.get("/volglijst").text
    store_and_check(state, analyst.organisation_id, SECOND)
    with state.sessions() as session:
        alerts = session.scalars(select(WatchlistAlert)).all()
        assert {a.watch_id for a in alerts} == {persona_watch.id}
        ended = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "watchlist.watch_ended")
        ).all()
        assert [e.record_id for e in ended] == [str(network_watch.id)]
        stopped = session.get(WatchlistWatch, network_watch.id)
        assert stopped is not None
        assert stopped.ended_at is not None
        assert (stopped.seen_municipalities, stopped.seen_personas) == ("", "")

    settings = mail_settings(state, smtp_server, tmp_path)
    smtp_server.refuse = True
    failed = mail_job(state, settings)
    assert failed.problems
    assert smtp_server.messages == []
    with state.sessions() as session:
        assert {a.mail_attempts for a in session.scalars(select(WatchlistAlert))} == {1}
    smtp_server.refuse = False
    sent = mail_job(state, settings)
    assert sent.problems == ()
    assert len(smtp_server.messages) == 1
    with state.sessions() as session:
        assert all(a.mailed_at is not None for a in session.scalars(select(WatchlistAlert)))


def test_without_an_smtp_host_the_alerts_wait(
    state: WebState,
    analyst: Account,
    client: TestClient,
    sign_in: SignIn,
    csrf_of: Callable[[str], str],
) -> None:
    store_and_check(state, analyst.organisation_id, FIRST)
    sign_in(analyst)
    assert post(client, "/volglijst/personas/P-W1", csrf_of) == 303
    store_and_check(state, analyst.organisation_id, SECOND)
    outcome = mail_job(state, state.settings.model_copy(update={"smtp_host": ""}))
    assert "1 waiting" in outcome.summary
    with state.sessions() as session:
        assert all(a.mailed_at is None for a in session.scalars(select(WatchlistAlert)))


def test_other_organisations_and_colleagues_never_reach_a_watch(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of: Callable[[str], str],
) -> None:
    analyst = accounts_by_role["analyst"]  # of the GGD
    police = accounts_by_role["police_officer"]  # of the police
    colleague = accounts_by_role["care_coordinator"]  # of the GGD too
    store_and_check(state, analyst.organisation_id, FIRST)
    sign_in(analyst)
    assert post(client, "/volglijst/personas/P-W1", csrf_of) == 303
    with state.sessions() as session:
        watch = session.scalars(select(WatchlistWatch)).one()
        before = max(e.seq for e in session.scalars(select(AuditEvent)))

    # The police have no run with these items: refused as items that exist nowhere, audited.
    sign_in(police)
    answers = {
        path: post(client, path, csrf_of)
        for path in (
            "/volglijst/personas/P-W1",
            "/volglijst/netwerken/N-W",
            f"/volglijst/contactpunten/{PHONE}",
            "/volglijst/personas/P-nowhere",
        )
    }
    assert set(answers.values()) == {403}
    assert post(client, f"/volglijst/{watch.id}/stoppen", csrf_of) == 404
    assert "P-W1" not in client.get("/volglijst").text
    # A colleague of the same organisation does not stop someone else's watch either.
    sign_in(colleague)
    assert post(client, f"/volglijst/{watch.id}/stoppen", csrf_of) == 404
    assert "P-W1" not in client.get("/volglijst").text
    with state.sessions() as session:
        assert session.get(WatchlistWatch, watch.id).ended_at is None  # type: ignore[union-attr]
        denied = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.action == "access.denied")
        ).all()
    assert len(denied) == 6

    # A run of the police with a moved P-W1 is no news for the GGD's watch.
    store_and_check(state, police.organisation_id, SECOND)
    with state.sessions() as session:
        assert session.scalars(select(WatchlistAlert)).all() == []
