"""In a real browser: a demo police officer puts a persona on the visit list of a planned joint
control from the persona page and reads the list on the control page (desktop); the demo
outreach worker of the partner organisation reads it on a phone, records the outcome of the
visit and opens the list for paper and phone. Every page passes axe-core (no serious or
critical violation), logs no console or CSP error and never scrolls sideways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from signaal.chain.accounts import demo_email
from signaal.settings import Settings
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import JointControl, User
from web.conftest import analysis_rows

from .test_browser_analysis import DESKTOP
from .test_browser_login import PHONE
from .test_browser_triage import _shots
from .test_browser_watchlist import check_page, log_in, store_run

pytestmark = pytest.mark.browser

PSEUDONYM = "phone:0123456789abcdef"


def _plan_control(settings: Settings) -> int:
    """A control of the demo police with the demo outreach team, the day after tomorrow."""
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(session_factory(engine)) as session:

            def organisation_of(role: str) -> int:
                found = session.scalar(
                    select(User.organisation_id).where(User.email == demo_email(role))
                )
                assert found is not None
                return found

            control = JointControl(
                organisation_id=organisation_of("police_officer"),
                partner_organisation_id=organisation_of("outreach_worker"),
                planned_at=datetime.now(UTC) + timedelta(days=2),
                municipality="Utrecht",
                location="Stationsgebied",
            )
            session.add(control)
            session.flush()
            return control.id
    finally:
        engine.dispose()


def test_a_visit_list_from_persona_page_to_phone(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, tmp_path_factory
) -> None:
    rows = analysis_rows()
    rows["ads"][0]["text"] = f"Hallo, ik ben nieuw hier en ik ben er voor jou. Bel [{PSEUDONYM}]"
    store_run(live_server.settings, "police_officer", rows)
    control_id = _plan_control(live_server.settings)
    control_url = f"{live_server.url}/controles/{control_id}"
    shots = _shots(tmp_path_factory)

    desk = browser.new_context(viewport=DESKTOP, locale="nl-NL")
    page = desk.new_page()
    errors = log_in(page, live_server.url, "police_officer")
    page.goto(live_server.url + "/analyse/personas/P-1?doel=prepare_outreach")
    page.get_by_label("Gezamenlijke controle", exact=True).select_option(str(control_id))
    check_page(page, shots, "cv1-persona-add-desktop")
    page.get_by_role("button", name="Op de bezoeklijst zetten").click()
    expect(page.locator("#controle")).to_contain_text("Op de bezoeklijst van")
    page.goto(control_url)
    row = page.locator("#bezoek-P-1")
    expect(row).to_contain_text("Utrecht")
    expect(row).to_contain_text(PSEUDONYM)
    expect(row.get_by_role("button", name="Toon contactpunt")).to_be_visible()
    check_page(page, shots, "cv2-control-visit-list-desktop")
    desk.close()
    assert errors == []

    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="nl-NL"
    )
    page = phone.new_page()
    errors = log_in(page, live_server.url, "outreach_worker")
    page.goto(control_url)
    row = page.locator("#bezoek-P-1")
    expect(row).to_contain_text("Utrecht")
    expect(row).not_to_contain_text("phone:")
    check_page(page, shots, "cv3-control-visit-list-phone")
    row.get_by_text("Uitkomst vastleggen").tap()
    row.get_by_label("Uitkomst", exact=True).select_option("met")
    row.get_by_label("Notitie").fill("Gesprek in het Engels, komt terug")
    row.get_by_role("button", name="Uitkomst opslaan").tap()
    expect(page.locator("#bezoek-P-1")).to_contain_text("Ontmoet en gesproken")
    expect(page.locator("#bezoek-P-1")).to_contain_text("Gesprek in het Engels")
    check_page(page, shots, "cv4-outcome-recorded-phone")
    page.get_by_role("link", name="Bezoeklijst voor papier of telefoon").tap()
    expect(page.locator("h1")).to_contain_text("Bezoeklijst")
    expect(page.locator(".visit-cards")).to_contain_text("Ontmoet en gesproken")
    check_page(page, shots, "cv5-visit-sheet-phone")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    phone.close()
    assert errors == []
