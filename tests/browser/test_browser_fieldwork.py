"""On a phone (390 x 844): an outreach worker logs a contact with a call-back for tomorrow in
well under a minute of taps, and a shelter worker updates the free places at night."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from signaal.chain import accounts
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import OrganisationKind, OutreachContact, Shelter, Task

from .test_browser_login import PHONE, check_page_basics

pytestmark = pytest.mark.browser

PASSWORD = "een lang en goed wachtwoord"
# The brief for the field: logging a contact and its call-back takes under a minute. The
# scripted taps must take a fraction of that, or a real person on a phone cannot make it.
FIELD_BUDGET_SECONDS = 60.0


def _user(settings, kind: OrganisationKind, role: str, email: str) -> str:  # type: ignore[no-untyped-def]
    """Create an organisation and a user with TOTP on; returns the TOTP secret."""
    secret = pyotp.random_base32()
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            organisation = accounts.create_organisation(
                session, name=f"Proef {kind.value}", kind=kind
            )
            user = accounts.create_user(
                session,
                email=email,
                password=PASSWORD,
                display_name=email.split("@")[0],
                organisation=organisation,
                role=role,
            )
            user.totp_secret = secret
            user.totp_enabled = True
            if kind is OrganisationKind.SHELTER:
                session.add(
                    Shelter(
                        organisation_id=organisation.id,
                        name="Huis Noord",
                        municipality="Groningen",
                        capacity=6,
                        available_places=2,
                    )
                )
    finally:
        engine.dispose()
    return secret


def _log_in(page: Page, url: str, email: str, secret: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_label("Verificatiecode").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Controleren").click()
    expect(page).to_have_url(url + "/dashboard")


def _phone(browser: Browser):  # type: ignore[no-untyped-def]
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="nl-NL"
    )


def _rows(settings, model):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.effective_database_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


def test_outreach_worker_logs_a_contact_and_a_call_back_in_under_a_minute(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    email = "veldwerker@outreach.example.test"
    secret = _user(live_server.settings, OrganisationKind.OUTREACH, "outreach_worker", email)
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url, email, secret)

    started = time.monotonic()
    page.get_by_role("link", name="Contact vastleggen").first.tap()
    expect(page).to_have_url(live_server.url + "/contact/nieuw")
    page.locator("label.tap-choice", has_text="Straatbezoek").tap()
    page.get_by_label("Gemeente of plaats").fill("Utrecht")
    page.get_by_label("Telefoonnummer gekregen").fill("06 1234 5678")
    page.get_by_label("Hoe ging het?").fill("Kort gesprek, wil morgen praten")
    page.get_by_role("button", name="Opslaan en morgen terugbellen").tap()
    expect(page.locator("#taak-opgeslagen")).to_be_visible()
    elapsed = time.monotonic() - started
    check_page_basics(page, shots, "fieldwork-1-contact-saved")

    assert elapsed < FIELD_BUDGET_SECONDS, f"logging a contact took {elapsed:.1f} s"
    expect(page.locator("#contact-opgeslagen")).to_contain_text("06-•••••78")
    # The main button sits in reach of a thumb: inside the first two screens of the phone.
    page.goto(live_server.url + "/contact/nieuw")
    box = page.get_by_role("button", name="Opslaan en morgen terugbellen").bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] >= 300
    check_page_basics(page, shots, "fieldwork-2-contact-form")
    page.get_by_role("link", name="Taken").first.tap()
    expect(page.locator(".task-list")).to_contain_text("Terugbellen")
    check_page_basics(page, shots, "fieldwork-3-tasks")
    context.close()

    contacts = _rows(live_server.settings, OutreachContact)
    tasks = _rows(live_server.settings, Task)
    assert len(contacts) == 1
    assert contacts[0].phone_masked == "06-•••••78"
    assert len(tasks) == 1
    assert tasks[0].kind == "call_back"
    print(f"contact + call-back on a 390 px phone: {elapsed:.2f} s of scripted taps")


def test_shelter_worker_updates_free_places_on_a_phone(
    browser: Browser, live_server, tmp_path_factory: pytest.TempPathFactory
):
    email = "nachtdienst@opvang.example.test"
    secret = _user(live_server.settings, OrganisationKind.SHELTER, "shelter_worker", email)
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    context = _phone(browser)
    page = context.new_page()
    _log_in(page, live_server.url, email, secret)
    page.get_by_role("link", name="Opvang").first.tap()
    expect(page).to_have_url(live_server.url + "/opvang")
    check_page_basics(page, shots, "shelter-1-directory")
    places = page.get_by_label("Vrije plekken nu")
    places.fill("9")  # more than the capacity: refused, nothing changes
    page.get_by_role("button", name="Plekken opslaan").tap()
    expect(page.locator(".field-error").first).to_contain_text("Dit is te lang of te groot")
    page.get_by_label("Vrije plekken nu").fill("0")
    page.get_by_role("button", name="Plekken opslaan").tap()
    expect(page.get_by_role("status")).to_contain_text("Vrije plekken opgeslagen")
    expect(page.locator(".places").first).to_have_text("0")
    check_page_basics(page, shots, "shelter-2-saved")
    context.close()
    assert [s.available_places for s in _rows(live_server.settings, Shelter)] == [0]
