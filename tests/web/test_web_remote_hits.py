"""Hits from the match service in the web app: a subject registered through the API is queued
for the service (keyed filters only), and after a sync her page shows the other deployment's
name and contact route with the in-deployment hits, without the in-app contact request form.
The service is an injected httpx transport (no network)."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from signaal.chain.remote_matching import RemoteMatching, sync
from signaal.store.db import transaction
from signaal.store.models import RemoteMatchRecord, utcnow

from .conftest import Account, SignIn

PURPOSE = "trafficking-victims"
SANNE = {"first_name": "Sanne", "surname": "van der Berg", "birth_date": "1990-03-14"}


def test_a_remote_hit_shows_on_the_subject_page(  # type: ignore[no-untyped-def]
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    police = accounts_by_role["police_officer"]
    state.settings = state.settings.model_copy(
        update={
            "remote_match_url": "https://match.example.test",
            "remote_match_token": "sms_test",
            "remote_match_secrets": {PURPOSE: "shared-matching-secret-0123456789abcdef"},
            "remote_match_organisations": [police.organisation_id],
        }
    )
    token = sign_in(police)
    created = client.post(
        "/api/v1/subjects",
        json={"alias": "Synthetische P", **SANNE},
        headers={"X-CSRF-Token": state.signer.csrf_token(token, kind="session")},
    )
    assert created.status_code == 201, created.text
    subject_id = int(created.json()["id"])
    with transaction(state.sessions) as db:
        queued = db.scalars(select(RemoteMatchRecord)).one()
    assert queued.subject_id == subject_id
    assert "sanne" not in (queued.payload or "").lower()

    sent: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/v1/records":
            return httpx.Response(200, json={"hits": [], "next": None})
        return httpx.Response(
            200,
            json={
                "hits": [
                    {
                        "reference": queued.reference,
                        "organisation": "GGD Regio Utrecht",
                        "contact_route": "zorgmeldpunt@ggd.test",
                    }
                ],
                "next": None,
            },
        )

    remote = RemoteMatching.from_settings(state.settings)
    assert remote is not None
    with transaction(state.sessions) as db:
        report = sync(db, remote, now=utcnow(), transport=httpx.MockTransport(service))
    assert (report.submitted, report.hits_found, report.problems) == (1, 1, [])
    submitted = json.loads(sent[0].content)
    assert sent[0].headers["authorization"] == "Bearer sms_test"
    assert submitted["purpose"] == PURPOSE
    assert [r["reference"] for r in submitted["records"]] == [queued.reference]
    assert "sanne" not in sent[0].content.decode().lower()

    page = client.get(f"/personen/{subject_id}")
    assert page.status_code == 200
    assert "GGD Regio Utrecht" in page.text
    assert "zorgmeldpunt@ggd.test" in page.text
    assert 'name="organisation_id" value="None"' not in page.text
