""" "Mijn gemeente" (/mijn-gemeente): a place or region resolved through signaal.geo, the weekly
figures with small counts withheld, the comparison and the map, the CSV downloads (formula-safe,
audited) and the refusals."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.local_rows import HAGUE, NOW, local_rows
from signaal.chain.authz import SYSTEM
from signaal.store.analysis import save_analysis
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, Organisation
from signaal.web.app import WebState

from .conftest import Account, SignIn

# The aggregates' SQL (ISO weeks, the arrivals' NOT EXISTS) on both backends.
pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

TAG = "-lokaal"  # in every id and title of the stored run: none may reach the page


def _store(state: WebState, organisation_id: int, *, hostile: bool = False) -> int:
    rows = local_rows(TAG)
    if hostile:  # an indicator code a spreadsheet would run as a formula
        rows["ads"][0]["indicators"] = "A05 =HYPERLINK(1)"
    with transaction(state.sessions) as session:
        return save_analysis(
            session,
            source="local-picture-web-test",
            started_at=NOW - timedelta(minutes=5),
            finished_at=NOW - timedelta(minutes=1),
            n_quarantined=0,
            organisation_id=organisation_id,
            actor=SYSTEM,
            settings=state.settings,
            **rows,  # type: ignore[arg-type]
        )


@pytest.fixture
def officer(accounts_by_role: dict[str, Account], sign_in: SignIn, state: WebState) -> Account:
    """The policy officer, logged in, with the small run of tests/monitor/local_rows.py."""
    account = accounts_by_role["policy_officer"]
    _store(state, account.organisation_id)
    sign_in(account)
    return account


def _events(state: WebState, action: str) -> list[AuditEvent]:
    with state.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def _chart(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="grafiek-data">(.*?)</script>', html)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_den_haag_is_s_gravenhage_with_small_counts_withheld(
    client: TestClient, officer: Account, state: WebState
) -> None:
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag"})
    assert page.status_code == 200
    html = page.text
    assert "Gemeente &#39;s-Gravenhage" in html
    assert "“Den Haag” ligt in de gemeente &#39;s-Gravenhage." in html
    # W46 has one persona: withheld, never the number; W48 has six.
    assert re.search(r"2026-W46</th><td>[^<]+</td><td class=\"number\">1</td>", html)
    assert re.search(
        r"2026-W46</th>.*?<td class=\"number\"><span class=\"withheld\">&lt;5</span></td></tr>",
        html,
    )
    assert re.search(
        r"2026-W48</th><td>[^<]+</td><td class=\"number\">6</td>"
        r"<td class=\"number\">6</td>",
        html,
    )
    # The charts' data: the same numbers, withheld ones as null (a gap).
    chart = _chart(html)
    assert chart["weeks"] == ["2026-W46", "2026-W47", "2026-W48"]
    assert chart["ads"] == [1, 0, 6]
    assert chart["personas"] == [None, 0, 6]
    assert chart["personas_share"] == [None, None, None]  # 1 of 1, none, 3 of 6: small counts
    assert chart["ads_share"] == [100.0, None, 33.3]
    # Arrivals this week, the comparison and the map.
    assert re.search(r"Aankomsten in week 2026-W48</dt><dd>5</dd>", html)
    assert "Vergeleken met gemeenten van vergelijkbare grootte" in html
    assert html.count("<path d=") == 342
    assert re.search(r'class="band-\d selected"><title>&#39;s-Gravenhage: ', html)
    assert "CBS/PDOK, CC BY 4.0" in html
    assert 'data-chart="counts"' in html
    assert 'data-chart="shares"' in html
    # Counts only: no id or text of the run.
    assert TAG not in html
    viewed = _events(state, "local_picture.viewed")
    assert len(viewed) == 1
    details = json.loads(viewed[0].details)
    assert (details["area_kind"], details["area"]) == ("municipality", HAGUE)
    assert viewed[0].actor_email == officer.email


def test_a_region_is_picked_by_kind_and_compared_with_its_kind(
    client: TestClient, officer: Account
) -> None:
    page = client.get(
        "/mijn-gemeente", params={"plaats": "Haaglanden", "soort": "veiligheidsregio"}
    )
    assert page.status_code == 200
    assert "Veiligheidsregio Haaglanden" in page.text
    assert "Vergeleken met de andere regio’s van deze soort" in page.text
    assert "Delft" in page.text
    # Ads add up over the region; the 's-Gravenhage outline is one of the selection.
    assert _chart(page.text)["ads"] == [1, 0, 6]
    unit = client.get("/mijn-gemeente", params={"plaats": "politie Den Haag"})
    assert "Politie-eenheid Den Haag" in unit.text


def test_the_organisations_own_region_is_the_default(
    client: TestClient, officer: Account, state: WebState
) -> None:
    page = client.get("/mijn-gemeente")
    assert "Kies een gemeente, plaats of regio" in page.text
    assert _events(state, "local_picture.viewed") == []
    with transaction(state.sessions) as session:
        organisation = session.get(Organisation, officer.organisation_id)
        assert organisation is not None
        organisation.region = "Den Haag"
    page = client.get("/mijn-gemeente")
    assert "Gemeente &#39;s-Gravenhage" in page.text


def test_an_unknown_place_says_so_with_suggestions(
    client: TestClient, officer: Account, state: WebState
) -> None:
    page = client.get("/mijn-gemeente", params={"plaats": "Amsterdm"})
    assert page.status_code == 200
    assert "Geen Nederlandse gemeente, plaats of regio heet “Amsterdm”." in page.text
    assert 'aria-invalid="true"' in page.text
    assert '<a href="/mijn-gemeente?plaats=Amsterdam">Amsterdam</a>' in page.text
    assert "grafiek-data" not in page.text
    assert _events(state, "local_picture.viewed") == []


def test_csv_downloads_are_formula_safe_and_audited(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, state: WebState
) -> None:
    account = accounts_by_role["policy_officer"]
    run_id = _store(state, account.organisation_id, hostile=True)
    sign_in(account)
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag"})
    assert "/mijn-gemeente.csv?plaats=%27s-Gravenhage&amp;soort=gemeente&amp;tabel=weken" in (
        page.text
    )
    weeks = client.get("/mijn-gemeente.csv?plaats=%27s-Gravenhage&soort=gemeente&tabel=weken")
    assert weeks.status_code == 200
    assert weeks.headers["content-type"] == "text/csv; charset=utf-8"
    assert weeks.headers["content-disposition"] == (
        f'attachment; filename="signaal-weeks-s-gravenhage-run{run_id}.csv"'
    )
    text = weeks.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["week", "week_start", "ads", "personas"]
    assert rows[1][:4] == ["2026-W46", "2026-11-09", "1", "<5"]
    assert rows[3][:4] == ["2026-W48", "2026-11-23", "6", "6"]
    indicators = client.get(
        "/mijn-gemeente.csv", params={"plaats": "Den Haag", "tabel": "indicatoren"}
    )
    cells = [row[0] for row in csv.reader(io.StringIO(indicators.content.decode("utf-8-sig")))]
    assert "'=HYPERLINK(1)" in cells
    assert "=HYPERLINK(1)" not in cells
    exported = _events(state, "local_picture.exported")
    assert [json.loads(e.details)["table"] for e in exported] == ["weken", "indicatoren"]
    first = json.loads(exported[0].details)
    assert first["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert first["n_rows"] == 3
    assert exported[0].record_id == str(run_id)
    for table in ("vergelijking", "kaart"):
        answer = client.get("/mijn-gemeente.csv", params={"plaats": "Den Haag", "tabel": table})
        assert answer.status_code == 200
        assert TAG not in answer.text


def test_a_period_keeps_the_last_weeks_of_the_chart_and_its_csv(
    client: TestClient, officer: Account
) -> None:
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag", "weken": "4"})
    assert _chart(page.text)["weeks"] == ["2026-W46", "2026-W47", "2026-W48"]
    assert 'value="4" selected' in page.text
    # An unknown period or measure is the default, not an error.
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag", "weken": "7", "maat": "x"})
    assert page.status_code == 200
    assert "Kaart per gemeente: Advertenties per 10.000 inwoners" in page.text


def test_unknown_tables_places_and_missing_runs_are_not_found(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, state: WebState
) -> None:
    account = accounts_by_role["policy_officer"]
    sign_in(account)
    # No run stored yet: the page says so, a download is not found.
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag"})
    assert page.status_code == 200
    assert "Nog geen analyse opgeslagen" in page.text
    assert client.get("/mijn-gemeente.csv", params={"plaats": "Den Haag"}).status_code == 404
    _store(state, account.organisation_id)
    assert (
        client.get("/mijn-gemeente.csv", params={"plaats": "Den Haag", "tabel": "x"}).status_code
        == 404
    )
    assert client.get("/mijn-gemeente.csv", params={"plaats": "Xyzzy"}).status_code == 404
    assert _events(state, "local_picture.exported") == []


@pytest.mark.parametrize("path", ["/mijn-gemeente", "/mijn-gemeente.csv?tabel=weken"])
def test_roles_without_local_picture_are_refused_and_audited(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    state: WebState,
    path: str,
) -> None:
    sign_in(accounts_by_role["viewer"])
    answer = client.get(path, params={"plaats": "Den Haag"})
    assert answer.status_code == 403
    denied = _events(state, "access.denied")
    assert denied
    assert "/mijn-gemeente" in denied[-1].details
    assert "Mijn gemeente" not in client.get("/dashboard").text  # no link in the menu


def test_the_menu_links_it_and_english_works(client: TestClient, officer: Account) -> None:
    assert '<a href="/mijn-gemeente">Mijn gemeente</a>' in client.get("/dashboard").text
    client.cookies.set("signaal_taal", "en")
    page = client.get("/mijn-gemeente", params={"plaats": "Den Haag"})
    assert "<h1>My municipality</h1>" in page.text
    assert "Ads and personas per week" in page.text
    assert _chart(page.text)["labels"] == {
        "week": "Week",
        "ads": "Ads",
        "personas": "Personas",
        "ads_share": "Ads with an indicator (%)",
        "personas_share": "Personas with an indicator (%)",
    }
