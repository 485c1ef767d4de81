"""The coordinator's dashboard page and its CSV tables: counts only, bars with their numbers,
formulas neutralised, unknown tables refused."""

from __future__ import annotations

import csv
import io

from signaal.store.db import transaction
from signaal.store.models import Case, Signal, Subject, utcnow

SECRET_TEXT = "Zichtbaar-alleen-in-het-signaal-7731"
ALIAS = "Alias-niet-op-het-dashboard-5519"
FORMULA = '=HYPERLINK("https://example.test","klik")'


def _seed(state, organisation_id: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with transaction(state.sessions) as session:
        subject = Subject(organisation_id=organisation_id, alias=ALIAS)
        session.add(subject)
        session.flush()
        for source, municipality in (
            ("observation", "Utrecht"),
            ("observation", "Utrecht"),
            ("ad_monitor", FORMULA),
        ):
            session.add(
                Signal(
                    organisation_id=organisation_id,
                    source=source,
                    category="debt",
                    observed_at=now,
                    municipality=municipality,
                    text=SECRET_TEXT,
                    subject_id=subject.id,
                )
            )
        session.add(
            Case(organisation_id=organisation_id, subject_id=subject.id, stage="assessment")
        )


def test_the_dashboard_shows_counts_and_bars_but_no_person(
    client, state, sign_in, accounts_by_role
):  # type: ignore[no-untyped-def]
    coordinator = accounts_by_role["care_coordinator"]
    _seed(state, coordinator.organisation_id)
    sign_in(coordinator)
    page = client.get("/coordinatie/dashboard")
    assert page.status_code == 200
    html = page.text
    assert SECRET_TEXT not in html
    assert ALIAS not in html
    assert "<svg" in html
    assert 'aria-hidden="true"' in html
    assert "Eigen waarneming" in html  # the source's Dutch label, with its count beside it
    assert '<td class="number">2</td>' in html
    assert FORMULA not in html
    assert "=HYPERLINK(&#34;" in html or "=HYPERLINK(&quot;" in html
    assert 'href="/coordinatie/dashboard"' in html  # the menu item


def test_every_table_exports_as_csv_without_formulas(client, state, sign_in, accounts_by_role):  # type: ignore[no-untyped-def]
    coordinator = accounts_by_role["care_coordinator"]
    _seed(state, coordinator.organisation_id)
    sign_in(coordinator)
    for table in ("bron", "gemeente", "fase", "achterstallig", "eerste-contact"):
        response = client.get(f"/coordinatie/dashboard.csv?tabel={table}")
        assert response.status_code == 200, table
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert len(rows) >= 2, table
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")), (table, cell)
        assert SECRET_TEXT not in response.text
        assert ALIAS not in response.text
    municipalities = client.get("/coordinatie/dashboard.csv?tabel=gemeente").text
    rows = list(csv.reader(io.StringIO(municipalities.lstrip("\ufeff"))))
    assert ["'" + FORMULA, "1"] in rows
    assert ["Utrecht", "2"] in rows
    stages = list(
        csv.reader(
            io.StringIO(client.get("/coordinatie/dashboard.csv?tabel=fase").text.lstrip("\ufeff"))
        )
    )
    assert ["assessment", "Beoordeling", "1"] in stages


def test_an_unknown_table_is_not_found(client, sign_in, accounts_by_role):  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["care_coordinator"])
    assert client.get("/coordinatie/dashboard.csv?tabel=gebruikers").status_code == 404
    assert client.get("/coordinatie/dashboard.csv?tabel=" + "x" * 500).status_code == 422


def test_other_roles_do_not_get_the_dashboard(client, sign_in, accounts_by_role):  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["outreach_worker"])
    assert client.get("/coordinatie/dashboard").status_code == 403
    assert 'href="/coordinatie/dashboard"' not in client.get("/dashboard").text
