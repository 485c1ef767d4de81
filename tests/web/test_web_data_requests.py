"""The person's page: the access request download (AVG art. 15), the erasure request (AVG art.
17) with a ground and a confirmation, and the legal hold that refuses it; CSRF on every form."""

from __future__ import annotations

import json

from signaal.chain import cases, data_requests, sharing, signals, subjects
from signaal.chain.authz import actor_for
from signaal.store.db import transaction
from signaal.store.models import Signal, Subject, User
from signaal.web.routes import signals as pages

from .conftest import Account, SignIn


def _subject(state, account: Account) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with transaction(state.sessions) as session:
        user = session.get(User, account.user_id)
        assert user is not None
        actor = actor_for(user)
        subject = subjects.create_subject(
            session,
            actor,
            subjects.SubjectDraft(alias="Synthetische Roos", phones=["06-94320933"]),
            pseudonym_key=state.settings.pseudonym_key,
            contact_key=state.settings.contact_key,
            ip=None,
        )
        signal = signals.register(
            session,
            actor,
            signals.SignalDraft(
                category="debt",
                municipality="Utrecht",
                observed_at=subject.created_at,
                text="Synthetisch signaal over Roos",
                subject_id=subject.id,
            ),
            pseudonym_key=state.settings.pseudonym_key,
            ip=None,
        )
        return subject.id, signal.id


def test_access_download_legal_hold_and_erasure(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    coordinator = accounts_by_role["care_coordinator"]
    subject_id, signal_id = _subject(state, coordinator)
    sign_in(coordinator)
    page = client.get(f"/personen/{subject_id}")
    assert page.status_code == 200
    for dutch in ("Inzageverzoek (AVG art. 15)", "Verwijderverzoek (AVG art. 17)", "Bewaarplicht"):
        assert dutch in page.text
    csrf = csrf_of(page.text)

    download = client.get(f"/personen/{subject_id}/inzage")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["cache-control"] == "no-store"
    report = json.loads(download.text)
    assert report["subject"]["alias"] == "Synthetische Roos"
    assert report["signals"][0]["text"] == "Synthetisch signaal over Roos"

    # The legal hold needs a reason; then the erasure is refused.
    path = f"/personen/{subject_id}"
    refused = client.post(f"{path}/bewaarplicht", data={"csrf_token": csrf, "hold": "on"})
    assert refused.status_code == 422
    assert 'id="fout-hold_reason"' in refused.text
    held = client.post(
        f"{path}/bewaarplicht",
        data={"csrf_token": csrf, "hold": "on", "hold_reason": "Aangifte loopt"},
    )
    assert held.status_code == 303
    assert "Bewaarplicht sinds" in client.get(path).text
    erase = {"csrf_token": csrf, "erase_reason": "consent_withdrawn", "erase_confirm": "yes"}
    blocked = client.post(f"{path}/verwijderen", data=erase)
    assert blocked.status_code == 409
    assert "Voor deze persoon geldt een bewaarplicht" in blocked.text
    assert (
        client.post(f"{path}/bewaarplicht", data={"csrf_token": csrf, "hold": "off"}).status_code
        == 303
    )

    # Without a confirmation nothing is erased; without the CSRF token neither.
    unconfirmed = client.post(
        f"{path}/verwijderen", data={"csrf_token": csrf, "erase_reason": "consent_withdrawn"}
    )
    assert unconfirmed.status_code == 422
    assert 'id="fout-erase_confirm"' in unconfirmed.text
    forged = client.post(
        f"{path}/verwijderen", data={k: v for k, v in erase.items() if k != "csrf_token"}
    )
    assert forged.status_code == 403
    with state.sessions() as session:
        assert session.get(Subject, subject_id) is not None

    erased = client.post(f"{path}/verwijderen", data=erase)
    assert erased.status_code == 303
    assert erased.headers["location"] == "/dashboard"
    assert client.get(path).status_code == 404
    with state.sessions() as session:
        assert session.get(Subject, subject_id) is None
        assert session.get(Signal, signal_id) is None


def test_the_page_offers_the_requests_only_to_roles_that_may(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:  # type: ignore[no-untyped-def]
    subject_id, _ = _subject(state, accounts_by_role["care_coordinator"])
    # An integration of the same organisation sees the person, never the requests or the hold.
    sign_in(accounts_by_role["integration"])
    page = client.get(f"/personen/{subject_id}")
    assert page.status_code == 200
    for dutch in ("Inzageverzoek", "Verwijderverzoek", "bewaarplicht"):
        assert dutch not in page.text
    assert client.get(f"/personen/{subject_id}/inzage").status_code == 403


def test_the_form_offers_exactly_the_grounds_the_service_takes() -> None:
    assert tuple(pages.ERASURE_REASONS) == data_requests.ERASURE_REASONS


def test_erasure_waits_for_a_partners_case_about_her(
    client, state, accounts_by_role: dict[str, Account], sign_in: SignIn, csrf_of
) -> None:  # type: ignore[no-untyped-def]
    coordinator = accounts_by_role["care_coordinator"]
    officer = accounts_by_role["police_officer"]
    subject_id, _ = _subject(state, coordinator)
    with transaction(state.sessions) as session:
        subject = session.get(Subject, subject_id)
        owner = session.get(User, coordinator.user_id)
        partner = session.get(User, officer.user_id)
        assert subject is not None
        assert owner is not None
        assert partner is not None
        sharing.share_record(
            session, actor_for(owner), subject, officer.organisation_id, "Samen", ip=None
        )
        cases.open_case(session, actor_for(partner), subject_id=subject_id)
    sign_in(coordinator)
    csrf = csrf_of(client.get(f"/personen/{subject_id}").text)
    refused = client.post(
        f"/personen/{subject_id}/verwijderen",
        data={"csrf_token": csrf, "erase_reason": "objection", "erase_confirm": "yes"},
    )
    assert refused.status_code == 409
    assert "Een dossier van een andere organisatie verwijst naar deze persoon" in refused.text
    with state.sessions() as session:
        assert session.get(Subject, subject_id) is not None
