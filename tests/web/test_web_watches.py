"""The protective watch's page and API: register with a basis and an end date (errors per
field, the number never echoed or stored in the clear), see the hits, end a watch; only the
roles that may, and only the own organisation's watches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from signaal.chain import watches
from signaal.privacy.pseudonyms import pseudonym
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, ProtectiveWatch

from .conftest import Account, SignIn, store_analysis

PHONE = "06-94320922"


def test_the_page_registers_a_watch_and_shows_its_hit(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    worker = accounts_by_role["youth_care_worker"]
    sign_in(worker)
    page = client.get("/bescherming")
    assert page.status_code == 200
    assert "Beschermende signalering" in page.text
    csrf = csrf_of(page.text)
    bad = client.post(
        "/bescherming",
        data={
            "csrf_token": csrf,
            "label": "Jongere J.",
            "phone": PHONE,
            "basis": "legal_basis",
            "ends_at": (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%d"),
        },
    )
    assert bad.status_code == 422
    assert 'id="fout-legal_basis"' in bad.text
    assert 'id="fout-ends_at"' in bad.text
    assert "94320922" not in bad.text
    made = client.post(
        "/bescherming",
        data={
            "csrf_token": csrf,
            "label": "Jongere J.",
            "phone": PHONE,
            "basis": "consent",
            "ends_at": (datetime.now(UTC) + timedelta(days=60)).strftime("%Y-%m-%d"),
        },
    )
    assert made.status_code == 303, made.text
    listed = client.get("/bescherming").text
    assert "Jongere J." in listed
    assert "06-•••••22" in listed
    assert "94320922" not in listed
    # A stored run of the own organisation with the number: a hit, shown and notified.
    with transaction(state.sessions) as session:
        rows = _rows(pseudonym("phone", "+31694320922", state.settings.pseudonym_key))
        run = store_analysis(session, state.settings, worker.organisation_id, rows)
        watches.check_run(
            session, run, pseudonym_key=state.settings.pseudonym_key, now=datetime.now(UTC)
        )
    listed = client.get("/bescherming").text
    assert f"Analyse {run}: 1 advertenties in Utrecht" in listed
    assert "Synthetische watchtekst" not in listed
    notes = client.get("/meldingen").text
    assert "A watched number (Jongere J., 06-•••••22) appears in 1 ads" in notes
    # The API lists it, masked.
    items = client.get("/api/v1/watches").json()["items"]
    assert [(i["label"], i["phone"]) for i in items] == [("Jongere J.", "06-•••••22")]
    # Ending it needs a confirmation; then it is gone, audited.
    with state.sessions() as session:
        watch_id = session.scalars(select(ProtectiveWatch.id)).one()
    assert (
        client.post(f"/bescherming/{watch_id}/beeindigen", data={"csrf_token": csrf}).status_code
        == 422
    )
    ended = client.post(
        f"/bescherming/{watch_id}/beeindigen", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert ended.status_code == 303
    with state.sessions() as session:
        assert session.scalars(select(ProtectiveWatch)).all() == []
        changes = [
            d
            for d in session.scalars(
                select(AuditEvent.details).where(AuditEvent.action == "chain.record_written")
            )
            if '"record_kind":"protective_watch"' in d
        ]
    assert '"change":"created"' in changes[0]
    assert '"change":"ended"' in changes[-1]


def _rows(point: str) -> dict[str, list[dict[str, object]]]:
    now = datetime.now(UTC)
    return {
        "networks": [
            {
                "network_id": "N-w",
                "n_personas": 1,
                "n_ads": 1,
                "contact_points": point,
                "municipalities": "Utrecht",
                "risk_score": 50,
                "reasons": "",
            }
        ],
        "personas": [
            {"persona_id": "P-w", "network_id": "N-w", "n_ads": 1, "risk_score": 50, "reasons": ""}
        ],
        "ads": [
            {
                "ad_id": "A-w",
                "persona_id": "P-w",
                "network_id": "N-w",
                "risk_score": 50,
                "risk_level": "review",
                "indicators": "",
                "municipality": "Utrecht",
                "title": "Synthetisch",
                "text": "Synthetische watchtekst",
                "posted_at": now - timedelta(days=2),
            }
        ],
        "movements": [],
    }


def test_the_api_registers_and_another_organisation_cannot_end_it(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    token = sign_in(accounts_by_role["care_coordinator"])
    headers = {"X-CSRF-Token": state.signer.csrf_token(token, kind="session")}
    body = {
        "label": "Jongere K.",
        "phone": PHONE,
        "basis": "legal_basis",
        "legal_basis": "Jeugdwet art. 7.3.4",
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }
    made = client.post("/api/v1/watches", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["phone"] == "06-•••••22"
    assert "94320922" not in made.text
    too_long = client.post(
        "/api/v1/watches",
        json={**body, "ends_at": (datetime.now(UTC) + timedelta(days=366)).isoformat()},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert set(too_long.json()["error"]["fields"]) == {"ends_at"}
    watch_id = made.json()["id"]
    # The youth care worker is of another organisation: the watch does not exist for her.
    sign_in(accounts_by_role["youth_care_worker"])
    csrf = csrf_of(client.get("/bescherming").text)
    hidden = client.post(
        f"/bescherming/{watch_id}/beeindigen", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert hidden.status_code == 404
    assert client.get("/api/v1/watches").json()["items"] == []
    # A police officer may not watch at all.
    sign_in(accounts_by_role["police_officer"])
    assert client.get("/bescherming").status_code == 403
