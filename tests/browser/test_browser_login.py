"""In a real browser on a phone-sized screen: login with two-factor enrolment, logout, login
again with password and code, a wrong code; and a few WCAG basics on every page visited."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from signaal.chain import accounts
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import OrganisationKind

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
EMAIL = "k.de.vries@ggd.example.test"
PASSWORD = "een lang en goed wachtwoord"


def _create_user(settings) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            organisation = accounts.create_organisation(
                session, name="GGD Proefregio", kind=OrganisationKind.GGD
            )
            accounts.create_user(
                session,
                email=EMAIL,
                password=PASSWORD,
                display_name="Karin de Vries",
                organisation=organisation,
                role="administrator",
            )
    finally:
        engine.dispose()


def check_page_basics(page: Page, shots: Path, name: str) -> None:
    """WCAG basics: language set, one h1, every input labelled, no horizontal scrolling."""
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert page.locator("html").get_attribute("lang") in ("nl", "en")
    assert page.locator("h1").count() == 1, f"{name}: expected exactly one h1"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id)"""
    )
    assert unlabelled == [], f"{name}: inputs without a label: {unlabelled}"
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: page scrolls sideways by {overflow}px at 390px width"
    assert page.locator("a.skip-link").count() == 1


def test_two_factor_login_on_a_phone(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    _create_user(live_server.settings)
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="nl-NL"
    )
    page = context.new_page()
    # Script errors and CSP refusals ("Refused to ..."); form pages answer 401/422 on purpose,
    # which the console also reports as failed resources: those are not errors here.
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

    # First login: password, then enrolment of the authenticator app.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login")
    check_page_basics(page, shots, "1-login")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(live_server.url + "/account/tweede-factor")
    expect(page.locator(".qr svg")).to_be_visible()
    check_page_basics(page, shots, "2-enrol")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code uit de app").fill(totp.now())
    page.get_by_role("button", name="Bevestigen").click()
    expect(page).to_have_url(live_server.url + "/dashboard")
    expect(page.locator("h1")).to_contain_text("Karin de Vries")
    check_page_basics(page, shots, "3-dashboard")

    # The users page has a table that must reflow on a narrow screen.
    page.get_by_role("link", name="Gebruikers", exact=True).first.click()
    expect(page).to_have_url(live_server.url + "/beheer/gebruikers")
    check_page_basics(page, shots, "4-users")

    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(live_server.url + "/login?reden=uitgelogd")
    expect(page.get_by_role("status")).to_contain_text("Je bent uitgelogd")

    # Second login: password and a code; first a wrong code.
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(live_server.url + "/login/tweede-factor?volgende=/dashboard")
    wrong = "000000" if totp.now() != "000000" else "111111"
    page.get_by_label("Verificatiecode").fill(wrong)
    page.get_by_role("button", name="Controleren").click()
    expect(page.locator(".field-error")).to_contain_text("Deze code klopt niet")
    check_page_basics(page, shots, "5-wrong-code")
    # A code is accepted once: the enrolment used the current step, so use the next step's
    # code (one step of clock drift is allowed) instead of waiting for it.
    page.get_by_label("Verificatiecode").fill(totp.at(time.time() + totp.interval))
    page.get_by_role("button", name="Controleren").click()
    expect(page).to_have_url(live_server.url + "/dashboard")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
