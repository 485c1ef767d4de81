"""In a real browser: a demo analyst opens a persona, watches it, finds it on "Volglijst", sees
the start-page card once a newer run gives alerts, reads them and stops the watch (on a phone);
on a desktop she watches a network and a contact point from their pages and stops one. Every
page passes axe-core (no serious or critical violation), logs no console or CSP error and never
scrolls sideways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from signaal.chain.accounts import demo_email, demo_password, seed_demo
from signaal.monitor import watchlists
from signaal.settings import Settings
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import User
from web.conftest import store_analysis
from web.test_web_watchlists import FIRST, PHONE, SECOND

from .test_browser_analysis import DESKTOP
from .test_browser_local_picture import _axe_violations, _no_sideways_scroll
from .test_browser_login import PHONE as PHONE_VIEWPORT
from .test_browser_login import check_page_basics
from .test_browser_triage import _shots

pytestmark = pytest.mark.browser


def store_run(settings: Settings, role: str, data: dict[str, list[dict[str, object]]]) -> None:
    """Seed the demo accounts (once) and store ``data`` as a run of ``role``'s organisation,
    compared with the watchlists in the same transaction as ``signaal analyse --store`` does."""
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            owner = session.scalar(
                select(User.organisation_id).where(User.email == demo_email(role))
            )
            assert owner is not None
            run_id = store_analysis(session, settings, owner, data, source="browser-test")
            watchlists.check_run(session, run_id, now=datetime.now(UTC))
    finally:
        engine.dispose()


def log_in(page: Page, url: str, role: str) -> list[str]:
    """Log in as the demo ``role``; returns the list that collects script errors and CSP
    refusals ("Refused to ...") from the console."""
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
    page.get_by_label("E-mailadres").fill(demo_email(role))
    page.get_by_label("Wachtwoord").fill(demo_password(role))
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(url + "/dashboard")
    return errors


def check_page(page: Page, shots_dir, name: str) -> None:  # type: ignore[no-untyped-def]
    """The WCAG basics, no sideways scrolling (nothing sticks out of the main column) and no
    serious or critical axe-core violation."""
    check_page_basics(page, shots_dir, name)
    _no_sideways_scroll(page, name)
    violations = _axe_violations(page)
    assert violations == [], f"{name}: axe-core: {violations}"


def test_watch_a_persona_on_a_phone(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    store_run(live_server.settings, "analyst", FIRST)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    errors = log_in(page, live_server.url, "analyst")
    # Nothing watched yet: no card on the start page, an empty watchlist.
    expect(page.locator("main")).not_to_contain_text("gevolgde items met nieuwe meldingen")
    page.goto(live_server.url + "/volglijst")
    expect(page.locator("h1")).to_have_text("Volglijst")
    expect(page.locator("main .empty")).to_have_text("Je volgt nog niets.")
    check_page(page, shots, "w1-watchlist-empty-phone")

    # The persona, after its purpose; then the watch button.
    page.goto(live_server.url + "/analyse/personas/P-W1")
    page.get_by_label("Beoordelen van een signaal van mogelijke uitbuiting").check()
    page.get_by_role("button", name="Persona openen").click()
    expect(page.locator("h1")).to_contain_text("Persona P-W1")
    check_page(page, shots, "w2-persona-phone")
    page.get_by_role("button", name="Deze persona volgen").click()
    expect(page).to_have_url(f"{live_server.url}/volglijst#volg-1")
    watch = page.locator("#volg-1")
    expect(watch).to_contain_text("Persona")
    expect(watch.get_by_role("link", name="P-W1")).to_have_attribute(
        "href", "/analyse/personas/P-W1"
    )
    expect(watch).to_contain_text("Nog geen meldingen.")
    check_page(page, shots, "w3-watchlist-phone")

    # A newer run moves the persona to Zwolle: the start page says so and links to the list.
    store_run(live_server.settings, "analyst", SECOND)
    page.goto(live_server.url + "/dashboard")
    card = page.locator("li.card", has_text="gevolgde items met nieuwe meldingen")
    expect(card.locator(".figure")).to_have_text("1")
    check_page(page, shots, "w4-dashboard-card-phone")
    card.get_by_role("link", name="Bekijk de meldingen").click()
    expect(page).to_have_url(live_server.url + "/volglijst")
    alerts = page.locator("#volg-1 ul li")
    expect(alerts).to_have_count(2)
    expect(page.locator("#volg-1")).to_contain_text("Nieuwe gemeente: Zwolle")
    expect(page.locator("#volg-1")).to_contain_text("Overijssel")
    check_page(page, shots, "w5-watchlist-alerts-phone")
    # Read now: the card is gone from the start page.
    page.goto(live_server.url + "/dashboard")
    expect(page.locator("main")).not_to_contain_text("gevolgde items met nieuwe meldingen")

    # Stop: the watch leaves the list.
    page.goto(live_server.url + "/volglijst")
    page.locator("#volg-1").get_by_role("button", name="Stoppen met volgen").click()
    expect(page).to_have_url(live_server.url + "/volglijst")
    expect(page.locator("#volg-1")).to_have_count(0)
    expect(page.locator("main .empty")).to_have_text("Je volgt nog niets.")
    assert errors == [], f"browser console errors: {errors}"
    context.close()


def test_watch_a_network_and_a_contact_point_on_a_desktop(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, tmp_path_factory
) -> None:
    store_run(live_server.settings, "analyst", FIRST)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = log_in(page, live_server.url, "analyst")

    page.goto(live_server.url + "/analyse/netwerken/N-W/personas")
    expect(page.locator("h1")).to_have_text("Netwerk N-W")
    check_page(page, shots, "w6-network-desktop")
    page.get_by_role("button", name="Dit netwerk volgen").click()
    expect(page).to_have_url(f"{live_server.url}/volglijst#volg-1")
    expect(page.locator("#volg-1").get_by_role("link", name="N-W")).to_have_attribute(
        "href", "/analyse/netwerken/N-W/personas"
    )

    page.goto(live_server.url + "/analyse/personas/P-W2?doel=assess_signal")
    expect(page.locator("h1")).to_contain_text("Persona P-W2")
    check_page(page, shots, "w7-persona-desktop")
    page.get_by_role("button", name="Dit contactpunt volgen").click()
    expect(page).to_have_url(f"{live_server.url}/volglijst#volg-2")
    expect(page.locator("#volg-2 code")).to_have_text(PHONE)
    expect(page.locator("li.card")).to_have_count(2)
    # Newest first.
    expect(page.locator("li.card").first).to_have_attribute("id", "volg-2")
    check_page(page, shots, "w8-watchlist-desktop")

    # Watching the network again is the same watch.
    page.goto(live_server.url + "/analyse/netwerken/N-W/personas")
    page.get_by_role("button", name="Dit netwerk volgen").click()
    expect(page).to_have_url(f"{live_server.url}/volglijst#volg-1")
    expect(page.locator("li.card")).to_have_count(2)

    page.locator("#volg-1").get_by_role("button", name="Stoppen met volgen").click()
    expect(page.locator("#volg-1")).to_have_count(0)
    expect(page.locator("#volg-2")).to_be_visible()
    check_page(page, shots, "w9-watchlist-stopped-desktop")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
