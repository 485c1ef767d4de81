"""In a real browser: the network page with its graph, week grid and flow map, on a desktop and
on a phone. Every page passes axe-core (no serious or critical violation), logs no console or
CSP error, never scrolls sideways and stays short on a phone; a persona in the graph leads to
its purpose question, and an analyst reveals a contact point from the page (purpose first)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from signaal.chain.accounts import demo_email, seed_demo
from signaal.privacy.sealing import Sealer
from signaal.settings import Settings
from signaal.store.contacts import save_contact_points
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import User
from web.conftest import store_analysis
from web.test_web_network_page import CLEAR, MAIL, PHONE, network_rows

from .test_browser_analysis import DESKTOP
from .test_browser_login import PHONE as PHONE_VIEWPORT
from .test_browser_triage import _shots
from .test_browser_watchlist import check_page, log_in

pytestmark = pytest.mark.browser

PAGE = "/analyse/netwerken/N-G/personas"
MAX_PHONE_HEIGHT = 6000  # px at 390 px wide; the issue named a page of 14,000


def _store(settings: Settings, role: str) -> None:
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            owner = session.scalar(
                select(User.organisation_id).where(User.email == demo_email(role))
            )
            assert owner is not None
            run_id = store_analysis(session, settings, owner, network_rows(), source="browser")
            save_contact_points(
                session,
                run_id,
                {PHONE: CLEAR, MAIL: "sweet.anna.test@example.nl"},
                Sealer(settings.contact_key),
            )
    finally:
        engine.dispose()


def test_network_page_on_a_desktop(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _store(live_server.settings, "analyst")
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = log_in(page, live_server.url, "analyst")
    page.goto(live_server.url + PAGE)
    expect(page.locator("h1")).to_have_text("Netwerk N-G")
    graph = page.locator("svg.network-graph")
    expect(graph).to_be_visible()
    expect(graph.locator("g.node-persona")).to_have_count(3)
    expect(graph.locator("g.node-contact")).to_have_count(2)
    expect(page.locator("table.links-table tbody tr")).to_have_count(7)
    expect(page.locator("table.flows-table tbody tr")).to_have_count(2)
    expect(page.locator("svg.flow-map path.flow")).to_have_count(2)
    check_page(page, shots, "n1-network-desktop")
    assert CLEAR not in page.content()

    # Reveal the shared phone: a purpose first, then the value on screen only.
    page.locator("details.network-contacts summary").click()
    slot = page.locator("#cp-" + PHONE.replace(":", "-"))
    slot.get_by_label("Waarom heb je dit contactpunt nodig?").select_option("protection")
    slot.get_by_role("button", name="Toon contactpunt").click()
    expect(page.locator("#cp-" + PHONE.replace(":", "-") + " .revealed-value")).to_have_text(CLEAR)
    check_page(page, shots, "n2-network-revealed-desktop")

    # A persona in the graph opens its page, after the purpose question.
    graph.locator('a[href="/analyse/personas/P-A"]').click()
    expect(page).to_have_url(live_server.url + "/analyse/personas/P-A")
    expect(page.get_by_role("button", name="Persona openen")).to_be_visible()
    assert errors == [], f"browser console errors: {errors}"
    context.close()


def test_network_page_on_a_phone(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _store(live_server.settings, "analyst")
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    errors = log_in(page, live_server.url, "analyst")
    page.goto(live_server.url + PAGE)
    expect(page.locator("h1")).to_have_text("Netwerk N-G")
    expect(page.locator("svg.network-graph")).to_be_visible()
    width = page.locator("svg.network-graph").bounding_box()
    assert width is not None
    assert width["width"] <= PHONE_VIEWPORT["width"]
    check_page(page, shots, "n3-network-phone")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < MAX_PHONE_HEIGHT, f"the network page is {height}px long on a phone"
    assert errors == [], f"browser console errors: {errors}"
    context.close()
