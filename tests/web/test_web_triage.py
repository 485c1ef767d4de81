"""The triage queue: personas and networks by risk with paging and filters, and the decisions
(assign, review, escalate, dismiss) stored, audited and kept to the organisation that took them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signaal.store.db import transaction
from signaal.store.models import AuditEvent, Signal, SignalPersona, TriageDecision, TriageItem
from signaal.web.app import WebState

from .conftest import Account, SignIn, store_analysis

# The queue's SQL (LIKE on municipality lists, EXISTS on ads, the outer join) on both backends.
pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

PLACES = ["'s-Gravenhage", "Rotterdam", "Utrecht", "Amsterdam", "Zwolle"]
N_PERSONAS = 30


def queue_rows() -> dict[str, list[dict[str, object]]]:
    """30 personas in 3 networks, risk 100 down to 42 (P-00 highest), in five municipalities;
    P-00..P-04 have indicator A05 and site "site-a", the rest site "site-b"; the ads of P-20 and
    up are 60 days old."""
    now = datetime.now(UTC)
    personas, ads = [], []
    for i in range(N_PERSONAS):
        persona, network = f"P-{i:02d}", f"N-{i % 3}"
        place = PLACES[i % len(PLACES)]
        score = 100 - 2 * i
        posted = now - timedelta(days=60 if i >= 20 else 2)
        personas.append(
            {
                "persona_id": persona,
                "network_id": network,
                "n_ads": 1,
                "municipalities": place,
                "risk_score": score,
                "reasons": f"reden {persona}",
                "first_seen": posted,
                "last_seen": posted,
            }
        )
        ads.append(
            {
                "ad_id": f"A-{i:02d}",
                "persona_id": persona,
                "network_id": network,
                "risk_score": score,
                "risk_level": "priority" if score >= 70 else "review",
                "indicators": "A05 B02" if i < 5 else "B02",
                "site": "site-a" if i < 5 else "site-b",
                "municipality": place,
                "title": f"Advertentie {persona}",
                "text": "Synthetische testadvertentie",
                "posted_at": posted,
            }
        )
    networks = [
        {
            "network_id": f"N-{n}",
            "n_personas": 10,
            "n_ads": 10,
            "contact_points": "",
            "municipalities": ";".join(PLACES),
            "risk_score": 90 - n,
            "reasons": f"netwerk {n}",
        }
        for n in range(3)
    ]
    return {"networks": networks, "personas": personas, "ads": ads, "movements": []}


@pytest.fixture
def queue_runs(state: WebState, accounts_by_role: dict[str, Account]) -> dict[int, int]:
    """The same queue stored for every organisation with an account: organisation -> run."""
    organisations = sorted({a.organisation_id for a in accounts_by_role.values()})
    with transaction(state.sessions) as session:
        return {
            org: store_analysis(session, state.settings, org, queue_rows()) for org in organisations
        }


def shown(html: str) -> list[str]:
    return re.findall(r'<li id="item-([^"]+)"', html)


def _csrf(client: TestClient) -> str:
    html = client.get("/analyse/triage").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_the_queue_is_ordered_by_risk_and_paged(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs, state
) -> None:
    sign_in(accounts_by_role["analyst"])
    first = client.get("/analyse/triage")
    assert first.status_code == 200
    assert shown(first.text) == [f"P-{i:02d}" for i in range(25)]
    assert "30 items, pagina 1 van 2" in first.text
    assert (
        'rel="next" href="/analyse/triage?soort=personas&amp;status=open&amp;pagina=2"'
        in first.text
    )
    second = client.get("/analyse/triage?soort=personas&status=open&pagina=2")
    assert shown(second.text) == [f"P-{i:02d}" for i in range(25, 30)]
    assert '<ol class="triage-list" start="26">' in second.text  # numbered on from page 1
    assert re.search(r"\b1 advertentie\s+·", first.text)
    assert "1 advertenties" not in first.text
    networks = client.get("/analyse/triage?soort=netwerken")
    assert shown(networks.text) == ["N-0", "N-1", "N-2"]
    with state.sessions() as session:
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "triage.viewed").order_by(AuditEvent.seq)
        ).all()
    assert len(viewed) == 3
    assert '"P-25"' in viewed[1].details
    assert '"P-00"' not in viewed[1].details


def test_dutch_by_default_and_a_phone_sized_page(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    sign_in(accounts_by_role["analyst"])
    html = client.get("/analyse/triage").text
    assert "Triagelijst" in html
    assert "Volgende pagina" in html
    # 25 items a page: the page stays short (the old overview was 14,000 px of one network).
    assert len(shown(html)) == 25
    client.cookies.set("signaal_taal", "en")
    english = client.get("/analyse/triage").text
    assert "Triage queue" in english
    assert "Next page" in english


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("Den Haag", {f"P-{i:02d}" for i in range(0, 30, 5)}),
        ("'s-Gravenhage", {f"P-{i:02d}" for i in range(0, 30, 5)}),
        # A province: every municipality in it ('s-Gravenhage and Rotterdam).
        ("Zuid-Holland", {f"P-{i:02d}" for i in range(30) if i % 5 in (0, 1)}),
    ],
)
def test_place_filter_resolves_through_geo(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
    place: str,
    expected: set[str],
) -> None:
    sign_in(accounts_by_role["analyst"])
    html = client.get("/analyse/triage", params={"plaats": place, "status": "all"}).text
    assert set(shown(html)) == expected


def test_an_unknown_place_matches_nothing_and_says_so(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    sign_in(accounts_by_role["analyst"])
    html = client.get("/analyse/triage", params={"plaats": "Nergensdorp"}).text
    assert shown(html) == []
    assert "Geen Nederlandse gemeente" in html


def test_indicator_site_level_and_period_filters(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    sign_in(accounts_by_role["analyst"])

    def ids(**params: str) -> list[str]:
        return shown(client.get("/analyse/triage", params={"status": "all", **params}).text)

    assert ids(indicator="A05") == [f"P-{i:02d}" for i in range(5)]
    assert ids(site="site-a") == [f"P-{i:02d}" for i in range(5)]
    # Priority is 70 and up: P-00 (100) .. P-15 (70).
    assert ids(niveau="priority") == [f"P-{i:02d}" for i in range(16)]
    assert ids(niveau="review")[:3] == ["P-16", "P-17", "P-18"]
    week_ago = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    assert ids(van=week_ago) == [f"P-{i:02d}" for i in range(20)]
    old_end = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    assert ids(tot=old_end) == [f"P-{i:02d}" for i in range(20, 30)]


def _decide(client: TestClient, csrf: str, item: str, **form: str):  # type: ignore[no-untyped-def]
    kind = "netwerken" if item.startswith("N-") else "personas"
    return client.post(
        f"/analyse/triage/{kind}/{item}",
        data={"csrf_token": csrf, "terug": "soort=personas&status=all", **form},
    )


def test_assign_to_a_colleague_and_find_it_under_mine(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
    state: WebState,
) -> None:
    analyst, coordinator = accounts_by_role["analyst"], accounts_by_role["care_coordinator"]
    sign_in(analyst)
    csrf = _csrf(client)
    answer = _decide(
        client, csrf, "P-03", besluit="assign", toegewezen_aan=str(coordinator.user_id)
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/analyse/triage?soort=personas&status=all#item-P-03"
    # Not a colleague: the police officer is of another organisation; the viewer may not decide.
    for other in ("police_officer", "viewer"):
        refused = _decide(
            client,
            csrf,
            "P-04",
            besluit="assign",
            toegewezen_aan=str(accounts_by_role[other].user_id),
        )
        assert refused.status_code == 422
        assert "Kies een collega van je organisatie" in refused.text
    sign_in(coordinator)
    mine = client.get("/analyse/triage?status=mine").text
    assert shown(mine) == ["P-03"]
    assert "Toegewezen" in mine
    with state.sessions() as session:
        item = session.scalar(select(TriageItem).where(TriageItem.item_id == "P-03"))
        assert item is not None
        assert item.status == "assigned"
        assert item.assigned_to_user_id == coordinator.user_id
        assert session.scalar(select(TriageItem).where(TriageItem.item_id == "P-04")) is None


def test_dismiss_needs_a_reason_and_is_a_negative_label(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
    state: WebState,
) -> None:
    sign_in(accounts_by_role["analyst"])
    csrf = _csrf(client)
    refused = _decide(client, csrf, "P-00", besluit="dismiss", reden="  ")
    assert refused.status_code == 422
    assert "Vul dit in." in refused.text
    done = _decide(client, csrf, "P-00", besluit="dismiss", reden="Bekende zzp'er, geen signalen")
    assert done.status_code == 303
    open_queue = shown(client.get("/analyse/triage").text)
    assert "P-00" not in open_queue
    dismissed = client.get("/analyse/triage?status=dismissed").text
    assert shown(dismissed) == ["P-00"]
    assert "Laatste besluit: afgewezen door Test analyst" in dismissed
    assert "<q>Bekende zzp&#39;er, geen signalen</q>" in dismissed
    with state.sessions() as session:
        decision = session.scalar(select(TriageDecision))
        assert decision is not None
        assert (decision.decision, decision.label) == ("dismiss", False)
        assert decision.reason == "Bekende zzp'er, geen signalen"
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "triage.decided"))
        assert event is not None
        assert event.record_id == "P-00"
        # The free text stays with the decision; the audit log names the decision only.
        assert "zzp" not in event.details


def test_review_keeps_no_label(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
    state: WebState,
) -> None:
    sign_in(accounts_by_role["analyst"])
    assert _decide(client, _csrf(client), "N-1", besluit="review").status_code == 303
    assert shown(client.get("/analyse/triage?soort=netwerken&status=reviewed").text) == ["N-1"]
    with state.sessions() as session:
        decision = session.scalar(select(TriageDecision))
        assert decision is not None
        assert (decision.decision, decision.label) == ("review", None)


def test_escalation_registers_a_signal_with_a_link_back(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
    state: WebState,
) -> None:
    coordinator = accounts_by_role["care_coordinator"]
    sign_in(coordinator)
    csrf = _csrf(client)
    assert _decide(client, csrf, "P-02", besluit="escalate").status_code == 303
    with state.sessions() as session:
        signal = session.scalar(select(Signal))
        assert signal is not None
        assert (signal.source, signal.category) == ("ad_monitor", "ad_indicators")
        assert signal.organisation_id == coordinator.organisation_id
        assert signal.municipality == "Utrecht"
        linked = session.scalars(select(SignalPersona.persona_id)).all()
        assert linked == ["P-02"]
        decision = session.scalar(select(TriageDecision))
        assert decision is not None
        assert (decision.label, decision.signal_id) == (True, signal.id)
    page = client.get("/analyse/triage?status=escalated").text
    assert f'href="/signalen/{signal.id}"' in page
    # Twice is refused: one signal per item.
    twice = _decide(client, csrf, "P-02", besluit="escalate")
    assert twice.status_code == 422
    assert "Voor dit item is al een signaal geregistreerd." in twice.text
    # A network's escalation links its personas.
    assert _decide(client, csrf, "N-2", besluit="escalate").status_code == 303
    with state.sessions() as session:
        network_signal = session.scalars(select(Signal).order_by(Signal.id.desc())).first()
        assert network_signal is not None
        members = session.scalars(
            select(SignalPersona.persona_id).where(SignalPersona.signal_id == network_signal.id)
        ).all()
    assert sorted(members) == [f"P-{i:02d}" for i in range(2, 30, 3)]


def test_an_analyst_cannot_escalate(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    """The analyst decides on the queue but registers no signals (no signals.create)."""
    sign_in(accounts_by_role["analyst"])
    html = client.get("/analyse/triage").text
    assert 'value="escalate"' not in html
    assert _decide(client, _csrf(client), "P-01", besluit="escalate").status_code == 403


def test_decisions_of_one_organisation_are_invisible_to_another(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs,
) -> None:
    """The GGD and the police hold the same ids in their own runs: the GGD's decision changes
    nothing in the police queue."""
    sign_in(accounts_by_role["analyst"])  # GGD
    csrf = _csrf(client)
    assert _decide(client, csrf, "P-05", besluit="dismiss", reden="GGD-reden").status_code == 303
    sign_in(accounts_by_role["police_officer"])
    police = client.get("/analyse/triage").text
    assert "P-05" in shown(police)
    assert "GGD-reden" not in police
    assert shown(client.get("/analyse/triage?status=dismissed").text) == []


def test_switching_language_keeps_the_page_and_its_filters(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    sign_in(accounts_by_role["analyst"])
    page = client.get("/analyse/triage", params={"plaats": "Den Haag", "status": "all"})
    here = "/analyse/triage?plaats=Den+Haag&amp;status=all"
    assert f'name="volgende" value="{here}"' in page.text
    switched = client.post(
        "/taal",
        data={
            "csrf_token": _csrf(client),
            "taal": "en",
            "volgende": "/analyse/triage?plaats=Den+Haag&status=all",
        },
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/analyse/triage?plaats=Den+Haag&status=all"
    english = client.get(switched.headers["location"])
    assert "Triage queue" in english.text
    assert set(shown(english.text)) == {f"P-{i:02d}" for i in range(0, 30, 5)}


def test_the_menu_marks_only_the_triage_queue_as_current(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, queue_runs
) -> None:
    sign_in(accounts_by_role["analyst"])
    html = client.get("/analyse/triage").text
    menu = html[html.index('<ul class="menu">') :]
    menu = menu[: menu.index("</ul>")]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', menu) == ["/analyse/triage"]
    analysis = client.get("/analyse").text
    menu = analysis[analysis.index('<ul class="menu">') :]
    menu = menu[: menu.index("</ul>")]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', menu) == ["/analyse"]
