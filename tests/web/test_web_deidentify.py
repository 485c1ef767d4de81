"""The signal form's check of its free text: a name, a disguised phone and a date of birth get the
offer (nothing saved), "Pseudonymise and save" stores none of them, "Save as written" is an
explicit choice that is audited without the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from signaal.store.models import AuditEvent, ContactRequest, Signal, Subject
from signaal.web.app import WebState

from .conftest import Account, SignIn
from .test_web_contact_requests import SANNE_AGAIN, _hit_no_hit_agreement, _police_subject

TEXT = (
    "Synthetisch: Sanne de Vries, tel nul zes een twee drie vier vijf zes zeven acht, "
    "geboren 01-02-2009, slaapt in het pand."
)


def _with_cache(state: WebState, deidentify_data_dir: Path) -> None:
    """Give the app's data folder the de-identification cache (as `./dev setup` does); a link,
    so that the app loads it once for all tests."""
    target = state.settings.data_dir / "deduce"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to((deidentify_data_dir / "deduce").resolve(), target_is_directory=True)


def _register(client, csrf_of, **fields: str):  # type: ignore[no-untyped-def]
    csrf = csrf_of(client.get("/signalen/nieuw").text)
    data = {
        "csrf_token": csrf,
        "category": "sleeps_at_work",
        "municipality": "Utrecht",
        "observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "text": TEXT,
    }
    data.update(fields)
    return client.post("/signalen", data=data)


def _signals(state: WebState) -> list[Signal]:
    with state.sessions() as session:
        return list(session.scalars(select(Signal)))


def _choices(state: WebState) -> list[dict[str, object]]:
    with state.sessions() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "privacy.free_text_identifiers")
        )
        return [{**json.loads(r.details), "record_id": r.record_id} for r in rows]


def test_a_text_with_a_name_a_disguised_phone_and_a_birth_date_gets_the_offer(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    sign_in(accounts_by_role["outreach_worker"])
    response = _register(client, csrf_of)
    assert response.status_code == 200, response.text
    page = response.text
    assert 'name="identifiers" value="pseudonymise"' in page
    assert 'name="identifiers" value="as_written"' in page
    for value in ("Sanne de Vries", "nul zes een twee drie vier vijf zes zeven acht", "01-02-2009"):
        assert f"<q>{value}</q>" in page
    assert _signals(state) == []  # nothing saved yet
    assert _choices(state) == []


def test_pseudonymise_and_save_stores_no_identifier(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    sign_in(accounts_by_role["outreach_worker"])
    response = _register(client, csrf_of, identifiers="pseudonymise")
    assert response.status_code == 303, response.text
    (signal,) = _signals(state)
    assert signal.text == (
        "Synthetisch: [PERSOON-1], tel [TELEFOON-1], geboren [GEBOORTEDATUM-1], slaapt in het pand."
    )
    (choice,) = _choices(state)
    assert choice["choice"] == "pseudonymised"
    assert choice["record_id"] == str(signal.id)
    assert choice["categories"] == {"birth_date": 1, "person": 1, "phone": 1}


def test_save_as_written_is_audited_without_the_text(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    sign_in(accounts_by_role["outreach_worker"])
    response = _register(client, csrf_of, identifiers="as_written")
    assert response.status_code == 303, response.text
    (signal,) = _signals(state)
    assert signal.text == TEXT
    (choice,) = _choices(state)
    assert choice["choice"] == "as_written"
    assert choice["text_field"] == "text"
    with state.sessions() as session:
        details = " ".join(r.details for r in session.scalars(select(AuditEvent)))
    for value in ("Sanne", "nul zes", "2009"):
        assert value not in details


def test_a_text_without_identifiers_is_saved_at_once(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    sign_in(accounts_by_role["outreach_worker"])
    response = _register(client, csrf_of, text="Synthetisch: slaapt in het pand in Utrecht.")
    assert response.status_code == 303, response.text
    assert len(_signals(state)) == 1
    assert _choices(state) == []


def test_the_api_stores_the_text_as_sent_and_lists_the_identifiers_by_offset(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    token = sign_in(accounts_by_role["outreach_worker"])
    csrf = state.signer.csrf_token(token, kind="session")
    body = {
        "category": "sleeps_at_work",
        "municipality": "Utrecht",
        "observed_at": datetime.now(UTC).isoformat(),
        "text": TEXT,
    }
    created = client.post("/api/v1/signals", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["text"] == TEXT
    found = {TEXT[i["start"] : i["end"]]: i["category"] for i in out["identifiers_found"]}
    assert found == {
        "Sanne de Vries": "person",
        "nul zes een twee drie vier vijf zes zeven acht": "phone",
        "01-02-2009": "birth_date",
    }
    assert "Sanne" not in created.text.replace(TEXT, "")  # the values only in the text itself


def test_a_contact_request_message_gets_the_offer_and_is_sent_pseudonymised(
    client,
    state,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    csrf_of,
    deidentify_data_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    _with_cache(state, deidentify_data_dir)
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    _hit_no_hit_agreement(client, csrf_of, accounts_by_role["administrator"], police, sign_in)
    _police_subject(client, state, police, sign_in)
    sign_in(outreach)
    made = _register(client, csrf_of, text="Synthetisch: slaapt in het pand.")
    assert made.status_code == 303, made.text
    csrf = csrf_of(client.get("/signalen/nieuw").text)
    with state.sessions() as session:
        signal_id = session.scalars(select(Signal.id)).one()
    linked = client.post(
        f"/signalen/{signal_id}/persoon",
        data={"csrf_token": csrf, "action": "create", "alias": "Synthetische O", **SANNE_AGAIN},
    )
    assert linked.status_code == 303, linked.text
    with state.sessions() as session:
        own_subject = session.scalars(
            select(Subject.id).where(Subject.organisation_id == outreach.organisation_id)
        ).one()
    message = "Wij zien haar, bel mij op nul zes een twee drie vier vijf zes zeven acht."
    data = {
        "csrf_token": csrf,
        "subject_id": str(own_subject),
        "organisation_id": str(police.organisation_id),
        "message": message,
    }
    offered = client.post("/contactverzoeken", data=data)
    assert offered.status_code == 200, offered.text
    assert "<q>nul zes een twee drie vier vijf zes zeven acht</q>" in offered.text
    with state.sessions() as session:
        assert session.scalars(select(ContactRequest)).all() == []
    sent = client.post("/contactverzoeken", data={**data, "identifiers": "pseudonymise"})
    assert sent.status_code == 303, sent.text
    with state.sessions() as session:
        request = session.scalars(select(ContactRequest)).one()
        assert request.message == "Wij zien haar, bel mij op [TELEFOON-1]."
    (choice,) = _choices(state)
    assert (choice["record_kind"], choice["text_field"]) == ("contact_request", "message")
