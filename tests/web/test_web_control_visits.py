"""The visit list of a joint control on the pages: the planner (police) puts a persona of its
analysis on a control from the persona page; the partner (outreach) sees the practical part and
records the outcome; contact points only as the planner's pseudonyms; notes only for the
organisation that wrote them; the CSV and the page for paper and phone show the same."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signaal.chain import accounts
from signaal.chain.controls import VISIT_OUTCOMES
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, JointControl, OrganisationKind
from signaal.web.app import WebState
from signaal.web.routes.controls import OUTCOME_LABELS

from .conftest import Account, analysis_rows, make_account, store_analysis

PSEUDONYM = "phone:0123456789abcdef"
PURPOSE = "prepare_outreach"


@dataclass
class Control:
    id: int
    run_id: int
    path: str


@pytest.fixture
def control(state: WebState, accounts_by_role: dict[str, Account]) -> Control:
    """A control of the police with the GGD (the outreach worker's organisation), and a police
    run whose persona P-1 was last advertised in Utrecht with a contact pseudonym in its text."""
    officer = accounts_by_role["police_officer"]
    worker = accounts_by_role["outreach_worker"]
    rows = analysis_rows()
    rows["ads"][0]["text"] = f"Hallo, ik ben nieuw hier en ik ben er voor jou. Bel [{PSEUDONYM}]"
    with transaction(state.sessions) as session:
        run_id = store_analysis(session, state.settings, officer.organisation_id, rows)
        planned = JointControl(
            organisation_id=officer.organisation_id,
            partner_organisation_id=worker.organisation_id,
            planned_at=datetime.now(UTC) + timedelta(days=2),
            municipality="Utrecht",
            location="Stationsgebied",
        )
        session.add(planned)
        session.flush()
        control_id = planned.id
    return Control(control_id, run_id, f"/controles/{control_id}")


def test_every_visit_outcome_has_a_label() -> None:
    assert tuple(OUTCOME_LABELS) == VISIT_OUTCOMES


def _add(client: TestClient, csrf_of: Callable[[str], str], persona_id: str, control_id: int):  # type: ignore[no-untyped-def]
    page = client.get(f"/analyse/personas/P-1?doel={PURPOSE}")
    assert page.status_code == 200
    return client.post(
        "/controles/personas",
        data={
            "csrf_token": csrf_of(page.text),
            "persona_id": persona_id,
            "control_id": str(control_id),
            "doel": PURPOSE,
        },
    )


def _outcome(client: TestClient, csrf_of, control: Control, outcome: str, note: str = ""):  # type: ignore[no-untyped-def]
    page = client.get(control.path)
    return client.post(
        f"{control.path}/personas/P-1/uitkomst",
        data={"csrf_token": csrf_of(page.text), "outcome": outcome, "note": note},
    )


def _csv(client: TestClient, control: Control) -> list[list[str]]:
    answer = client.get(f"{control.path}/bezoeklijst.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    return list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))


def test_the_planner_adds_a_persona_from_its_page_and_sees_its_pseudonyms(
    client, state, accounts_by_role, sign_in, csrf_of, control
):
    sign_in(accounts_by_role["police_officer"])
    persona = client.get(f"/analyse/personas/P-1?doel={PURPOSE}")
    assert 'action="/controles/personas"' in persona.text
    assert f'<option value="{control.id}">' in persona.text
    added = _add(client, csrf_of, "P-1", control.id)
    assert added.status_code == 303
    assert added.headers["location"] == f"/analyse/personas/P-1?doel={PURPOSE}#controle"
    back = client.get(added.headers["location"])
    assert "Op de bezoeklijst van" in back.text
    assert f'href="/controles/{control.id}#bezoeklijst"' in back.text
    page = client.get(control.path)
    assert page.status_code == 200
    [row] = re.findall(r'<tr id="bezoek-P-1">.*?</tr>', page.text, re.S)
    assert "Utrecht" in row
    assert "Nederlands" in row
    assert ">75<" in row
    # The pseudonym, with the audited reveal form of the run; never a clear value.
    assert f"<code>{PSEUDONYM}</code>" in row
    assert f'action="/analyse/runs/{control.run_id}/contactpunten/{PSEUDONYM}"' in row
    assert "verwijderen" in row
    # The same persona twice is a clear conflict, not an error page.
    again = _add(client, csrf_of, "P-1", control.id)
    assert again.status_code == 409
    assert "staat al op de bezoeklijst" in again.text
    with transaction(state.sessions) as session:
        written = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "chain.record_written")
        ).all()
        assert any('"persona_added"' in event.details for event in written)


def test_a_bad_persona_or_control_is_a_field_error(
    client, accounts_by_role, sign_in, csrf_of, control
):
    sign_in(accounts_by_role["police_officer"])
    answer = _add(client, csrf_of, "P-nowhere", control.id)
    assert answer.status_code == 422
    assert 'class="field has-error"' in answer.text
    assert "geen persona van de laatste analyse van je organisatie" in answer.text
    assert 'aria-invalid="true" aria-describedby="fout-persona_id"' in answer.text
    # A control that is not one of the organisation's planned ones: the select's error.
    answer = _add(client, csrf_of, "P-1", 999_999)
    assert answer.status_code == 422
    assert 'id="fout-control_id"' in answer.text
    # The partner plans nothing: it has no open control to put a persona on.
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get(control.path)
    answer = client.post(
        "/controles/personas",
        data={"csrf_token": csrf_of(page.text), "persona_id": "P-1", "control_id": control.id},
    )
    assert answer.status_code == 422


def test_the_partner_sees_no_contact_point_and_records_an_outcome_the_planner_sees_without_note(
    client, state, accounts_by_role, sign_in, csrf_of, control
):
    officer, worker = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    sign_in(officer)
    assert _add(client, csrf_of, "P-1", control.id).status_code == 303
    sign_in(worker)
    page = client.get(control.path)
    assert page.status_code == 200
    assert 'id="bezoek-P-1"' in page.text
    assert "Utrecht" in page.text
    assert "phone:" not in page.text
    assert "contactpunten/" not in page.text
    assert "/verwijderen" not in page.text  # only the planner takes a persona off
    # Not the planner's persona page either: its analysis is not shared.
    assert 'href="/analyse/personas/P-1"' not in page.text
    hostile = "<script>alert('x')</script> Wil hulp"
    recorded = _outcome(client, csrf_of, control, "referred_to_care", hostile)
    assert recorded.status_code == 303
    own = client.get(control.path)
    assert "Doorverwezen naar zorg" in own.text
    assert "<script>alert" not in own.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Wil hulp" in own.text
    sign_in(officer)
    planner = client.get(control.path)
    assert "Doorverwezen naar zorg" in planner.text
    assert "Wil hulp" not in planner.text
    # The other organisation's note is its own: a new outcome over it is a clear conflict.
    refused = _outcome(client, csrf_of, control, "no_concerns")
    assert refused.status_code == 409
    assert "De andere organisatie heeft dit bezoek vastgelegd met een notitie" in refused.text
    # And a visit with an outcome stays on the list.
    removed = client.post(
        f"{control.path}/personas/P-1/verwijderen", data={"csrf_token": csrf_of(planner.text)}
    )
    assert removed.status_code == 409
    assert "blijft daarom op de bezoeklijst" in removed.text
    with transaction(state.sessions) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "chain.record_written")
        ).all()
        assert any('"visit_outcome"' in event.details for event in events)
        assert all("Wil hulp" not in event.details for event in events)


def test_an_outcome_needs_a_choice(client, accounts_by_role, sign_in, csrf_of, control):
    sign_in(accounts_by_role["police_officer"])
    _add(client, csrf_of, "P-1", control.id)
    answer = _outcome(client, csrf_of, control, "verdict", "Notitie blijft staan")
    assert answer.status_code == 422
    assert "Kies een uitkomst." in answer.text
    assert "<details open>" in answer.text
    assert "Notitie blijft staan" in answer.text  # what was typed is kept


def test_the_planner_takes_a_persona_off_and_the_partner_cannot(
    client, accounts_by_role, sign_in, csrf_of, control
):
    sign_in(accounts_by_role["police_officer"])
    _add(client, csrf_of, "P-1", control.id)
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get(control.path)
    refused = client.post(
        f"{control.path}/personas/P-1/verwijderen", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 404
    sign_in(accounts_by_role["police_officer"])
    page = client.get(control.path)
    removed = client.post(
        f"{control.path}/personas/P-1/verwijderen", data={"csrf_token": csrf_of(page.text)}
    )
    assert removed.status_code == 303
    assert 'id="bezoek-P-1"' not in client.get(control.path).text


def test_another_organisation_finds_no_control(
    client, state, accounts_by_role, sign_in, csrf_of, control
):
    """A police force and an outreach organisation the control is not shared with: every
    route of the visit list answers as for a control that does not exist."""
    sign_in(accounts_by_role["police_officer"])
    _add(client, csrf_of, "P-1", control.id)
    with transaction(state.sessions) as session:
        outsiders = [
            make_account(
                session,
                role,
                accounts.create_organisation(session, name=f"Andere {kind.value}", kind=kind),
                f"{role}@andere.example.test",
            )
            for role, kind in (
                ("police_officer", OrganisationKind.POLICE),
                ("outreach_worker", OrganisationKind.OUTREACH),
            )
        ]
    for outsider in outsiders:
        sign_in(outsider)
        csrf = csrf_of(client.get("/controles").text)
        for path in (
            control.path,
            f"{control.path}/bezoeklijst",
            f"{control.path}/bezoeklijst.csv",
        ):
            answer = client.get(path)
            assert answer.status_code == 404, (outsider.role, path)
            assert "P-1" not in answer.text
        for action in ("uitkomst", "verwijderen"):
            answer = client.post(
                f"{control.path}/personas/P-1/{action}",
                data={"csrf_token": csrf, "outcome": "met"},
            )
            assert answer.status_code == 404, (outsider.role, action)
        # Its form cannot name the control either: a field error, the control is not its own.
        answer = client.post(
            "/controles/personas",
            data={"csrf_token": csrf, "persona_id": "P-1", "control_id": str(control.id)},
        )
        assert answer.status_code == 422
        assert "Stationsgebied" not in answer.text


def test_the_csv_has_the_columns_each_organisation_may_see_and_is_formula_safe(
    client, state, accounts_by_role, sign_in, csrf_of, control
):
    officer, worker = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    sign_in(officer)
    _add(client, csrf_of, "P-1", control.id)
    sign_in(worker)
    assert _outcome(client, csrf_of, control, "met", '=HYPERLINK("x")').status_code == 303
    header, row = _csv(client, control)
    assert header == [
        "Persona",
        "Laatst geadverteerd in",
        "Laatst geadverteerd op",
        "Talen",
        "Risico",
        "Uitkomst",
        "Uitkomst vastgelegd op",
        "Je notitie",
    ]
    assert row[0] == "P-1"
    assert row[1] == "Utrecht"
    assert row[3] == "Nederlands"
    assert row[4] == "75"
    assert row[5] == "Ontmoet en gesproken"
    assert row[7] == '\'=HYPERLINK("x")'  # a spreadsheet does not run it
    assert "phone:" not in "".join(header + row)
    sign_in(officer)
    header, row = _csv(client, control)
    assert header[5] == "Contactpunten (pseudoniemen)"
    assert row[5] == PSEUDONYM
    assert row[8] == ""  # the partner's note stays with the partner
    with transaction(state.sessions) as session:
        exported = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "joint_control.visit_list_exported")
            .order_by(AuditEvent.seq)
        ).all()
        assert [e.actor_email for e in exported] == [worker.email, officer.email]
        assert [e.record_id for e in exported] == [str(control.id)] * 2
        assert [json.loads(e.details)["pseudonyms"] for e in exported] == [False, True]
        assert "HYPERLINK" not in exported[0].details


def test_the_page_for_paper_and_phone_shows_the_same_and_is_audited(
    client, state, accounts_by_role, sign_in, csrf_of, control
):
    sign_in(accounts_by_role["police_officer"])
    _add(client, csrf_of, "P-1", control.id)
    sheet = client.get(f"{control.path}/bezoeklijst")
    assert sheet.status_code == 200
    assert "<form" not in sheet.text.split('<main id="inhoud"')[1].split("</main>")[0]
    assert f"<code>{PSEUDONYM}</code>" in sheet.text
    assert "Stationsgebied" in sheet.text
    sign_in(accounts_by_role["outreach_worker"])
    sheet = client.get(f"{control.path}/bezoeklijst")
    assert sheet.status_code == 200
    assert "P-1" in sheet.text
    assert "phone:" not in sheet.text
    with transaction(state.sessions) as session:
        reads = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "chain.record_read", AuditEvent.record_id == str(control.id)
            )
        ).all()
        assert reads
