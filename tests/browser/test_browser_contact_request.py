"""In a real browser on a phone-sized screen: an outreach worker registers a signal with a
person's name on the phone form, sees that the police also hold her (name and contact route
only) and asks them to get in touch; the police officer sees the request about her own person
and accepts it with what she shares; the outreach worker reads the answer. WCAG basics on every
page on the way."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from signaal.chain import accounts, sharing, subjects
from signaal.chain.authz import actor_for
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import OrganisationKind

from .test_browser_login import PHONE, check_page_basics
from .test_browser_signals import PASSWORD, _log_in

pytestmark = pytest.mark.browser

OUTREACH = "straatwerk@outreach-hit.example.test"
OFFICER = "agent@politie-hit.example.test"
ROUTE = "Zedenrecherche 0900-000 0000 (werkdagen)"


def _world(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Police and outreach under a hit/no-hit agreement; the police hold Sanne. Returns the
    TOTP secrets by e-mail."""
    engine = make_engine(settings.effective_database_url)
    secrets: dict[str, str] = {}
    now = datetime.now(UTC)
    try:
        with transaction(session_factory(engine)) as session:
            police = accounts.create_organisation(
                session, name="Politie Hitregio", kind=OrganisationKind.POLICE
            )
            police.contact_route = ROUTE
            outreach = accounts.create_organisation(
                session, name="Outreach Hitregio", kind=OrganisationKind.OUTREACH
            )
            users = {}
            for email, organisation, role in (
                (OUTREACH, outreach, "outreach_worker"),
                (OFFICER, police, "police_officer"),
                ("beheer@outreach-hit.example.test", outreach, "administrator"),
            ):
                user = accounts.create_user(
                    session,
                    email=email,
                    password=PASSWORD,
                    display_name="Synthetisch",
                    organisation=organisation,
                    role=role,
                )
                secret, _ = accounts.begin_totp_enrolment(session, user)
                user.totp_enabled = True
                secrets[email] = secret
                users[email] = user
            session.flush()
            sharing.create_agreement(
                session,
                actor_for(users["beheer@outreach-hit.example.test"]),
                sharing.AgreementDraft(
                    name="Convenant hit/no-hit",
                    parties=[outreach.id, police.id],
                    categories=["*"],
                    purpose="Weten wie dezelfde persoon kent",
                    legal_basis="Convenant art. 6 (synthetisch voorbeeld)",
                    valid_from=now - timedelta(days=1),
                    hit_no_hit=True,
                ),
                ip=None,
            )
            subjects.create_subject(
                session,
                actor_for(users[OFFICER]),
                subjects.SubjectDraft(
                    alias="Synthetische P",
                    first_name="Sanne",
                    surname="van der Berg",
                    birth_date=date(1990, 3, 14),
                ),
                pseudonym_key=settings.pseudonym_key,
                contact_key=settings.contact_key,
                ip=None,
            )
    finally:
        engine.dispose()
    return secrets


def test_a_hit_leads_to_an_accepted_contact_request(
    live_server, browser: Browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    shots = Path(os.environ.get("SIGNAAL_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    url = live_server.url
    secrets = _world(live_server.settings)

    worker = browser.new_context(viewport=PHONE).new_page()
    _log_in(worker, url, OUTREACH, secrets[OUTREACH])
    worker.goto(url + "/signalen/nieuw")
    worker.get_by_label("Wat zag u?").select_option("sleeps_at_work")
    worker.get_by_label("Gemeente of plaats").fill("Utrecht")
    worker.get_by_label("Wat er gebeurde (geen namen)").fill("Synthetisch: slaapt in het pand.")
    worker.get_by_text("Telefoonnummer of alias (niet verplicht)").click()
    worker.get_by_label("Alias").fill("Synthetische O")
    worker.get_by_label("Voornaam (wordt niet opgeslagen)").fill("SANNE")
    worker.get_by_label("Achternaam (wordt niet opgeslagen)").fill("Vd Berg")
    worker.get_by_label("Geboortedatum (wordt niet opgeslagen)").fill("1991-03-14")
    check_page_basics(worker, shots, "signaal-met-naam")
    worker.get_by_role("button", name="Signaal melden").click()
    hits = worker.locator("#hits")
    expect(hits).to_contain_text("Politie Hitregio")
    expect(hits).to_contain_text(ROUTE)
    expect(worker.get_by_text("Synthetische P")).to_have_count(0)
    check_page_basics(worker, shots, "signaal-hits")
    hits.get_by_label("Bericht aan Politie Hitregio (wie je bent, waarom je het vraagt)").fill(
        "Wij kennen haar van straatwerk; bel ons."
    )
    hits.get_by_role("button", name="Contact aanvragen").click()
    expect(worker).to_have_url(url + "/contactverzoeken")
    expect(worker.get_by_text("wacht op antwoord")).to_be_visible()
    check_page_basics(worker, shots, "contactverzoeken-uit")

    officer = browser.new_context(viewport=PHONE).new_page()
    _log_in(officer, url, OFFICER, secrets[OFFICER])
    officer.get_by_role("link", name="Contactverzoeken").first.click()
    request = officer.locator(".card").first
    expect(request).to_contain_text("Wij kennen haar van straatwerk; bel ons.")
    expect(request).to_contain_text("Synthetische P")  # her own person, never the other's
    expect(request).not_to_contain_text("Synthetische O")
    check_page_basics(officer, shots, "contactverzoeken-in")
    request.get_by_role("button", name="Verzoek accepteren").click()
    expect(officer.locator(".field-error")).to_be_visible()  # accepting needs an answer
    officer.locator(".card").first.get_by_label(
        "Je antwoord: wat je deelt en hoe je bereikbaar bent (nodig om te accepteren)"
    ).fill("Bel rechercheur J. op de zedenlijn.")
    officer.locator(".card").first.get_by_role("button", name="Verzoek accepteren").click()
    expect(officer.locator(".card").first).to_contain_text("geaccepteerd")

    worker.goto(url + "/contactverzoeken")
    expect(worker.get_by_text("Bel rechercheur J. op de zedenlijn.")).to_be_visible()
