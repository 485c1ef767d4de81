"""The start page shows what that person has to do today, per role: her assigned triage items,
the new priority items of her organisation's area, her tasks; the municipal policy officer sees
local counts only (no ids, no texts, no contact points)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signaal.chain import accounts
from signaal.chain.authz import actor_for
from signaal.monitor import triage
from signaal.store.db import transaction
from signaal.store.models import AnalysisRun, AuditEvent, Organisation, OrganisationKind, Task, User
from signaal.web.app import WebState

from .conftest import Account, SignIn, make_account, store_analysis
from .test_web_triage import queue_rows


@pytest.fixture
def queue_runs(state: WebState, accounts_by_role: dict[str, Account]) -> dict[int, int]:
    organisations = sorted({a.organisation_id for a in accounts_by_role.values()})
    with transaction(state.sessions) as session:
        return {
            org: store_analysis(session, state.settings, org, queue_rows()) for org in organisations
        }


def _listed(html: str) -> list[str]:
    return re.findall(r"#item-([^\"]+)\">", html)


def test_the_analyst_sees_her_items_and_the_new_priority_items_of_her_region(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs: dict[int, int],
    state: WebState,
) -> None:
    analyst = accounts_by_role["analyst"]
    with transaction(state.sessions) as session:
        organisation = session.get(Organisation, analyst.organisation_id)
        assert organisation is not None
        organisation.region = "Zuid-Holland"  # 's-Gravenhage and Rotterdam
        run = session.get(AnalysisRun, queue_runs[analyst.organisation_id])
        user = session.get(User, analyst.user_id)
        assert run is not None
        assert user is not None
        triage.decide(
            session,
            actor_for(user),
            run,
            "persona",
            "P-07",
            "assign",
            assignee_id=analyst.user_id,
            pseudonym_key="k",
            ip=None,
        )
    sign_in(analyst)
    html = client.get("/dashboard").text
    mine, _, fresh = html.partition("Nieuw, met voorrang bekijken, in Zuid-Holland")
    assert _listed(mine) == ["P-07"]
    # Priority (70+) and new, in Zuid-Holland: P-00, P-01, P-05, P-06, P-10 ... (P-07 is not new).
    assert _listed(fresh)[:5] == ["P-00", "P-01", "P-05", "P-06", "P-10"]
    assert "P-02" not in fresh  # Utrecht
    assert "Jouw taken" not in html  # the analyst has no tasks


def test_an_outreach_worker_sees_her_tasks_due_today(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs: dict[int, int],
    state: WebState,
) -> None:
    worker = accounts_by_role["outreach_worker"]
    with transaction(state.sessions) as session:
        session.add_all(
            [
                Task(
                    organisation_id=worker.organisation_id,
                    title="Terugbellen over afspraak",
                    due_at=datetime.now(UTC) - timedelta(hours=1),
                    owner_user_id=worker.user_id,
                ),
                Task(
                    organisation_id=worker.organisation_id,
                    title="Volgende maand langsgaan",
                    due_at=datetime.now(UTC) + timedelta(days=30),
                    owner_user_id=worker.user_id,
                ),
                Task(
                    organisation_id=worker.organisation_id,
                    title="Taak van een collega",
                    due_at=datetime.now(UTC),
                    owner_user_id=accounts_by_role["care_coordinator"].user_id,
                ),
            ]
        )
    sign_in(worker)
    html = client.get("/dashboard").text
    assert "Terugbellen over afspraak" in html
    assert "Volgende maand langsgaan" in html
    assert "Taak van een collega" not in html
    due = re.search(r'<span class="figure">(\d+)</span> vandaag of eerder te doen', html)
    assert due is not None
    assert due.group(1) == "1"


def test_the_policy_officer_sees_local_counts_and_nothing_about_a_person(
    client: TestClient, sign_in: SignIn, state: WebState
) -> None:
    with transaction(state.sessions) as session:
        municipality = accounts.create_organisation(
            session, name="Gemeente Den Haag", kind=OrganisationKind.MUNICIPALITY
        )
        municipality.region = "Den Haag"
        officer = make_account(
            session, "policy_officer", municipality, "beleid@den-haag.example.test"
        )
        store_analysis(session, state.settings, municipality.id, queue_rows())
    sign_in(officer)
    html = client.get("/dashboard").text
    assert "Geadverteerd in Den Haag" in html
    # 's-Gravenhage: P-00, P-05, P-10, P-15 posted 2 days ago; P-20, P-25 60 days ago.
    rows = re.findall(r'<td class="number">(\d+)</td><td class="number">([^<]+)</td>', html)
    # Four ads; four personas is a small count: not shown exactly (it could point to a person).
    assert rows == [("0", "0"), ("0", "0"), ("0", "0"), ("4", "minder dan 5")]
    assert "Persona's in deze weken</dt><dd>minder dan 5</dd>" in html
    assert "Waarvan met een indicator</dt><dd>minder dan 5</dd>" in html  # and no share
    assert "Nieuw deze week</dt><dd>minder dan 5</dd>" in html
    assert "P-0" not in html
    assert "Advertentie P-" not in html  # no ad title
    assert "Synthetische" not in html  # no ad text
    assert "/analyse" not in html
    assert client.get("/analyse/triage").status_code == 403
    assert client.get("/analyse").status_code == 403


def test_roles_get_different_start_pages(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs: dict[int, int],
) -> None:
    pages = {}
    for role in ("analyst", "viewer", "youth_care_worker", "administrator"):
        sign_in(accounts_by_role[role])
        pages[role] = client.get("/dashboard").text
    assert "Aan jou toegewezen" in pages["analyst"]
    assert "Aan jou toegewezen" not in pages["viewer"]
    # The viewer reads the overview: its top networks, not a queue.
    assert 'href="/analyse#netwerk-N-0"' in pages["viewer"]
    assert "Jouw taken" in pages["youth_care_worker"]
    assert "Jouw taken" not in pages["administrator"]


def test_the_start_page_audits_the_items_it_shows(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    queue_runs: dict[int, int],
    state: WebState,
) -> None:
    sign_in(accounts_by_role["analyst"])
    client.get("/dashboard")
    with state.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "triage.viewed")
        ).all()
    assert any('"new_priority"' in e.details and '"P-00"' in e.details for e in events)


def test_local_weeks_end_at_the_newest_ad_of_an_older_run(
    client: TestClient, sign_in: SignIn, state: WebState
) -> None:
    """The demo corpus is months old: its figures are of its own last weeks, not four empty
    weeks before today."""
    rows = queue_rows()
    for ad in rows["ads"]:
        ad["posted_at"] = ad["posted_at"] - timedelta(days=200)  # type: ignore[operator]
    for persona in rows["personas"]:
        persona["first_seen"] = persona["last_seen"] = persona["first_seen"] - timedelta(days=200)  # type: ignore[operator]
    with transaction(state.sessions) as session:
        municipality = accounts.create_organisation(
            session, name="Gemeente Oud", kind=OrganisationKind.MUNICIPALITY
        )
        officer = make_account(session, "policy_officer", municipality, "beleid@oud.example.test")
        store_analysis(session, state.settings, municipality.id, rows)
    sign_in(officer)
    html = client.get("/dashboard").text
    weeks = re.findall(r'<td class="number">(\d+)</td><td class="number">([^<]+)</td>', html)
    # Everywhere (no region): the 20 recent ads fall in the last of the four weeks.
    assert weeks[-1] == ("20", "20")
    assert "Persona's in deze weken</dt><dd>20</dd>" in html
    assert "Waarvan met een indicator</dt><dd>20 (100%)</dd>" in html
