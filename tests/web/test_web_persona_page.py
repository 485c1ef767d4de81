"""The persona page: reasons in plain Dutch, every ad with its evidence marked, a timeline,
contact points masked, a link to the network; and the list of indicators the reasons link to."""

from __future__ import annotations

import json
import re

from signaal.ads.outputs import reason_record
from signaal.ads.types import Reason, ReasonFacts
from signaal.store.db import transaction
from signaal.web.security import LOCALE_COOKIE

from .conftest import analysis_rows, store_analysis

PHONE = "phone:8408aa11bb22cc33"
OTHER = "email:77aa11bb22cc33dd"


def _rows_with_facts() -> dict[str, list[dict[str, object]]]:
    rows = analysis_rows()
    persona_reasons = [
        Reason(
            "C01",
            "C",
            3.0,
            f"phone {PHONE} shared by 6 personas [ads A-1]",
            ReasonFacts(
                "shared_contact",
                figures=(("personas", 6),),
                ad_ids=("A-1",),
                contact=PHONE,
                contact_kind="phone",
                masked="06-•••••89",
            ),
        ),
        Reason(
            "A05",
            "A",
            2.0,
            "text: 'dag en nacht' (ad A-1)",
            ReasonFacts("cue", field="text", evidence="dag en nacht", ad_id="A-1"),
        ),
    ]
    rows["personas"][0]["reasons_json"] = json.dumps([reason_record(r) for r in persona_reasons])
    rows["networks"][0]["reasons_json"] = json.dumps(
        [
            reason_record(
                Reason(
                    "C04",
                    "C",
                    2.0,
                    "part of a network of 5 personas (N-1)",
                    ReasonFacts("network_size", figures=(("personas", 5),), network="N-1"),
                )
            )
        ]
    )
    first = rows["ads"][0]
    first["text"] = f"Lieve meid, dag en nacht bereikbaar. Bel [{PHONE}] of mail [{OTHER}]"
    first["indicators"] = "A05"
    return rows


def _store(state, accounts_by_role) -> None:  # type: ignore[no-untyped-def]
    organisation = accounts_by_role["outreach_worker"].organisation_id
    with transaction(state.sessions) as session:
        store_analysis(session, state.settings, organisation, _rows_with_facts())


def test_persona_page_explains_marks_and_masks(client, state, accounts_by_role, sign_in):
    _store(state, accounts_by_role)
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get("/analyse/personas/P-1?doel=prepare_outreach")
    assert page.status_code == 200
    html = page.text
    # The reasons in plain Dutch, with the indicator's label and a link to its source.
    assert (
        "Hetzelfde telefoonnummer (06-•••••89) staat in advertenties van 6 verschillende "
        "persona&#39;s." in html
    )
    assert "Telefoon gedeeld door meerdere persona&#39;s" in html
    assert "De tekst van een advertentie zegt: “dag en nacht”." in html
    assert 'href="/analyse/indicatoren#indicator-C01"' in html
    assert 'href="#ad-1"' in html  # the A05 cue links to the ad it was found in
    # The ad: the evidence marked, the contact points masked in its text.
    ad = html.split('id="ad-1"')[1].split("</li>")[0]
    assert re.search(r'<mark class="fam-a" title="A05 [^"]+">dag en nacht<sup>A05</sup></mark>', ad)
    assert PHONE not in ad
    assert OTHER not in ad
    assert '<span class="masked">[06-•••••89]</span>' in ad
    assert '<span class="masked">[e-mailadres]</span>' in ad
    assert "Onbeperkte beschikbaarheid (A05)" in ad
    # No analyst jargon in the reasons.
    reasons = html.split("Waarom deze persona op de lijst staat")[1].split("<h2")[0]
    assert "shared by" not in reasons
    assert PHONE not in reasons
    # A timeline of its ads, and a link to its network.
    assert "Tijdlijn van de advertenties" in html
    assert '<svg class="timeline"' in html
    assert "<strong>Amersfoort</strong>: 1 advertentie" in html
    assert 'href="/analyse/netwerken/N-1/personas"' in html
    assert "Netwerk van 1 persona" in html
    # No inline script or style on the page (the CSP forbids them).
    assert "<script>" not in html
    assert " style=" not in html


def test_persona_page_in_english(client, state, accounts_by_role, sign_in):
    _store(state, accounts_by_role)
    sign_in(accounts_by_role["outreach_worker"])
    client.cookies.set(LOCALE_COOKIE, "en")
    html = client.get("/analyse/personas/P-1?doel=prepare_outreach").text
    assert '<html lang="en">' in html
    assert "The same phone number (06-•••••89) appears in ads of 6 different personas." in html
    assert "Timeline of the ads" in html
    assert '<span class="masked">[e-mail address]</span>' in html


def test_network_page_explains_its_reasons(client, state, accounts_by_role, sign_in):
    _store(state, accounts_by_role)
    sign_in(accounts_by_role["viewer"])
    html = client.get("/analyse/netwerken/N-1/personas").text
    assert "Waarom dit netwerk op de lijst staat" in html
    assert "Dit netwerk telt 5 persona&#39;s." in html
    # The personas under it and the overview read the same plain words.
    assert "Telefoon gedeeld door meerdere persona&#39;s</strong>: Hetzelfde telefoonnummer" in html
    overview = client.get("/analyse").text
    assert "Cluster van minstens 4 persona&#39;s</strong>: Dit netwerk telt 5 persona&#39;s." in (
        overview
    )


def test_indicators_page_lists_every_indicator_with_its_source(client, accounts_by_role, sign_in):
    sign_in(accounts_by_role["viewer"])
    page = client.get("/analyse/indicatoren")
    assert page.status_code == 200
    assert 'id="indicator-C01"' in page.text
    assert "Telefoon gedeeld door meerdere persona&#39;s" in page.text
    assert "IDTraffickers" in page.text


def test_persona_and_network_pages_show_their_merges_and_splits_of_the_own_organisation_only(
    client, state, accounts_by_role, sign_in
):  # type: ignore[no-untyped-def]
    from signaal.ads.lineage import EvidenceLink, LineageEvent
    from signaal.store.ingested import save_lineage

    own = accounts_by_role["outreach_worker"].organisation_id
    other = accounts_by_role["other_org_admin"].organisation_id
    link = EvidenceLink("A-1", "A-2", "phone", "phone:8408aa11bb22cc33 same persona")
    with transaction(state.sessions) as session:
        foreign = store_analysis(session, state.settings, other, analysis_rows())
        save_lineage(
            session,
            foreign,
            None,
            [LineageEvent("persona", "merged", "P-1", ("P-1", "P-FOREIGN"), ("P-1",), ())],
        )
        run = store_analysis(session, state.settings, own, _rows_with_facts())
        save_lineage(
            session,
            run,
            None,
            [
                LineageEvent("persona", "merged", "P-1", ("P-1", "P-OLD"), ("P-1",), (link,)),
                LineageEvent("network", "split", "N-1", ("N-1",), ("N-1", "N-NEW"), ()),
                # A longer id that contains P-1 is another persona.
                LineageEvent("persona", "split", "P-10", ("P-10",), ("P-10", "P-11"), ()),
            ],
        )
    sign_in(accounts_by_role["outreach_worker"])
    html = client.get("/analyse/personas/P-1?doel=prepare_outreach").text
    assert "Wijzigingen sinds eerdere analyses" in html
    assert "samengevoegd met P-OLD: nieuw bewijs laat zien" in html
    assert "hetzelfde telefoonnummer" in html
    assert "P-FOREIGN" not in html  # the other organisation's run
    assert "P-11" not in html
    network = client.get("/analyse/netwerken/N-1/personas").text
    assert "afgesplitst naar N-NEW" in network
