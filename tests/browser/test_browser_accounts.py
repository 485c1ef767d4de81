"""In a real browser on a phone-sized screen: an administrator adds a colleague and sees the
one-time link (never a password); the colleague opens it, sets her own password and her second
factor, and later changes her password. WCAG basics on every page on the way."""

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

from .test_browser_login import PHONE, check_page_basics

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "beheer@ggd-proef.example.test"
ADMIN_PASSWORD = "een lang en goed wachtwoord"
NEW_EMAIL = "sam.jansen@ggd-proef.example.test"
NEW_PASSWORD = "mijn eigen lange zin van woorden"
OTHER_PASSWORD = "nog een andere lange zin hier"


def _administrator(settings) -> str:  # type: ignore[no-untyped-def]
    """An administrator with a second factor already set up; returns its TOTP secret."""
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            organisation = accounts.create_organisation(
                session, name="GGD Proefregio", kind=OrganisationKind.GGD
            )
            admin = accounts.create_user(
                session,
                email=ADMIN_EMAIL,
                password=ADMIN_PASSWORD,
                display_name="Karin de Vries",
                organisation=organisation,
                role="administrator",
            )
            secret, _ = accounts.begin_totp_enrolment(session, admin)
            admin.totp_enabled = True
            return secret
    finally:
        engine.dispose()


def _log_in(page: Page, url: str, email: str, password: str, code: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_label("Verificatiecode").fill(code)
    page.get_by_role("button", name="Controleren").click()
    expect(page).to_have_url(url + "/dashboard")


def test_activation_link_and_password_change_on_a_phone(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    admin_totp = pyotp.TOTP(_administrator(live_server.settings))
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    url = live_server.url

    admin_context = browser.new_context(viewport=PHONE, is_mobile=True, locale="nl-NL")
    admin_page = admin_context.new_page()
    _log_in(admin_page, url, ADMIN_EMAIL, ADMIN_PASSWORD, admin_totp.now())
    admin_page.goto(url + "/beheer/gebruikers")
    admin_page.get_by_label("Naam", exact=True).fill("Sam Jansen")
    admin_page.get_by_label("E-mailadres").fill(NEW_EMAIL)
    admin_page.get_by_label("Rol", exact=True).select_option("outreach_worker")
    admin_page.get_by_role("button", name="Gebruiker toevoegen").click()
    link = admin_page.locator("code.activation-link").inner_text()
    assert link.startswith("http://127.0.0.1:8000/account/activeren/")
    check_page_basics(admin_page, shots, "accounts-1-link-shown")
    assert NEW_PASSWORD not in admin_page.content()
    admin_context.close()

    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="nl-NL")
    page = context.new_page()
    path = link.removeprefix("http://127.0.0.1:8000")
    page.goto(url + path)
    expect(page.locator("h1")).to_contain_text("Stel je wachtwoord in")
    check_page_basics(page, shots, "accounts-2-activate")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord nogmaals").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Wachtwoord instellen").click()
    expect(page).to_have_url(url + "/account/tweede-factor")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code uit de app").fill(totp.now())
    page.get_by_role("button", name="Bevestigen").click()
    expect(page).to_have_url(url + "/dashboard")

    page.get_by_role("link", name="Wachtwoord wijzigen").click()
    expect(page).to_have_url(url + "/account/wachtwoord")
    check_page_basics(page, shots, "accounts-3-password")
    page.get_by_label("Huidig wachtwoord").fill(NEW_PASSWORD)
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(OTHER_PASSWORD)
    page.get_by_label("Nieuw wachtwoord nogmaals").fill(OTHER_PASSWORD)
    page.get_by_label("Verificatiecode").fill(totp.at(time.time() + totp.interval))
    page.get_by_role("button", name="Wachtwoord wijzigen").last.click()
    expect(page).to_have_url(url + "/account/wachtwoord?gewijzigd=ja")
    expect(page.get_by_role("status").first).to_contain_text("Je wachtwoord is gewijzigd")
    check_page_basics(page, shots, "accounts-4-changed")
    context.close()
