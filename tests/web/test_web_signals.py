"""The chain's pages and JSON API for signals, subjects, routing, referrals, agreements and the
emergency procedure: forms with per-field errors, nothing saved on a refusal, the API's shapes,
404 for records one may not see, CSRF for JSON posts and no phone number in the clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from signaal.store.models import (
    AuditEvent,
    Notification,
    Referral,
    Signal,
    Subject,
    SubjectEncoding,
)

from .conftest import Account, SignIn

PHONE = "06-94320989"


def _form(client, path: str, csrf_of) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.text
    return str(csrf_of(response.text))


def _register(client, csrf: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf,
        "category": "sleeps_at_work",
        "municipality": "Utrecht",
        "observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "text": "Synthetisch: slaapt in het pand.",
    }
    data.update(fields)
    return client.post("/signalen", data=data)


def test_the_phone_form_registers_a_signal_with_a_pseudonymised_phone(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["outreach_worker"])
    csrf = _form(client, "/signalen/nieuw", csrf_of)
    page = client.get("/signalen/nieuw").text
    assert 'list="gemeenten"' in page
    assert 'type="datetime-local"' in page
    response = _register(client, csrf, phone=PHONE, alias="Synthetische C")
    assert response.status_code == 303, response.text
    detail = client.get(response.headers["location"])
    assert detail.status_code == 200
    assert "Synthetische C" in detail.text
    assert "94320989" not in detail.text
    with state.sessions() as session:
        signal = session.scalars(select(Signal)).one()
        subject = session.scalars(select(Subject)).one()
        assert signal.subject_id == subject.id
        assert signal.contact_pseudonyms.startswith("phone:")
        subject_page = client.get(f"/personen/{subject.id}")
        assert "06-•••••89" in subject_page.text
        assert "94320989" not in subject_page.text


def test_a_bad_form_names_each_field_and_saves_nothing(
    client, state, accounts_by_role, sign_in, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["outreach_worker"])
    csrf = _form(client, "/signalen/nieuw", csrf_of)
    response = _register(
        client,
        csrf,
        category="nonsense",
        municipality="Atlantis",
        observed_at="2999-01-01T10:00",
        phone="bel me",
    )
    assert response.status_code == 422
    for name in ("category", "municipality", "observed_at", "phone"):
        assert f'id="fout-{name}"' in response.text, name
    assert "Atlantis" in response.text  # the values are kept
    with state.sessions() as session:
        assert session.scalars(select(Signal)).all() == []


def test_routing_and_return_through_the_pages(
    client, state, accounts_by_role, sign_in, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["care_coordinator"])
    csrf = _form(client, "/signalen/nieuw", csrf_of)
    assert _register(client, csrf).status_code == 303
    with state.sessions() as session:
        signal_id = session.scalars(select(Signal.id)).one()
    inbox = client.get("/coordinatie")
    assert f"signaal-{signal_id}" in inbox.text
    police = accounts_by_role["police_officer"]
    bad = client.post(
        "/coordinatie/uitzetten",
        data={"csrf_token": csrf, "signal_id": str(signal_id), "basis": "legal_basis"},
    )
    assert bad.status_code == 422
    assert 'id="fout-legal_basis"' in bad.text
    routed = client.post(
        "/coordinatie/uitzetten",
        data={
            "csrf_token": csrf,
            "signal_id": str(signal_id),
            "to_organisation_id": str(police.organisation_id),
            "question": "Kunnen jullie dit oppakken?",
            "basis": "consent",
            "purpose": "Bescherming",
        },
    )
    assert routed.status_code == 303
    sign_in(police)
    police_csrf = _form(client, "/verwijzingen", csrf_of)
    with state.sessions() as session:
        referral_id = session.scalars(select(Referral.id)).one()
    assert client.get(f"/signalen/{signal_id}").status_code == 200  # open while routed
    missing_reason = client.post(
        f"/verwijzingen/{referral_id}/status",
        data={"csrf_token": police_csrf, "to_state": "rejected"},
    )
    assert missing_reason.status_code == 422
    returned = client.post(
        f"/verwijzingen/{referral_id}/status",
        data={"csrf_token": police_csrf, "to_state": "rejected", "reason": "Niet onze taak"},
    )
    assert returned.status_code == 303
    assert client.get(f"/signalen/{signal_id}").status_code == 404  # closed again
    with state.sessions() as session:
        assert session.get(Signal, signal_id).status == "returned"  # type: ignore[union-attr]
        assert session.scalars(select(Notification.kind)).all() == ["signal_returned"]
    sign_in(accounts_by_role["care_coordinator"])
    assert f"Signaal {signal_id} is teruggegeven" in client.get("/coordinatie").text


def test_api_signals_and_subjects(client, state, accounts_by_role, sign_in) -> None:  # type: ignore[no-untyped-def]
    token = sign_in(accounts_by_role["outreach_worker"])
    csrf = state.signer.csrf_token(token, kind="session")
    body = {
        "category": "debt",
        "municipality": "Amersfoort",
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "text": "Synthetisch",
        "phones": [PHONE],
    }
    assert client.post("/api/v1/signals", json=body).status_code == 403  # no CSRF header
    created = client.post("/api/v1/signals", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    signal = created.json()
    assert (signal["municipality"], signal["region"], signal["n_contact_points"]) == (
        "Amersfoort",
        "Utrecht",
        1,
    )
    bad = client.post(
        "/api/v1/signals",
        json={**body, "category": "x", "municipality": "Atlantis"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"category", "municipality"}
    listed = client.get("/api/v1/signals?limit=1").json()
    assert [s["id"] for s in listed["items"]] == [signal["id"]]
    assert listed["next"] == str(signal["id"])
    assert client.get(f"/api/v1/signals?cursor={listed['next']}").json() == {
        "items": [],
        "next": None,
    }
    subject = client.post(
        "/api/v1/subjects",
        json={"alias": "Synthetische D", "birth_year_from": 2000, "phones": [PHONE]},
        headers={"X-CSRF-Token": csrf},
    )
    assert subject.status_code == 201
    assert subject.json()["phones"] == ["06-•••••89"]
    detail = client.get(f"/api/v1/subjects/{subject.json()['id']}").text
    assert "94320989" not in detail
    # Another organisation's record answers exactly like none.
    sign_in(accounts_by_role["police_officer"])
    hidden = client.get(f"/api/v1/signals/{signal['id']}")
    missing = client.get("/api/v1/signals/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    with state.sessions() as session:
        reads = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "chain.record_read")
        ).all()
    assert any('"view":"api list"' in d for d in reads)


def test_api_subject_names_are_encoded_not_stored(client, state, accounts_by_role, sign_in) -> None:  # type: ignore[no-untyped-def]
    token = sign_in(accounts_by_role["outreach_worker"])
    csrf = state.signer.csrf_token(token, kind="session")
    body = {
        "alias": "Synthetische E",
        "first_name": "Synthetica",
        "surname": "van der Proefpersoon",
        "birth_date": "1990-03-14",
    }
    created = client.post("/api/v1/subjects", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert "Synthetica" not in created.text
    assert "first_name" not in created.json()
    assert created.json()["hits"] == []  # no other organisation, no agreement
    signal = client.post(
        "/api/v1/signals",
        json={
            "category": "injuries",
            "municipality": "Utrecht",
            "observed_at": datetime.now(UTC).isoformat(),
            "subject_id": created.json()["id"],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert signal.status_code == 201, signal.text
    assert signal.json()["hits"] == []
    assert signal.json()["subject_id"] == created.json()["id"]
    with state.sessions() as session:
        row = session.scalars(
            select(SubjectEncoding).where(SubjectEncoding.subject_id == created.json()["id"])
        ).one()
    assert row.first_name is not None
    assert row.birth_date is not None
    bad = client.post(
        "/api/v1/subjects",
        json={**body, "birth_date": "1800-01-01"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"birth_date"}


def test_api_referral_transitions(client, state, accounts_by_role, sign_in) -> None:  # type: ignore[no-untyped-def]
    outreach, police = accounts_by_role["outreach_worker"], accounts_by_role["police_officer"]
    token = sign_in(outreach)
    csrf = state.signer.csrf_token(token, kind="session")
    headers = {"X-CSRF-Token": csrf}
    signal = client.post(
        "/api/v1/signals",
        json={
            "category": "injuries",
            "municipality": "Utrecht",
            "observed_at": datetime.now(UTC).isoformat(),
        },
        headers=headers,
    ).json()
    refused = client.post(
        "/api/v1/referrals",
        json={
            "to_organisation_id": police.organisation_id,
            "signal_id": signal["id"],
            "question": "Graag contact",
            "basis": "legal_basis",
            "purpose": "Bescherming",
        },
        headers=headers,
    )
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"legal_basis"}
    made = client.post(
        "/api/v1/referrals",
        json={
            "to_organisation_id": police.organisation_id,
            "signal_id": signal["id"],
            "question": "Graag contact",
            "basis": "consent",
            "purpose": "Bescherming",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    referral = made.json()
    own_accept = client.post(
        f"/api/v1/referrals/{referral['id']}/transitions",
        json={"to_state": "accepted"},
        headers=headers,
    )
    assert own_accept.status_code == 403
    police_token = sign_in(police)
    police_headers = {"X-CSRF-Token": state.signer.csrf_token(police_token, kind="session")}
    done_too_soon = client.post(
        f"/api/v1/referrals/{referral['id']}/transitions",
        json={"to_state": "done"},
        headers=police_headers,
    )
    assert done_too_soon.status_code == 409
    accepted = client.post(
        f"/api/v1/referrals/{referral['id']}/transitions",
        json={"to_state": "accepted"},
        headers=police_headers,
    )
    assert accepted.status_code == 200
    assert [e["to_state"] for e in accepted.json()["events"]] == ["in_progress", "accepted"]
    assert client.get(f"/api/v1/signals/{signal['id']}").status_code == 200
    incoming = client.get("/api/v1/referrals?direction=in").json()
    assert [r["id"] for r in incoming["items"]] == [referral["id"]]


def test_agreements_page_and_api(client, state, accounts_by_role, sign_in, csrf_of) -> None:  # type: ignore[no-untyped-def]
    admin, police = accounts_by_role["administrator"], accounts_by_role["police_officer"]
    sign_in(admin)
    csrf = _form(client, "/afspraken", csrf_of)
    bad = client.post("/afspraken", data={"csrf_token": csrf, "name": "Convenant"})
    assert bad.status_code == 422
    for name in ("parties", "categories", "purpose", "legal_basis", "valid_from"):
        assert t_error(bad.text, name), name
    made = client.post(
        "/afspraken",
        data={
            "csrf_token": csrf,
            "name": "Convenant Midden",
            "parties": str(police.organisation_id),
            "categories": "*",
            "purpose": "Signalen delen",
            "legal_basis": "Convenant art. 2",
            "valid_from": datetime.now(UTC).strftime("%Y-%m-%d"),
        },
    )
    assert made.status_code == 303
    listed = client.get("/api/v1/agreements").json()["items"]
    assert [a["name"] for a in listed] == ["Convenant Midden"]
    agreement_id = listed[0]["id"]
    sign_in(police)
    assert client.get(f"/api/v1/agreements/{agreement_id}").status_code == 200
    sign_in(accounts_by_role["other_org_admin"])
    assert client.get(f"/api/v1/agreements/{agreement_id}").status_code == 404
    assert client.get("/api/v1/agreements").json()["items"] == []


def t_error(page: str, name: str) -> bool:
    return f'id="veld-{name}"' in page and "field-error" in page


def test_emergency_procedure_form(client, state, accounts_by_role, sign_in, csrf_of) -> None:  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["signal_reporter"])
    csrf = _form(client, "/signalen/nieuw", csrf_of)
    assert _register(client, csrf).status_code == 303
    with state.sessions() as session:
        signal_id = session.scalars(select(Signal.id)).one()
    police = accounts_by_role["police_officer"]
    sign_in(police)
    csrf = _form(client, "/noodprocedure", csrf_of)
    assert client.get(f"/signalen/{signal_id}").status_code == 404
    short = client.post(
        "/noodprocedure",
        data={
            "csrf_token": csrf,
            "record_type": "signal",
            "record_id": str(signal_id),
            "reason": "nu",
        },
    )
    assert short.status_code == 422
    assert 'id="fout-reason"' in short.text
    started = client.post(
        "/noodprocedure",
        data={
            "csrf_token": csrf,
            "record_type": "signal",
            "record_id": str(signal_id),
            "reason": "Acuut gevaar, de persoon is vermist sinds vannacht",
        },
    )
    assert started.status_code == 303
    assert client.get(f"/signalen/{signal_id}").status_code == 200
    with state.sessions() as session:
        alerted = session.scalars(
            select(Notification.user_id).where(Notification.kind == "emergency_access")
        ).all()
    assert accounts_by_role["administrator"].user_id in alerted


def test_persona_page_offers_to_register_a_signal(
    client, accounts_by_role, sign_in, seeded_analysis
) -> None:  # type: ignore[no-untyped-def]
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get("/analyse/personas/P-1?doel=assess_signal")
    assert page.status_code == 200
    assert f"/signalen/nieuw?run={seeded_analysis}&amp;persona=P-1" in page.text
    form = client.get(f"/signalen/nieuw?run={seeded_analysis}&persona=P-1")
    assert 'value="ad_monitor"' in form.text
    assert 'value="ad_indicators" selected' in form.text


def test_an_escalation_links_a_persona_of_an_own_run_only(
    client, state, accounts_by_role, sign_in, csrf_of, seeded_analysis
) -> None:  # type: ignore[no-untyped-def]
    from signaal.store.models import AnalysisRun, SignalPersona

    police = accounts_by_role["police_officer"]
    with state.sessions() as session:
        police_run = session.scalars(
            select(AnalysisRun.id).where(AnalysisRun.organisation_id == police.organisation_id)
        ).one()
    sign_in(accounts_by_role["outreach_worker"])
    csrf = _form(client, "/signalen/nieuw", csrf_of)
    fields = {"source": "ad_monitor", "category": "ad_indicators", "persona": "P-1"}
    foreign = _register(client, csrf, run=str(police_run), **fields)
    assert foreign.status_code == 422
    assert "niet in een opgeslagen analyse van uw organisatie" in foreign.text
    own = _register(client, csrf, run=str(seeded_analysis), **fields)
    assert own.status_code == 303
    with state.sessions() as session:
        links = session.scalars(select(SignalPersona)).all()
        assert [(link.run_id, link.persona_id) for link in links] == [(seeded_analysis, "P-1")]
        assert session.scalars(select(Signal.source)).all() == ["ad_monitor"]
