"""Hits on the web forms, contact requests on a hit (pages and API), the agreement's hit/no-hit
switch and the own organisation's contact route: in Dutch and English, audited, and only the two
organisations of a request ever see it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from signaal.store.db import transaction
from signaal.store.models import AuditEvent, ContactRequest, Organisation, Signal, Subject

from .conftest import Account, SignIn, make_account

SANNE = {"first_name": "Sanne", "surname": "van der Berg", "birth_date": "1990-03-14"}
SANNE_AGAIN = {"first_name": "SANNE", "surname": "Vd Berg", "birth_date": "1991-03-14"}


def _csrf(client, csrf_of, path: str = "/dashboard") -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.text
    return str(csrf_of(page.text))


def _hit_no_hit_agreement(client, csrf_of, admin: Account, partner: Account, sign_in) -> None:  # type: ignore[no-untyped-def]
    """The GGD's administrator records, in the web form, an agreement with hit/no-hit."""
    sign_in(admin)
    csrf = _csrf(client, csrf_of, "/afspraken")
    made = client.post(
        "/afspraken",
        data={
            "csrf_token": csrf,
            "name": "Convenant hit/no-hit",
            "parties": str(partner.organisation_id),
            "categories": "*",
            "purpose": "Weten wie dezelfde persoon kent",
            "legal_basis": "Convenant art. 6",
            "valid_from": datetime.now(UTC).strftime("%Y-%m-%d"),
            "hit_no_hit": "yes",
        },
    )
    assert made.status_code == 303, made.text
    listed = client.get("/api/v1/agreements").json()["items"]
    assert [a["hit_no_hit"] for a in listed] == [True]


def _police_subject(client, state, police: Account, sign_in) -> int:  # type: ignore[no-untyped-def]
    token = sign_in(police)
    csrf = state.signer.csrf_token(token, kind="session")
    created = client.post(
        "/api/v1/subjects",
        json={"alias": "Synthetische P", **SANNE},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_a_hit_on_the_web_form_leads_to_a_request_that_the_partner_accepts(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    _hit_no_hit_agreement(client, csrf_of, accounts_by_role["administrator"], police, sign_in)
    police_subject = _police_subject(client, state, police, sign_in)

    # The outreach worker registers a signal and a person with a name on the signal's page.
    sign_in(outreach)
    csrf = _csrf(client, csrf_of, "/signalen/nieuw")
    made = client.post(
        "/signalen",
        data={
            "csrf_token": csrf,
            "category": "sleeps_at_work",
            "municipality": "Utrecht",
            "observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
            "text": "Synthetisch: slaapt in het pand.",
        },
    )
    assert made.status_code == 303
    with state.sessions() as session:
        signal_id = session.scalars(select(Signal.id)).one()
    linked = client.post(
        f"/signalen/{signal_id}/persoon",
        data={"csrf_token": csrf, "action": "create", "alias": "Synthetische O", **SANNE_AGAIN},
    )
    assert linked.status_code == 303, linked.text
    page = client.get(linked.headers["location"])
    assert page.status_code == 200
    assert "Ook elders bekend" in page.text
    assert "Test Politie" in page.text
    assert "Contact aanvragen" in page.text
    assert "Synthetische P" not in page.text  # never the other side's record
    assert "Sanne" not in page.text  # the name is not stored, so it cannot be shown
    with state.sessions() as session:
        own_subject = session.scalars(
            select(Subject.id).where(Subject.organisation_id == outreach.organisation_id)
        ).one()
    # The signal's page shows its subject's hits too.
    assert "Test Politie" in client.get(f"/signalen/{signal_id}").text

    # An empty message is refused; then the request is sent.
    refused = client.post(
        "/contactverzoeken",
        data={
            "csrf_token": csrf,
            "subject_id": str(own_subject),
            "organisation_id": str(police.organisation_id),
            "message": "",
        },
    )
    assert refused.status_code == 422
    sent = client.post(
        "/contactverzoeken",
        data={
            "csrf_token": csrf,
            "subject_id": str(own_subject),
            "organisation_id": str(police.organisation_id),
            "message": "Wij kennen haar van straatwerk; bel ons.",
        },
    )
    assert sent.status_code == 303
    outgoing = client.get("/contactverzoeken").text
    assert "wacht op antwoord" in outgoing

    # The police see it, about their own person, and accept with what they share.
    sign_in(police)
    incoming = client.get("/contactverzoeken")
    assert incoming.status_code == 200
    assert "Wij kennen haar van straatwerk" in incoming.text
    assert f'href="/personen/{police_subject}"' in incoming.text
    assert "Synthetische O" not in incoming.text
    with state.sessions() as session:
        request_id = session.scalars(select(ContactRequest.id)).one()
    csrf = _csrf(client, csrf_of, "/contactverzoeken")
    without_answer = client.post(
        f"/contactverzoeken/{request_id}/antwoord",
        data={"csrf_token": csrf, "decision": "accepted", "answer": ""},
    )
    assert without_answer.status_code == 422
    accepted = client.post(
        f"/contactverzoeken/{request_id}/antwoord",
        data={
            "csrf_token": csrf,
            "decision": "accepted",
            "answer": "Bel rechercheur J., 0900-8844",
        },
    )
    assert accepted.status_code == 303
    # The sender cannot answer its own request: as one that does not exist.
    sign_in(outreach)
    own_answer = client.post(
        f"/contactverzoeken/{request_id}/antwoord",
        data={"csrf_token": csrf_of(client.get("/dashboard").text), "decision": "declined"},
    )
    assert own_answer.status_code == 404
    listed = client.get("/contactverzoeken").text
    assert "Bel rechercheur J., 0900-8844" in listed
    assert "geaccepteerd" in listed
    with state.sessions() as session:
        changes = [
            d
            for d in session.scalars(
                select(AuditEvent.details).where(AuditEvent.action == "chain.record_written")
            )
            if '"record_kind":"contact_request"' in d
        ]
    assert len(changes) == 2
    assert '"change":"sent"' in changes[0]
    assert '"change":"accepted"' in changes[1]


def test_the_api_sends_lists_and_answers_and_hides_requests_of_others(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    _hit_no_hit_agreement(client, csrf_of, accounts_by_role["administrator"], police, sign_in)
    police_subject = _police_subject(client, state, police, sign_in)
    token = sign_in(outreach)
    csrf = state.signer.csrf_token(token, kind="session")
    headers = {"X-CSRF-Token": csrf}
    mine = client.post(
        "/api/v1/subjects", json={"alias": "Synthetische O", **SANNE_AGAIN}, headers=headers
    )
    assert mine.status_code == 201
    hits = mine.json()["hits"]
    assert hits == [
        {
            "organisation": "Test Politie",
            "contact_route": None,
            "organisation_id": police.organisation_id,
        }
    ]
    body = {"subject_id": mine.json()["id"], "organisation_id": police.organisation_id}
    # Another organisation's subject is no subject to ask about (as one that does not exist).
    for subject_id in (police_subject, 999999):
        theirs = client.post(
            "/api/v1/contact-requests",
            json={**body, "subject_id": subject_id, "message": "Hallo"},
            headers=headers,
        )
        assert theirs.status_code == 422
        assert set(theirs.json()["error"]["fields"]) == {"subject_id"}
    no_hit = client.post(
        "/api/v1/contact-requests",
        json={
            **body,
            "organisation_id": accounts_by_role["other_org_admin"].organisation_id,
            "message": "Hallo",
        },
        headers=headers,
    )
    assert no_hit.status_code == 422
    assert set(no_hit.json()["error"]["fields"]) == {"organisation_id"}
    sent = client.post(
        "/api/v1/contact-requests", json={**body, "message": "Graag contact"}, headers=headers
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["direction"] == "out"
    assert sent.json()["subject_id"] == mine.json()["id"]
    again = client.post(
        "/api/v1/contact-requests", json={**body, "message": "Nog eens"}, headers=headers
    )
    assert again.status_code == 409
    request_id = sent.json()["id"]

    token = sign_in(police)
    headers = {"X-CSRF-Token": state.signer.csrf_token(token, kind="session")}
    items = client.get("/api/v1/contact-requests").json()["items"]
    assert [(i["id"], i["direction"], i["organisation"]) for i in items] == [
        (request_id, "in", "Test GGD")
    ]
    assert items[0]["subject_id"] != mine.json()["id"]
    declined = client.post(
        f"/api/v1/contact-requests/{request_id}/answer",
        json={"decision": "declined"},
        headers=headers,
    )
    assert declined.status_code == 200
    assert declined.json()["state"] == "declined"
    twice = client.post(
        f"/api/v1/contact-requests/{request_id}/answer",
        json={"decision": "accepted", "message": "Toch wel"},
        headers=headers,
    )
    assert twice.status_code == 409

    # A third organisation sees nothing of it, and cannot answer it.
    token = sign_in(accounts_by_role["youth_care_worker"])
    headers = {"X-CSRF-Token": state.signer.csrf_token(token, kind="session")}
    assert client.get("/api/v1/contact-requests").json()["items"] == []
    hidden = client.post(
        f"/api/v1/contact-requests/{request_id}/answer",
        json={"decision": "accepted", "message": "x"},
        headers=headers,
    )
    missing = client.post(
        "/api/v1/contact-requests/999999/answer",
        json={"decision": "accepted", "message": "x"},
        headers=headers,
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_the_administrator_sets_the_contact_route_that_a_hit_shows(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    page = client.get("/beheer/organisatie")
    assert page.status_code == 200
    assert "Contactroute na een hit" in page.text
    csrf = csrf_of(page.text)
    bad = client.post("/beheer/organisatie", data={"csrf_token": csrf, "contact_route": "a\nb"})
    assert bad.status_code == 422
    saved = client.post(
        "/beheer/organisatie",
        data={"csrf_token": csrf, "contact_route": "Zorgloket 030-000 0000 (ma-vr 9-17)"},
    )
    assert saved.status_code == 303
    with state.sessions() as session:
        organisation = session.get(Organisation, admin.organisation_id)
        assert organisation is not None
        assert organisation.contact_route == "Zorgloket 030-000 0000 (ma-vr 9-17)"
        audited = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "chain.record_written")
        ).all()
    assert any('"change":"contact_route"' in d for d in audited)
    # In English too.
    client.post("/taal", data={"csrf_token": csrf, "taal": "en"})
    english = client.get("/beheer/organisatie")
    assert "Contact route after a hit" in english.text
    # An outreach worker of the same organisation may not change it.
    sign_in(accounts_by_role["outreach_worker"])
    assert client.get("/beheer/organisatie").status_code == 403


def test_a_request_by_role_and_pair_of_organisations(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    """A request of the GGD (sender) to the police (receiver), with youth care a party to the
    same hit/no-hit agreement and a municipality party to none: per role and organisation, what
    the list shows and what answering it gives."""
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    youth = accounts_by_role["youth_care_worker"]
    sign_in(accounts_by_role["administrator"])
    csrf = _csrf(client, csrf_of, "/afspraken")
    made = client.post(
        "/afspraken",
        data={
            "csrf_token": csrf,
            "name": "Convenant drie partijen",
            "parties": [str(police.organisation_id), str(youth.organisation_id)],
            "categories": "*",
            "purpose": "Weten wie dezelfde persoon kent",
            "legal_basis": "Convenant art. 6",
            "valid_from": datetime.now(UTC).strftime("%Y-%m-%d"),
            "hit_no_hit": "yes",
        },
    )
    assert made.status_code == 303
    _police_subject(client, state, police, sign_in)
    token = sign_in(outreach)
    headers = {"X-CSRF-Token": state.signer.csrf_token(token, kind="session")}
    mine = client.post(
        "/api/v1/subjects", json={"alias": "Synthetische O", **SANNE_AGAIN}, headers=headers
    ).json()
    sent = client.post(
        "/api/v1/contact-requests",
        json={
            "subject_id": mine["id"],
            "organisation_id": police.organisation_id,
            "message": "Verzoek-merkteken",
        },
        headers=headers,
    )
    assert sent.status_code == 201
    request_id = sent.json()["id"]
    with transaction(state.sessions) as session:
        unagreed = session.get(Organisation, accounts_by_role["other_org_admin"].organisation_id)
        assert unagreed is not None
        outsider = make_account(session, "care_coordinator", unagreed, "zc@andere.example.test")

    # (who, listed as, page answer status, API answer status)
    expected = {
        "outreach_worker": (outreach, "out", 404, 404),  # the sender: never answers
        "care_coordinator": (accounts_by_role["care_coordinator"], "out", 404, 404),
        "police_officer": (police, "in", 422, 422),  # the receiver: an empty answer is refused
        "youth_care_worker": (youth, None, 404, 404),  # party to the agreement, not the request
        "outsider": (outsider, None, 404, 404),  # no agreement at all
        "shelter_worker": (accounts_by_role["shelter_worker"], None, 403, 403),  # no such action
        "administrator": (accounts_by_role["administrator"], None, 403, 403),
    }
    mismatches = []
    for who, (account, listed_as, page_status, api_status) in expected.items():
        token = sign_in(account)
        csrf = state.signer.csrf_token(token, kind="session")
        page = client.get("/contactverzoeken")
        api = client.get("/api/v1/contact-requests")
        if listed_as is None:
            shown = page.status_code == 200 and "Verzoek-merkteken" in page.text
            if shown or (api.status_code == 200 and api.json()["items"]):
                mismatches.append(f"{who}: sees the request")
        else:
            directions = [(i["id"], i["direction"]) for i in api.json()["items"]]
            if directions != [(request_id, listed_as)] or "Verzoek-merkteken" not in page.text:
                mismatches.append(f"{who}: lists {directions}")
        answered = client.post(
            f"/contactverzoeken/{request_id}/antwoord", data={"csrf_token": csrf}
        )
        if answered.status_code != page_status:
            mismatches.append(f"{who}: page answer {answered.status_code}")
        answered = client.post(
            f"/api/v1/contact-requests/{request_id}/answer",
            json={},
            headers={"X-CSRF-Token": csrf},
        )
        if answered.status_code != api_status:
            mismatches.append(f"{who}: API answer {answered.status_code}")
    assert not mismatches, mismatches


def test_the_phone_form_shows_the_hits_of_the_person_it_registers(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    _hit_no_hit_agreement(client, csrf_of, accounts_by_role["administrator"], police, sign_in)
    _police_subject(client, state, police, sign_in)
    sign_in(outreach)
    form = client.get("/signalen/nieuw").text
    assert 'name="birth_date"' in form
    data = {
        "csrf_token": csrf_of(form),
        "category": "sleeps_at_work",
        "municipality": "Utrecht",
        "observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "text": "Synthetisch: slaapt in het pand.",
        "alias": "Synthetische O",
    }
    bad = client.post("/signalen", data={**data, **SANNE_AGAIN, "birth_date": "14-03-1991"})
    assert bad.status_code == 422
    assert 'id="fout-birth_date"' in bad.text
    made = client.post("/signalen", data={**data, **SANNE_AGAIN})
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "Test Politie" in page.text
    assert "Contact aanvragen" in page.text
    # Without a name and date of birth there is nothing to match: no hits section.
    plain = client.post("/signalen", data={**data, "alias": "Synthetische Q"})
    assert "Ook elders bekend" not in client.get(plain.headers["location"]).text


def test_a_role_that_sees_no_subjects_sees_no_hits(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    police, outreach = accounts_by_role["police_officer"], accounts_by_role["outreach_worker"]
    reporter = accounts_by_role["signal_reporter"]  # of the same GGD as the outreach worker
    _hit_no_hit_agreement(client, csrf_of, accounts_by_role["administrator"], police, sign_in)
    _police_subject(client, state, police, sign_in)
    sign_in(reporter)
    form = client.get("/signalen/nieuw").text
    made = client.post(
        "/signalen",
        data={
            "csrf_token": csrf_of(form),
            "category": "sleeps_at_work",
            "municipality": "Utrecht",
            "observed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
            "text": "Synthetisch: slaapt in het pand.",
        },
    )
    assert made.status_code == 303
    signal_path = made.headers["location"].split("?")[0]
    sign_in(outreach)
    csrf = _csrf(client, csrf_of, signal_path)
    linked = client.post(
        f"{signal_path}/persoon",
        data={"csrf_token": csrf, "action": "create", "alias": "Synthetische O", **SANNE_AGAIN},
    )
    assert linked.status_code == 303
    assert "Test Politie" in client.get(signal_path).text
    sign_in(reporter)
    page = client.get(signal_path)
    assert page.status_code == 200
    assert "Test Politie" not in page.text
    assert "Ook elders bekend" not in page.text
