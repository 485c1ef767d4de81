"""In a real browser: a demo police officer works through the triage queue on a phone (filter
by "Den Haag", dismiss with a reason, escalate) and pages through it on a desktop. The pages
stay short (25 items a page, decision forms folded away) and never scroll sideways."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from signaal.chain.accounts import demo_email, demo_password, seed_demo
from signaal.chain.authz import SYSTEM
from signaal.store.analysis import save_analysis
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import User
from web.test_web_triage import queue_rows

from .test_browser_analysis import DESKTOP
from .test_browser_login import PHONE, check_page_basics

pytestmark = pytest.mark.browser

#: The old overview was a 14,000 px page on a desktop (30,000 px on a phone).
MAX_PAGE_HEIGHT = 14_000


def _seed(settings) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            owner = session.scalar(
                select(User.organisation_id).where(User.email == demo_email("police_officer"))
            )
            assert owner is not None
            save_analysis(
                session,
                source="browser-test",
                started_at=now - timedelta(minutes=2),
                finished_at=now,
                n_quarantined=0,
                organisation_id=owner,
                actor=SYSTEM,
                settings=settings,
                **queue_rows(),  # type: ignore[arg-type]
            )
    finally:
        engine.dispose()


def _log_in(page: Page, url: str) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(url + "/login")
    page.get_by_label("E-mailadres").fill(demo_email("police_officer"))
    page.get_by_label("Wachtwoord").fill(demo_password("police_officer"))
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(url + "/dashboard")
    return errors


def _height(page: Page) -> int:
    height: int = page.evaluate("() => document.documentElement.scrollHeight")
    return height


def _shots(factory: pytest.TempPathFactory) -> Path:
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_triage_on_a_phone(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(live_server.settings)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    errors = _log_in(page, live_server.url)

    page.get_by_role("link", name="Triage", exact=True).click()
    expect(page.locator("h1")).to_have_text("Triagelijst")
    expect(page.locator("li.triage-item")).to_have_count(25)
    assert _height(page) < MAX_PAGE_HEIGHT
    check_page_basics(page, shots, "t1-triage-phone")

    page.get_by_label("Gemeente, plaats of provincie").fill("Den Haag")
    page.get_by_role("button", name="Filter").click()
    items = page.locator("li.triage-item")
    expect(items).to_have_count(6)  # P-00, P-05, ... P-25: all in 's-Gravenhage
    for i in range(6):
        expect(items.nth(i)).to_contain_text("'s-Gravenhage")
    check_page_basics(page, shots, "t2-den-haag")

    # Dismiss the first without a reason: refused, with the message at the item.
    first = items.first
    expect(first).to_have_attribute("id", "item-P-00")
    first.locator("summary").click()
    first.get_by_label("Afwijzen (met reden)").check()
    first.get_by_role("button", name="Besluit opslaan").click()
    expect(page.locator("#item-P-00 [role=alert]")).to_contain_text("Vul dit in.")
    page.locator("#item-P-00").get_by_label("Reden (verplicht bij afwijzen)").fill(
        "Bekend bij de zorg, geen aanwijzingen"
    )
    page.locator("#item-P-00").get_by_label("Afwijzen (met reden)").check()
    page.locator("#item-P-00").get_by_role("button", name="Besluit opslaan").click()
    # Back on the same filtered queue, without the dismissed persona.
    expect(page.locator("li.triage-item")).to_have_count(5)
    expect(page.get_by_label("Gemeente, plaats of provincie")).to_have_value("Den Haag")
    expect(page.locator("#item-P-00")).to_have_count(0)

    # Escalate the next: a signal for the chain, linked from the item.
    item = page.locator("#item-P-05")
    item.locator("summary").click()
    item.get_by_label("Escaleren: een signaal voor de keten registreren").check()
    item.get_by_role("button", name="Besluit opslaan").click()
    expect(page.locator("#item-P-05")).to_have_count(0)
    page.get_by_label("Status").select_option("escalated")
    page.get_by_role("button", name="Filter").click()
    escalated = page.locator("#item-P-05")
    expect(escalated).to_contain_text("Geëscaleerd")
    escalated.get_by_role("link", name="signaal #").click()
    expect(page.locator("h1")).to_contain_text("Signaal")
    assert errors == [], f"browser console errors: {errors}"
    context.close()


def test_triage_pages_on_a_desktop(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(live_server.settings)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = _log_in(page, live_server.url)
    page.goto(live_server.url + "/analyse/triage")
    expect(page.locator("#aantal")).to_have_text("30 items, pagina 1 van 2")
    assert _height(page) < MAX_PAGE_HEIGHT
    check_page_basics(page, shots, "t3-triage-desktop")
    page.get_by_role("link", name="Volgende pagina").click()
    expect(page.locator("#aantal")).to_have_text("30 items, pagina 2 van 2")
    expect(page.locator("li.triage-item")).to_have_count(5)
    page.get_by_role("link", name="Netwerken").click()
    expect(page.locator("li.triage-item")).to_have_count(3)
    check_page_basics(page, shots, "t4-networks-desktop")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
