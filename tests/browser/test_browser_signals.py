"""In a real browser on a phone-sized screen: the care coordinator registers a signal with the
phone form, routes it from her inbox to the police with a question; the police officer returns
it with a reason; the coordinator sees it back in her inbox with a message. WCAG basics on
every page on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from signaal.chain import accounts
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import OrganisationKind

from .test_browser_login import PHONE, check_page_basics

pytestmark = pytest.mark.browser

PASSWORD = "een lang en goed wachtwoord"
COORDINATOR = "zorgcoordinator@proef.example.test"
OFFICER = "agent@politie-proef.example.test"


def _people(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A care coordinator (region Utrecht) and a police officer, each with a second factor;
    returns their TOTP secrets by e-mail."""
    engine = make_engine(settings.effective_database_url)
    secrets: dict[str, str] = {}
    try:
        with transaction(session_factory(engine)) as session:
            coordination = accounts.create_organisation(
                session, name="Zorgcoördinatie Proefregio", kind=OrganisationKind.CARE_COORDINATION
            )
            coordination.region = "Utrecht"
            police = accounts.create_organisation(
                session, name="Politie Proefeenheid", kind=OrganisationKind.POLICE
            )
            for email, organisation, role, name in (
                (COORDINATOR, coordination, "care_coordinator", "Fatima El Amrani"),
                (OFFICER, police, "police_officer", "Joost Bakker"),
            ):
                user = accounts.create_user(
                    session,
                    email=email,
                    password=PASSWORD,
                    display_name=name,
                    organisation=organisation,
                    role=role,
                )
                secret, _ = accounts.begin_totp_enrolment(session, user)
                user.totp_enabled = True
                secrets[email] = secret
    finally:
        engine.dispose()
    return secrets


def _log_in(page: Page, url: str, email: str, secret: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_label("Verificatiecode").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Controleren").click()
    expect(page).to_have_url(url + "/dashboard")


def test_coordinator_routes_a_signal_and_the_partner_returns_it(
    live_server, browser: Browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    url = live_server.url
    secrets = _people(live_server.settings)

    coordinator = browser.new_context(viewport=PHONE).new_page()
    _log_in(coordinator, url, COORDINATOR, secrets[COORDINATOR])
    coordinator.get_by_role("link", name="Signalen").first.click()
    coordinator.get_by_role("link", name="Signaal melden").click()
    check_page_basics(coordinator, shots, "signaal-melden")
    coordinator.get_by_label("Wat zag u?").select_option("sleeps_at_work")
    coordinator.get_by_label("Gemeente of plaats").fill("Amersfoort")
    coordinator.get_by_label("Wat er gebeurde (geen namen)").fill(
        "Synthetisch: slaapt in het pand."
    )
    coordinator.get_by_role("button", name="Signaal melden").click()
    expect(coordinator.get_by_text("Het signaal is gemeld.")).to_be_visible()
    check_page_basics(coordinator, shots, "signaal")

    coordinator.goto(url + "/coordinatie")
    check_page_basics(coordinator, shots, "coordinatie")
    card = coordinator.locator(".inbox li").first
    card.get_by_text("Signaal 1 uitzetten").click()
    card.get_by_label("Partnerorganisatie").select_option(label="Politie Proefeenheid")
    card.get_by_label("Vraag aan de partner").fill("Kunnen jullie bij de controle langsgaan?")
    card.get_by_label("Grond om te delen").select_option("consent")
    card.get_by_label("Doel").fill("Bescherming")
    card.get_by_role("button", name="Uitzetten").click()
    expect(coordinator.get_by_text("Het signaal is uitgezet.")).to_be_visible()
    expect(coordinator.get_by_text("Niets om uit te zetten.")).to_be_visible()

    officer = browser.new_context(viewport=PHONE).new_page()
    _log_in(officer, url, OFFICER, secrets[OFFICER])
    officer.get_by_role("link", name="Verwijzingen").click()
    check_page_basics(officer, shots, "verwijzingen")
    incoming = officer.locator("#verwijzing-1")
    expect(incoming).to_contain_text("Kunnen jullie bij de controle langsgaan?")
    incoming.get_by_role("button", name="Teruggeven").click()
    expect(officer.locator(".error-summary")).to_be_visible()  # a return needs a reason
    officer.locator("#verwijzing-1").get_by_label(
        "Reden (nodig om terug te geven of in te trekken)"
    ).fill("Geen capaciteit deze week")
    officer.locator("#verwijzing-1").get_by_role("button", name="Teruggeven").click()
    expect(officer.locator("#verwijzing-1")).to_contain_text("Teruggegeven")

    coordinator.goto(url + "/coordinatie")
    expect(coordinator.get_by_text("Signaal 1 is teruggegeven door een partner.")).to_be_visible()
    expect(coordinator.locator("#signaal-1")).to_contain_text("Teruggegeven")
    check_page_basics(coordinator, shots, "coordinatie-terug")
