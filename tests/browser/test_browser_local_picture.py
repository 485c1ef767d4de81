"""In a real browser: the demo policy officer opens "Mijn gemeente", types "Den Haag" and sees
the weekly charts drawn by uPlot (canvas, under the strict CSP: no console errors), their
tables, the map with 's-Gravenhage outlined, and a typo answered with suggestions; on a desktop
and on a phone, where the page never scrolls sideways (wide tables scroll in their own box).
axe-core (vendored in tests/browser/vendor) finds no serious or critical violation there."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from monitor.local_rows import NOW, local_rows
from signaal.chain.accounts import demo_email, demo_password, seed_demo
from signaal.chain.authz import SYSTEM
from signaal.store.analysis import save_analysis
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import User

from .test_browser_analysis import DESKTOP
from .test_browser_login import PHONE, check_page_basics
from .test_browser_triage import _shots

pytestmark = pytest.mark.browser

VENDOR = Path(__file__).resolve().parent / "vendor"
ROOT = Path(__file__).resolve().parents[2]


def _seed(settings) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            owner = session.scalar(
                select(User.organisation_id).where(User.email == demo_email("policy_officer"))
            )
            assert owner is not None
            save_analysis(
                session,
                source="browser-test",
                started_at=NOW - timedelta(minutes=5),
                finished_at=NOW - timedelta(minutes=1),
                n_quarantined=0,
                organisation_id=owner,
                actor=SYSTEM,
                settings=settings,
                **local_rows(),  # type: ignore[arg-type]
            )
    finally:
        engine.dispose()


def _log_in(page: Page, url: str) -> list[str]:
    """Log in as the demo policy officer; returns the list that collects script errors and
    CSP refusals ("Refused to ...") from the console."""
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
    page.get_by_label("E-mailadres").fill(demo_email("policy_officer"))
    page.get_by_label("Wachtwoord").fill(demo_password("policy_officer"))
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(url + "/dashboard")
    return errors


def _no_sideways_scroll(page: Page, name: str) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
    # Nothing sticks out of the main column either (a chart wider than its box, a table).
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(el => !el.closest('.table-scroll') || el.classList.contains('table-scroll'))
            .filter(el => el.getBoundingClientRect().right
                > document.documentElement.clientWidth + 1)
            .map(el => el.tagName + '.' + el.className)"""
    )
    assert wide == [], f"{name}: wider than the viewport: {wide[:5]}"


def _axe_violations(page: Page) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page. The script
    goes in through the DevTools protocol (``evaluate``), which the page's CSP does not govern:
    the app itself never serves it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate((VENDOR / "axe.min.js").read_text(encoding="utf-8"))
    outcome: dict[str, object] = page.evaluate(
        """async () => {
            const result = await window.axe.run(document, { resultTypes: ['violations'] });
            return {
                rules: result.passes.length + result.violations.length,
                serious: result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id} (${v.impact}): ` +
                        v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')),
            };
        }"""
    )
    assert isinstance(outcome["rules"], int)
    assert outcome["rules"] > 20, outcome  # axe did run its rules
    serious = outcome["serious"]
    assert isinstance(serious, list)
    return [str(v) for v in serious]


def test_vendored_axe_matches_the_lock() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["axe.min.js"]
    assert entry["version"] == lock["packages"]["node_modules/axe-core"]["version"]
    assert hashlib.sha256((VENDOR / "axe.min.js").read_bytes()).hexdigest() == entry["sha256"]
    assert (VENDOR / "axe-core.LICENSE.txt").is_file()


def _check_picture(page: Page, name: str) -> None:
    expect(page.locator("#gebied")).to_have_text("Gemeente 's-Gravenhage")
    # uPlot drew both charts into their boxes, from the data island.
    for chart in ("#grafiek-aantallen", "#grafiek-aandeel"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        box = page.locator(f"{chart} canvas").bounding_box()
        assert box is not None, name
        assert box["width"] > 150, (name, box)
        assert box["height"] > 100, (name, box)
    # Each chart is followed by its numbers; the withheld count reads "<5".
    counts = page.locator("#tabel-aantallen").locator("xpath=..")
    expect(counts.locator("tbody tr")).to_have_count(3)
    expect(counts.locator("tbody tr").first).to_contain_text("<5")
    # The map: every outline, the selection outlined, a legend, the credit.
    expect(page.locator("svg.map path")).to_have_count(342)
    expect(page.locator("svg.map path.selected")).to_have_count(1)
    expect(page.locator(".legend li")).not_to_have_count(0)
    expect(page.locator(".credit")).to_contain_text("CBS/PDOK, CC BY 4.0")
    expect(page.get_by_role("link", name="De weekcijfers downloaden als CSV")).to_be_visible()
    violations = _axe_violations(page)
    assert violations == [], f"{name}: axe-core: {violations}"


def test_local_picture_on_a_desktop(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(live_server.settings)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = _log_in(page, live_server.url)
    page.get_by_role("link", name="Mijn gemeente", exact=True).click()
    expect(page.locator("h1")).to_have_text("Mijn gemeente")
    expect(page.locator("main .empty")).to_contain_text("Kies een gemeente")
    page.get_by_label("Gemeente, plaats of regio").fill("Den Haag")
    page.get_by_role("button", name="Tonen").click()
    _check_picture(page, "desktop")
    check_page_basics(page, shots, "g1-mijn-gemeente-desktop")
    _no_sideways_scroll(page, "desktop")

    # A typo: a clear message and names to choose from.
    page.get_by_label("Gemeente, plaats of regio").fill("Amsterdm")
    page.get_by_role("button", name="Tonen").click()
    expect(page.locator(".field-error")).to_contain_text("“Amsterdm”")
    page.get_by_role("link", name="Amsterdam", exact=True).click()
    expect(page.locator("#gebied")).to_have_text("Gemeente Amsterdam")
    expect(page.locator("#grafiek-aantallen canvas")).to_have_count(1)
    assert errors == [], f"browser console errors: {errors}"
    context.close()


def test_local_picture_on_a_phone(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    _seed(live_server.settings)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    errors = _log_in(page, live_server.url)
    page.goto(live_server.url + "/mijn-gemeente?plaats=Den+Haag")
    _check_picture(page, "phone")
    check_page_basics(page, shots, "g2-mijn-gemeente-phone")
    _no_sideways_scroll(page, "phone")
    # A region on the phone: the chart fits the narrow column.
    page.get_by_label("Gemeente, plaats of regio").fill("Haaglanden")
    page.get_by_label("Soort gebied").select_option("veiligheidsregio")
    page.get_by_role("button", name="Tonen").click()
    expect(page.locator("#gebied")).to_have_text("Veiligheidsregio Haaglanden")
    expect(page.locator("svg.map path.selected")).not_to_have_count(0)
    box = page.locator("#grafiek-aantallen canvas").bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    _no_sideways_scroll(page, "phone region")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
