"""In a real browser: a police officer sees exactly what the sharing agreement allows. The
outreach team's signal of a category the agreement names is listed and opens (its read audited
with the agreement's purpose); its signal of another category, and a signal of an organisation
that is no party, are neither listed nor opened (404, as for a signal that does not exist)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from signaal.chain import accounts
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import (
    Agreement,
    AgreementParty,
    AuditEvent,
    OrganisationKind,
    Signal,
)

from .test_browser_login import PHONE

pytestmark = pytest.mark.browser

PASSWORD = "een lang en goed wachtwoord"
OFFICER = "agent@politie-convenant.example.test"
PURPOSE = "Bescherming van slachtoffers van mensenhandel (convenant proefregio)"
SHARED_TEXT = "Synthetisch: begeleider wacht buiten in de auto."
OTHER_CATEGORY_TEXT = "Synthetisch: vertelt over een schuld aan de eigenaar."
NO_PARTY_TEXT = "Synthetisch: melding van een organisatie buiten het convenant."


def _world(settings) -> tuple[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    """Police, outreach and a GGD; an agreement between police and outreach on two categories;
    three signals. Returns the officer's TOTP secret and the signal ids by name."""
    engine = make_engine(settings.effective_database_url)
    now = datetime.now(UTC)
    try:
        with transaction(session_factory(engine)) as session:
            police = accounts.create_organisation(
                session, name="Politie Convenantregio", kind=OrganisationKind.POLICE
            )
            outreach = accounts.create_organisation(
                session, name="Outreach Convenantregio", kind=OrganisationKind.OUTREACH
            )
            ggd = accounts.create_organisation(
                session, name="GGD Buiten Convenant", kind=OrganisationKind.GGD
            )
            agreement = Agreement(
                organisation_id=outreach.id,
                name="Convenant proefregio",
                purpose=PURPOSE,
                legal_basis="Wpg art. 20 en AVG art. 6 lid 1 sub e (synthetisch voorbeeld)",
                categories="handler_present,minor",
                valid_from=now - timedelta(days=30),
            )
            session.add(agreement)
            session.flush()
            session.add_all(
                [
                    AgreementParty(agreement_id=agreement.id, organisation_id=police.id),
                    AgreementParty(agreement_id=agreement.id, organisation_id=outreach.id),
                ]
            )
            signals = {
                "shared": Signal(
                    organisation_id=outreach.id,
                    category="handler_present",
                    observed_at=now - timedelta(hours=3),
                    municipality="Utrecht",
                    region="Utrecht",
                    text=SHARED_TEXT,
                ),
                "other_category": Signal(
                    organisation_id=outreach.id,
                    category="debt",
                    observed_at=now - timedelta(hours=2),
                    municipality="Utrecht",
                    region="Utrecht",
                    text=OTHER_CATEGORY_TEXT,
                ),
                "no_party": Signal(
                    organisation_id=ggd.id,
                    category="handler_present",
                    observed_at=now - timedelta(hours=1),
                    municipality="Utrecht",
                    region="Utrecht",
                    text=NO_PARTY_TEXT,
                ),
            }
            session.add_all(signals.values())
            user = accounts.create_user(
                session,
                email=OFFICER,
                password=PASSWORD,
                display_name="Sanne de Vries",
                organisation=police,
                role="police_officer",
            )
            secret, _ = accounts.begin_totp_enrolment(session, user)
            user.totp_enabled = True
            session.flush()
            ids = {name: signal.id for name, signal in signals.items()}
    finally:
        engine.dispose()
    return secret, ids


def test_the_police_sees_only_what_the_agreement_allows(live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    url = live_server.url
    secret, ids = _world(live_server.settings)
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url + "/login")
    page.get_by_label("E-mailadres").fill(OFFICER)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_label("Verificatiecode").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Controleren").click()
    expect(page).to_have_url(url + "/dashboard")

    page.get_by_role("link", name="Signalen").first.click()
    listing = page.content()
    assert f'href="/signalen/{ids["shared"]}"' in listing
    assert f'href="/signalen/{ids["other_category"]}"' not in listing
    assert f'href="/signalen/{ids["no_party"]}"' not in listing
    for text in (OTHER_CATEGORY_TEXT, NO_PARTY_TEXT):
        assert text not in listing

    response = page.goto(f"{url}/signalen/{ids['shared']}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_text(SHARED_TEXT)).to_be_visible()

    missing = page.goto(f"{url}/signalen/{max(ids.values()) + 1000}")  # no signal has it
    assert missing is not None
    assert missing.status == 404
    no_id = max(ids.values()) + 1000
    missing_page = missing.text().replace(f"/signalen/{no_id}", "/signalen/ID")
    for name in ("other_category", "no_party"):
        refused = page.goto(f"{url}/signalen/{ids[name]}")
        assert refused is not None
        assert refused.status == 404
        refused_page = refused.text().replace(f"/signalen/{ids[name]}", "/signalen/ID")
        # The same page as for an id no signal has (the page links back to its own path).
        assert refused_page == missing_page
        assert OTHER_CATEGORY_TEXT not in refused_page
        assert NO_PARTY_TEXT not in refused_page

    # The read of the shared signal is audited with the agreement's purpose as its ground.
    engine = make_engine(live_server.settings.effective_database_url)
    try:
        with session_factory(engine)() as session:
            purposes = list(
                session.scalars(
                    select(AuditEvent.purpose).where(
                        AuditEvent.action == "chain.record_read",
                        AuditEvent.record_id == str(ids["shared"]),
                    )
                )
            )
    finally:
        engine.dispose()
    assert any(purpose and PURPOSE in purpose for purpose in purposes), purposes
