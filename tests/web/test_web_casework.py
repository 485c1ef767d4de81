"""Case-work pages and API: contacts with a call-back, tasks, cases, shelters, joint controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from signaal.store.db import transaction
from signaal.store.models import (
    AuditEvent,
    Case,
    OutreachContact,
    Shelter,
    Subject,
    Task,
)


def _subject(state, organisation_id: int, alias: str = "Roos") -> int:  # type: ignore[no-untyped-def]
    with transaction(state.sessions) as session:
        subject = Subject(organisation_id=organisation_id, alias=alias)
        session.add(subject)
        session.flush()
        return subject.id


def _csrf(client, csrf_of, path: str) -> str:  # type: ignore[no-untyped-def]
    return csrf_of(client.get(path).text)


def test_log_a_contact_with_a_call_back_in_one_submit(
    client, state, accounts_by_role, sign_in, csrf_of
):
    worker = accounts_by_role["outreach_worker"]
    sign_in(worker)
    page = client.get("/contact/nieuw")
    assert page.status_code == 200
    assert "morgen terugbellen" in page.text
    answer = client.post(
        "/contact/nieuw",
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "street",
            "municipality": "Utrecht",
            "phone": "06-12345678",
            "outcome": "<script>alert(1)</script>",
            "actie": "terugbellen",
        },
    )
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"])
    assert "06-•••••78" in shown.text
    assert "12345678" not in shown.text
    with transaction(state.sessions) as session:
        contact = session.scalars(select(OutreachContact)).one()
        task = session.scalars(select(Task)).one()
        assert task.kind == "call_back"
        assert task.contact_id == contact.id
        assert task.owner_user_id == worker.user_id
    # The clear number needs a purpose, and is audited with it.
    refused = client.post(f"/contact/{contact.id}/nummer", data={"csrf_token": csrf_of(shown.text)})
    assert refused.status_code == 422
    revealed = client.post(
        f"/contact/{contact.id}/nummer",
        data={"csrf_token": csrf_of(shown.text), "doel": "call_back"},
    )
    assert revealed.status_code == 200
    assert "+31612345678" in revealed.text
    tasks_page = client.get("/taken")
    assert "Terugbellen" in tasks_page.text


def test_contact_form_errors_per_field_and_nothing_saved(
    client, state, accounts_by_role, sign_in, csrf_of
):
    sign_in(accounts_by_role["outreach_worker"])
    answer = client.post(
        "/contact/nieuw",
        data={
            "csrf_token": _csrf(client, csrf_of, "/contact/nieuw"),
            "kind": "disco",
            "municipality": "Atlantis",
            "phone": "123",
        },
    )
    assert answer.status_code == 422
    assert "Kies een van de mogelijkheden" in answer.text or "Choose one" in answer.text
    with transaction(state.sessions) as session:
        assert session.scalars(select(OutreachContact)).all() == []


def test_a_task_in_the_past_is_refused_on_the_page(client, accounts_by_role, sign_in, csrf_of):
    sign_in(accounts_by_role["outreach_worker"])
    answer = client.post(
        "/taken",
        data={
            "csrf_token": _csrf(client, csrf_of, "/taken"),
            "title": "Bezoek",
            "kind": "visit",
            "due_at": "2001-01-01T10:00",
        },
    )
    assert answer.status_code == 422
    assert 'id="fout-due_at"' in answer.text


def test_case_page_flow_and_other_organisations_get_404(
    client, state, accounts_by_role, sign_in, csrf_of
):
    worker = accounts_by_role["outreach_worker"]
    subject_id = _subject(state, worker.organisation_id)
    sign_in(worker)
    opened = client.post(
        "/dossiers",
        data={"csrf_token": _csrf(client, csrf_of, "/dossiers"), "subject_id": str(subject_id)},
    )
    assert opened.status_code == 303
    path = opened.headers["location"]
    page = client.get(path)
    assert page.status_code == 200
    assert "Roos" in page.text
    moved = client.post(
        path + "/fase",
        data={"csrf_token": csrf_of(page.text), "to_stage": "closed", "reason": ""},
    )
    assert moved.status_code == 422
    moved = client.post(
        path + "/fase", data={"csrf_token": csrf_of(page.text), "to_stage": "assessment"}
    )
    assert moved.status_code == 303
    assert "Beoordeling" in client.get(path).text
    case_id = int(path.rsplit("/", 1)[1])
    form = client.get(f"/contact/nieuw?dossier={case_id}")
    logged = client.post(
        "/contact/nieuw",
        data={"csrf_token": csrf_of(form.text), "kind": "walk_in", "case_id": str(case_id)},
    )
    assert logged.status_code == 303
    assert "Inloop op het ontmoetingspunt" in client.get(path).text
    again = client.post(
        "/dossiers",
        data={"csrf_token": csrf_of(page.text), "subject_id": str(subject_id)},
    )
    assert again.status_code == 409
    sign_in(accounts_by_role["police_officer"])
    assert client.get(path).status_code == 404
    assert client.get("/api/v1" + path.replace("/dossiers", "/cases")).status_code == 404


def test_shelter_staff_update_places_and_others_cannot(
    client, state, accounts_by_role, sign_in, csrf_of
):
    night = accounts_by_role["shelter_worker"]
    sign_in(night)
    created = client.post(
        "/opvang",
        data={
            "csrf_token": _csrf(client, csrf_of, "/opvang"),
            "name": "Huis Noord",
            "municipality": "Groningen",
            "capacity": "4",
            "available_places": "1",
        },
    )
    assert created.status_code == 303
    with transaction(state.sessions) as session:
        shelter_id = session.scalars(select(Shelter.id)).one()
    page = client.get("/opvang")
    too_many = client.post(
        f"/opvang/{shelter_id}/plaatsen",
        data={"csrf_token": csrf_of(page.text), "available_places": "9"},
    )
    assert too_many.status_code == 422
    saved = client.post(
        f"/opvang/{shelter_id}/plaatsen",
        data={"csrf_token": csrf_of(page.text), "available_places": "3"},
    )
    assert saved.status_code == 303
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get("/opvang")
    assert "Huis Noord" in page.text
    other = client.post(
        f"/opvang/{shelter_id}/plaatsen",
        data={"csrf_token": csrf_of(page.text), "available_places": "0"},
    )
    assert other.status_code == 403  # outreach workers do not manage shelters


def test_api_cases_tasks_and_shelters(client, state, accounts_by_role, sign_in, csrf_of):
    worker = accounts_by_role["outreach_worker"]
    subject_id = _subject(state, worker.organisation_id)
    token = sign_in(worker)
    csrf = state.signer.csrf_token(token, kind="session")
    headers = {"X-CSRF-Token": csrf}
    created = client.post("/api/v1/cases", json={"subject_id": subject_id}, headers=headers)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    conflict = client.post("/api/v1/cases", json={"subject_id": subject_id}, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"
    moved = client.post(
        f"/api/v1/cases/{case_id}/stage", json={"to_stage": "closed"}, headers=headers
    )
    assert moved.status_code == 422
    assert "reason" in moved.json()["error"]["fields"]
    moved = client.post(
        f"/api/v1/cases/{case_id}/stage", json={"to_stage": "contact_made"}, headers=headers
    )
    assert moved.json()["stage"] == "contact_made"
    assert [h["kind"] for h in moved.json()["history"]] == ["opened", "stage"]
    listed = client.get("/api/v1/cases?limit=1").json()
    assert [c["id"] for c in listed["items"]] == [case_id]
    assert listed["next"] is None
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = client.post("/api/v1/tasks", json={"title": "x", "due_at": past}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"due_at": "lies in the past"}
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    task = client.post(
        "/api/v1/tasks",
        json={"title": "Bellen", "due_at": due, "case_id": case_id},
        headers=headers,
    )
    assert task.status_code == 201
    task_id = task.json()["id"]
    assert client.get(f"/api/v1/tasks/{task_id}").json()["title"] == "Bellen"
    done = client.post(f"/api/v1/tasks/{task_id}/done", headers=headers)
    assert done.json()["status"] == "done"
    again = client.post(f"/api/v1/tasks/{task_id}/done", headers=headers)
    assert again.status_code == 200  # done stays done
    assert again.json()["status"] == "done"
    assert client.get("/api/v1/shelters").json() == {"items": [], "next": None}
    sign_in(accounts_by_role["police_officer"])
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 404
    with transaction(state.sessions) as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "chain.record_read")
        ).all()
        assert reads
        assert session.get(Case, case_id) is not None


def test_joint_control_own_parts_stay_apart(client, state, accounts_by_role, sign_in, csrf_of):
    officer = accounts_by_role["police_officer"]
    worker = accounts_by_role["outreach_worker"]
    sign_in(officer)
    page = client.get("/controles")
    assert page.status_code == 200
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    planned = client.post(
        "/controles",
        data={
            "csrf_token": csrf_of(page.text),
            "partner_organisation_id": str(worker.organisation_id),
            "planned_at": when,
            "shared_notes": "Verzamelen om acht uur",
        },
    )
    assert planned.status_code == 303, planned.text
    path = planned.headers["location"]
    detail = client.get(path)
    client.post(
        path + "/eigen-deel", data={"csrf_token": csrf_of(detail.text), "notes": "Politiedeel X"}
    )
    sign_in(worker)
    seen = client.get(path)
    assert seen.status_code == 200
    assert "Verzamelen om acht uur" in seen.text
    assert "Politiedeel X" not in seen.text
    sign_in(accounts_by_role["shelter_worker"])
    assert client.get(path).status_code == 403  # shelter workers plan no controls
