"""In a real browser on a phone: a demo analyst reads the stored analysis, expands a network's
personas with htmx (under the strict CSP), and opens a persona after giving a purpose; the
persona page explains its reasons and marks the evidence, on a phone and on a desktop."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from signaal.chain.accounts import demo_email, demo_password, seed_demo
from signaal.chain.authz import SYSTEM
from signaal.store.analysis import save_analysis
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import User

from .test_browser_login import PHONE, check_page_basics

DESKTOP = {"width": 1280, "height": 800}
#: The reasons of persona P-1-1 as facts (``reasons_json``): a shared phone and a cue in its ad.
FACTS = [
    {"id": "C01", "family": "C", "points": 3.0, "kind": "shared_contact",
     "figures": {"personas": 2}, "contact": "phone:01abcdef12345678", "contact_kind": "phone",
     "masked": "06-•••••12"},
    {"id": "A05", "family": "A", "points": 2.0, "kind": "cue", "field": "text",
     "evidence": "dag en nacht", "ad_id": "A-1-1-1"},
]  # fmt: skip

pytestmark = pytest.mark.browser


def _seed(settings) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    networks, personas, ads, movements = [], [], [], []
    places = ["Utrecht", "Amersfoort", "Zwolle", "Apeldoorn"]
    for n in range(1, 4):
        network = f"N-{n}"
        networks.append(
            {
                "network_id": network,
                "n_personas": 2,
                "n_ads": 4,
                "contact_points": [f"phone:{n:02d}abcdef12345678"],
                "municipalities": places[n - 1 : n + 1],
                "risk_score": 90 - 20 * n,
                "reasons": [
                    "one phone number in the ads of 2 personas",
                    "the same text template with changing names",
                ],
            }
        )
        for p in range(1, 3):
            persona = f"P-{n}-{p}"
            personas.append(
                {
                    "persona_id": persona,
                    "network_id": network,
                    "n_ads": 2,
                    "first_seen": now - timedelta(days=20),
                    "last_seen": now - timedelta(days=1),
                    "municipalities": places[n - 1 : n + 1],
                    "risk_score": 85 - 20 * n - p,
                    "reasons": ["new in town", "moved between 2 municipalities in 3 weeks"],
                    "reasons_json": json.dumps(FACTS) if persona == "P-1-1" else None,
                }
            )
            movements.append(
                {
                    "persona_id": persona,
                    "network_id": network,
                    "from_municipality": places[n - 1],
                    "to_municipality": places[n],
                    "at": now - timedelta(days=5),
                }
            )
            for a in range(1, 3):
                ads.append(
                    {
                        "ad_id": f"A-{n}-{p}-{a}",
                        "persona_id": persona,
                        "network_id": network,
                        "risk_score": 70 - a,
                        "risk_level": "review",
                        "indicators": ["new_in_town", "third_party_contact", "A05"],
                        "posted_at": now - timedelta(days=3 * a),
                        "site": "voorbeeld-advertenties.test",
                        "municipality": places[n - 1 + a - 1],
                        "title": f"Nieuw in {places[n - 1]}",
                        "text": "Synthetische advertentietekst, dag en nacht, alleen voor tests.",
                    }
                )
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            # The run belongs to the organisation of the demo analyst who reads it, stored as
            # the command line stores it (the system actor).
            owner = session.scalar(
                select(User.organisation_id).where(User.email == demo_email("analyst"))
            )
            assert owner is not None
            save_analysis(
                session,
                source="browser-test",
                started_at=now - timedelta(minutes=2),
                finished_at=now,
                ads=ads,
                personas=personas,
                networks=networks,
                movements=movements,
                n_quarantined=0,
                organisation_id=owner,
                actor=SYSTEM,
                settings=settings,
            )
    finally:
        engine.dispose()


def test_analyst_reads_the_analysis_on_a_phone(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    _seed(live_server.settings)
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )

    page.goto(live_server.url + "/login")
    page.get_by_label("E-mailadres").fill(demo_email("analyst"))
    page.get_by_label("Wachtwoord").fill(demo_password("analyst"))
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(live_server.url + "/dashboard")  # demo accounts skip TOTP
    page.get_by_role("link", name="Analyse", exact=True).click()
    expect(page).to_have_url(live_server.url + "/analyse")
    expect(page.locator("#netwerk-N-1")).to_contain_text("one phone number")
    check_page_basics(page, shots, "a1-analysis")

    # htmx: the personas of N-1 appear under it without leaving the page.
    page.locator("#netwerk-N-1 a").first.click()
    expect(page.locator("#personas-1")).to_contain_text("P-1-1")
    expect(page).to_have_url(live_server.url + "/analyse")
    check_page_basics(page, shots, "a2-personas")

    page.locator("#personas-1").get_by_role("link", name="P-1-1").click()
    expect(page.locator("h1")).to_contain_text("Waarom open je deze persona?")
    check_page_basics(page, shots, "a3-purpose")
    page.get_by_label("Voorbereiden van outreach- of zorgcontact").check()
    page.get_by_role("button", name="Persona openen").click()
    expect(page.locator("h1")).to_contain_text("Persona P-1-1")
    expect(page.locator("ol.timeline")).to_contain_text("van Utrecht naar Amersfoort")
    _check_persona_page(page)
    check_page_basics(page, shots, "a4-persona")
    assert errors == [], f"browser console errors: {errors}"
    context.close()


def _check_persona_page(page) -> None:  # type: ignore[no-untyped-def]
    """Reasons in plain Dutch, the evidence marked, contact points masked, a timeline."""
    expect(page.locator(".explained")).to_contain_text(
        "Hetzelfde telefoonnummer (06-•••••12) staat in advertenties van 2 verschillende persona's."
    )
    expect(page.locator(".explained")).not_to_contain_text("phone:")
    expect(page.locator("#ad-1 mark").first).to_contain_text("dag en nacht")
    expect(page.locator(".timeline-chart svg")).to_be_visible()
    expect(page.get_by_role("link", name="Netwerk van 2 persona's")).to_be_visible()


def test_persona_page_on_a_desktop(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    _seed(live_server.settings)
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.goto(live_server.url + "/login")
    page.get_by_label("E-mailadres").fill(demo_email("analyst"))
    page.get_by_label("Wachtwoord").fill(demo_password("analyst"))
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(live_server.url + "/dashboard")
    page.goto(live_server.url + "/analyse/personas/P-1-1?doel=assess_signal")
    expect(page.locator("h1")).to_contain_text("Persona P-1-1")
    _check_persona_page(page)
    check_page_basics(page, shots, "a5-persona-desktop")
    # A reason links to its indicator and source.
    page.get_by_role("link", name="Indicator C01 en de bron ervan").click()
    expect(page.locator("#indicator-C01")).to_be_visible()
    check_page_basics(page, shots, "a6-indicators-desktop")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
