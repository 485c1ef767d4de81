"""The network page: a graph of the personas and what links them (with a table of the links),
where the personas were per week, and the moves between municipalities on a map with a table;
contact points never in the clear; huge networks capped; another organisation refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from signaal.ads.outputs import reason_record
from signaal.ads.types import Reason, ReasonFacts
from signaal.cli import app as cli
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.sealing import Sealer
from signaal.settings import get_settings
from signaal.store.contacts import save_contact_points
from signaal.store.db import transaction
from signaal.store.models import AnalysisMovement, AnalysisPersona, AnalysisRun, AuditEvent
from signaal.web.app import WebState
from signaal.web.routes import analysis as analysis_routes
from signaal.web.security import LOCALE_COOKIE

from .conftest import (
    TEST_CONTACT_KEY,
    TEST_DATA_KEY,
    TEST_PSEUDONYM_KEY,
    Account,
    SignIn,
    store_analysis,
)

PHONE = "phone:8408aa11bb22cc33"
MAIL = "email:77aa11bb22cc33dd"
CLEAR = "+31694320989"  # synthetic: +31 6 9… is not given to subscribers
CLEAR_MAIL = "sweet.anna.test@example.nl"
PAGE = "/analyse/netwerken/N-G/personas"
MONDAY = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _facts(*reasons: Reason) -> str:
    return json.dumps([reason_record(r) for r in reasons])


def _shared_phone(personas: int) -> Reason:
    return Reason(
        "C01",
        "C",
        3.0,
        f"phone {PHONE} shared by {personas} personas",
        ReasonFacts(
            "shared_contact",
            figures=(("personas", personas),),
            contact=PHONE,
            contact_kind="phone",
            masked="06-•••••89",
        ),
    )


def _persona(persona_id: str, risk: int, *reasons: Reason) -> dict[str, object]:
    return {
        "persona_id": persona_id,
        "network_id": "N-G",
        "n_ads": 2,
        "municipalities": "Utrecht;Amersfoort",
        "risk_score": risk,
        "reasons": "",
        "reasons_json": _facts(*reasons),
    }


def _ad(ad_id: str, persona_id: str, place: str, at: datetime, text: str) -> dict[str, object]:
    return {
        "ad_id": ad_id,
        "persona_id": persona_id,
        "network_id": "N-G",
        "risk_score": 50,
        "risk_level": "review",
        "indicators": "",
        "municipality": place,
        "title": "Synthetische advertentie",
        "text": text,
        "posted_at": at,
    }


def _move(persona_id: str, origin: str | None, target: str, at: datetime) -> dict[str, object]:
    return {
        "persona_id": persona_id,
        "network_id": "N-G",
        "from_municipality": origin,
        "to_municipality": target,
        "at": at,
    }


def network_rows() -> dict[str, list[dict[str, object]]]:
    """Network N-G: P-A and P-B share a phone, P-B and P-C photos, P-A and P-C a text template;
    an e-mail address is in the text of an ad of P-C. P-A and P-B move together from Utrecht
    to Amersfoort in the second week."""
    template = Reason(
        "C03",
        "C",
        2.0,
        "near-duplicate text template shared by 2 personas [template:71]",
        ReasonFacts("shared_template", figures=(("personas", 2),), cluster="template:71"),
    )
    photo = Reason(
        "C02",
        "C",
        2.0,
        "photos reused by 2 personas of one network [photo:5]",
        ReasonFacts("shared_photo", figures=(("personas", 2),), cluster="photo:5"),
    )
    week2 = MONDAY + timedelta(weeks=1)
    return {
        "networks": [
            {
                "network_id": "N-G",
                "n_personas": 3,
                "n_ads": 6,
                "contact_points": f"{MAIL};{PHONE}",
                "municipalities": "Utrecht;Amersfoort",
                "risk_score": 80,
                "reasons": "",
                "reasons_json": _facts(_shared_phone(2)),
            }
        ],
        "personas": [
            _persona("P-A", 70, _shared_phone(2), template),
            _persona("P-B", 60, _shared_phone(2), photo),
            _persona("P-C", 40, photo, template),
        ],
        "ads": [
            _ad("A-1", "P-A", "Utrecht", MONDAY, f"Bel [{PHONE}]"),
            _ad("A-2", "P-A", "Amersfoort", week2, "Nieuw hier"),
            _ad("A-3", "P-B", "Utrecht", MONDAY + timedelta(days=1), "Lieve meid"),
            _ad("A-4", "P-B", "Amersfoort", week2 + timedelta(days=1), "Nieuw"),
            _ad("A-5", "P-C", "Zwolle", MONDAY, f"Mail [{MAIL}]"),
            _ad("A-6", "P-C", "Zwolle", week2, "Zwolle"),
        ],
        "movements": [
            _move("P-A", None, "Utrecht", MONDAY),
            _move("P-A", "Utrecht", "Amersfoort", week2),
            _move("P-B", None, "Utrecht", MONDAY + timedelta(days=1)),
            _move("P-B", "Utrecht", "Amersfoort", week2 + timedelta(days=1)),
            _move("P-B", "Amersfoort", "Utrecht", week2 + timedelta(days=3)),
            _move("P-C", None, "Zwolle", MONDAY),
        ],
    }


def _store(state: WebState, organisation_id: int, rows: dict[str, list[dict[str, object]]]) -> int:
    with transaction(state.sessions) as session:
        run_id = store_analysis(session, state.settings, organisation_id, rows)
        save_contact_points(
            session, run_id, {PHONE: CLEAR, MAIL: CLEAR_MAIL}, Sealer(TEST_CONTACT_KEY)
        )
    return run_id


def _section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>")[0]


def _rows_of(table_html: str) -> list[list[str]]:
    body = table_html.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_graph_shows_personas_contact_points_photos_and_templates_with_reasons(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    _store(state, accounts_by_role["analyst"].organisation_id, network_rows())
    sign_in(accounts_by_role["analyst"])
    client.cookies.set(LOCALE_COOKIE, "en")
    page = client.get(PAGE)
    assert page.status_code == 200
    graph = _section(page.text, "titel-graaf")
    svg = graph.split("</svg>")[0]
    for persona in ("P-A", "P-B", "P-C"):
        assert f'<a href="/analyse/personas/{persona}"' in svg
    assert svg.count('class="node node-persona') == 3
    assert svg.count('class="node node-contact"') == 2
    assert svg.count('class="node node-photo"') == 1
    assert svg.count('class="node node-template"') == 1
    assert "06-•••••89" in svg
    links = sorted(tuple(row) for row in _rows_of(graph.split('class="links-table"')[1]))
    assert links == [
        ("P-A", "phone number 06-•••••89", "shares phone number 06-•••••89 with other personas"),
        ("P-A", "text template 71", "same text template as other personas"),
        ("P-B", "phone number 06-•••••89", "shares phone number 06-•••••89 with other personas"),
        ("P-B", "photo group 5", "same photos as other personas of this network"),
        ("P-C", "e-mail address", "e-mail address is in the text of an ad"),
        ("P-C", "photo group 5", "same photos as other personas of this network"),
        ("P-C", "text template 71", "same text template as other personas"),
    ]
    # The analyst may reveal: the reveal form (a purpose first) is offered, no clear value.
    assert "/contactpunten/" + PHONE in graph
    assert CLEAR not in page.text
    assert CLEAR_MAIL not in page.text
    # The existing page stays: the audit event, the watch and export buttons.
    with state.sessions() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    assert event.action == "analysis.network_viewed"
    assert event.record_id == "N-G"
    assert 'action="/volglijst/netwerken/N-G"' in page.text
    assert 'href="/analyse/netwerken/N-G/bewijs.pdf"' in page.text
    # The CSP forbids inline script and style.
    assert "<script>" not in page.text
    assert " style=" not in page.text


@pytest.mark.parametrize("role", ["viewer", "care_coordinator"])
def test_a_role_that_may_not_see_contact_points_gets_no_clear_value_nor_reveal_form(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    role: str,
) -> None:
    _store(state, accounts_by_role[role].organisation_id, network_rows())
    sign_in(accounts_by_role[role])
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "06-•••••89" in page.text  # masked, as in the reasons
    for clear in (CLEAR, "0694320989", "06-94320989", CLEAR_MAIL):
        assert clear not in page.text
    assert "/contactpunten/" not in page.text
    if role == "viewer":  # may not open personas: no link to one
        assert 'href="/analyse/personas/' not in page.text


def test_another_organisations_user_is_refused(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    _store(state, accounts_by_role["analyst"].organisation_id, network_rows())
    sign_in(accounts_by_role["other_org_admin"])
    answer = client.get(PAGE)
    assert answer.status_code == 403
    assert "P-A" not in answer.text
    assert "06-•••••89" not in answer.text


def test_weeks_and_flows_are_the_stored_ads_and_movements(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    run_id = _store(state, accounts_by_role["analyst"].organisation_id, network_rows())
    sign_in(accounts_by_role["analyst"])
    client.cookies.set(LOCALE_COOKIE, "en")
    html = client.get(PAGE).text
    weeks = _rows_of(_section(html, "titel-weken"))
    assert [row[0] for row in weeks] == ["P-A", "P-B", "P-C"]  # highest risk first
    assert weeks[0][1:] == ["Utrecht (together)●", "Amersfoort (together)●"]
    assert weeks[2][1:] == ["Zwolle", "Zwolle"]
    assert '<time datetime="2026-11-02">02-11</time>' in html

    flows = _section(html, "titel-stromen")
    shown = {(a, b): (int(n), int(p)) for a, b, n, p in _rows_of(flows)}
    with state.sessions() as session:
        stored = session.scalars(
            select(AnalysisMovement).where(
                AnalysisMovement.run_id == run_id, AnalysisMovement.network_id == "N-G"
            )
        ).all()
    expected: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for move in stored:
        if move.from_municipality and move.from_municipality != move.to_municipality:
            n, who = expected.get((move.from_municipality, move.to_municipality), (0, set()))
            expected[(move.from_municipality, move.to_municipality)] = (
                n + 1,
                who | {move.persona_id},
            )
    assert shown == {key: (n, len(who)) for key, (n, who) in expected.items()}
    assert shown == {("Utrecht", "Amersfoort"): (2, 2), ("Amersfoort", "Utrecht"): (1, 1)}
    # Drawn between the municipalities on the outline map.
    assert flows.count('class="flow flow-') == 2
    assert flows.count('class="band-0"') > 10  # the outlines around Utrecht and Amersfoort


def test_a_huge_network_is_capped_and_says_so(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    rows = network_rows()
    rows["personas"] += [_persona(f"P-X{i:03d}", 10, _shared_phone(83)) for i in range(80)]
    rows["networks"][0]["n_personas"] = 83
    _store(state, accounts_by_role["analyst"].organisation_id, rows)
    sign_in(accounts_by_role["analyst"])
    client.cookies.set(LOCALE_COOKIE, "en")
    html = client.get(PAGE).text
    graph = _section(html, "titel-graaf")
    assert "the graph shows the 30 highest-risk of its 83 personas" in graph
    assert graph.split("</svg>")[0].count('class="node node-persona') == 30
    assert "P-A" in graph
    assert "P-X079" not in graph
    # The long lists are folded away.
    assert '<details class="network-personas">' in html


def test_the_partial_for_the_overview_stays_the_personas_only(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    _store(state, accounts_by_role["viewer"].organisation_id, network_rows())
    sign_in(accounts_by_role["viewer"])
    fragment = client.get(PAGE, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "P-A" in fragment.text
    assert "network-graph" not in fragment.text
    assert "<html" not in fragment.text


runner = CliRunner()


def test_a_synthetic_corpus_network_page_shows_no_clear_phone_to_a_viewer(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    web_settings,  # type: ignore[no-untyped-def]
    tmp_path,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``signaal synth`` then ``signaal analyse --store``: the network with most personas, as a
    viewer sees it, holds its graph but no clear phone of the corpus."""
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", web_settings.database_url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    monkeypatch.setenv("SIGNAAL_CONTACT_KEY", TEST_CONTACT_KEY)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    try:
        made = runner.invoke(cli, ["synth", "--ads", "600", "--seed", "11", "--out", str(tmp_path)])
        assert made.exit_code == 0, made.output
        stored = runner.invoke(
            cli,
            [
                "analyse",
                str(tmp_path / "ads.jsonl"),
                "--out",
                str(tmp_path / "out"),
                "--quiet",
                "--no-photos",
                "--store",
                "--organisation",
                "Test GGD",
            ],
        )
        assert stored.exit_code == 0, stored.output
    finally:
        get_settings.cache_clear()
    phones: set[str] = set()
    for line in (tmp_path / "ads.jsonl").read_text("utf-8").splitlines():
        phones.update(json.loads(line).get("phones") or ())
    with state.sessions() as session:
        run = session.scalar(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(1))
        assert run is not None
        personas = session.scalars(
            select(AnalysisPersona).where(AnalysisPersona.run_id == run.id)
        ).all()
    sizes: dict[str, int] = {}
    for persona in personas:
        sizes[persona.network_id] = sizes.get(persona.network_id, 0) + 1
    biggest = max(sorted(sizes), key=lambda n: sizes[n])
    assert sizes[biggest] >= 2
    sign_in(accounts_by_role["viewer"])
    html = client.get(f"/analyse/netwerken/{biggest}/personas").text
    assert html.count('class="node node-persona') == sizes[biggest]
    assert 'class="node node-contact"' in html
    assert phones, "the corpus has phone numbers"
    # Every phone of the corpus, by its last nine digits (06…, +31 6…, 06-… alike).
    needles = {re.sub(r"\D", "", phone)[-9:] for phone in phones}
    runs = re.findall(r"\d+", html.replace(" ", "").replace("-", ""))
    assert not [needle for needle in needles if any(needle in run for run in runs)]
    assert pseudonym("phone", CLEAR, TEST_PSEUDONYM_KEY) not in html


def test_a_long_flows_table_is_capped_and_says_so(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analysis_routes, "FLOW_ROWS", 1)
    _store(state, accounts_by_role["analyst"].organisation_id, network_rows())
    sign_in(accounts_by_role["analyst"])
    client.cookies.set(LOCALE_COOKIE, "en")
    flows = _section(client.get(PAGE).text, "titel-stromen")
    assert _rows_of(flows) == [["Utrecht", "Amersfoort", "2", "2"]]  # most moves first
    assert "The 1 routes with the most moves of 2." in flows
