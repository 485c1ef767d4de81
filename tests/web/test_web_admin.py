"""Administrators manage the users of their own organisation and read the audit log."""

from __future__ import annotations

from sqlalchemy import func, select

from signaal.store.models import AuditEvent, User


def _user_count(state) -> int:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_administrator_creates_a_user_in_the_own_organisation(
    client, state, accounts_by_role, sign_in, csrf_of
):
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    page = client.get("/beheer/gebruikers")
    assert page.status_code == 200
    assert accounts_by_role["viewer"].email in page.text  # same organisation
    assert accounts_by_role["other_org_admin"].email not in page.text  # another organisation
    response = client.post(
        "/beheer/gebruikers",
        data={
            "csrf_token": csrf_of(page.text),
            "display_name": "Sam Jansen",
            "email": "Sam.Jansen@GGD.example.test",
            "role": "outreach_worker",
        },
    )
    assert response.status_code == 201
    assert "Eenmalige activeringslink" in response.text
    link = response.text.split('class="activation-link">')[1].split("<")[0]
    assert link.startswith("http://127.0.0.1:8000/account/activeren/")
    assert "wachtwoord" not in response.text.split("Eenmalige activeringslink")[1].split("<")[0]
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.email == "sam.jansen@ggd.example.test"))
        assert user is not None
        assert user.organisation_id == admin.organisation_id
        assert not user.totp_enabled
        created = session.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "user.created")
            .order_by(AuditEvent.seq.desc())
        )
        assert created is not None
        assert created.actor_email == admin.email


def test_missing_and_absurd_values_are_shown_next_to_the_fields_and_nothing_is_written(
    client, state, accounts_by_role, sign_in, csrf_of
):
    sign_in(accounts_by_role["administrator"])
    token = csrf_of(client.get("/beheer/gebruikers").text)
    before = _user_count(state)
    response = client.post("/beheer/gebruikers", data={"csrf_token": token})
    assert response.status_code == 422
    assert response.text.count('aria-invalid="true"') == 3
    assert "Vul je e-mailadres in." in response.text
    response = client.post(
        "/beheer/gebruikers",
        data={
            "csrf_token": token,
            "display_name": "x" * 10_000,
            "email": "geen-adres",
            "role": "emperor",
        },
    )
    assert response.status_code == 422
    assert "Gebruik hoogstens 200 tekens." in response.text
    assert "Vul een e-mailadres in zoals naam@voorbeeld.nl." in response.text
    assert "Kies een van de mogelijkheden." in response.text
    # An administrator cannot hand out the platform-wide role.
    response = client.post(
        "/beheer/gebruikers",
        data={
            "csrf_token": token,
            "display_name": "Stiekem",
            "email": "stiekem@example.test",
            "role": "platform_administrator",
        },
    )
    assert response.status_code == 422
    assert _user_count(state) == before


def test_duplicate_email_is_refused(client, state, accounts_by_role, sign_in, csrf_of):
    sign_in(accounts_by_role["administrator"])
    token = csrf_of(client.get("/beheer/gebruikers").text)
    before = _user_count(state)
    response = client.post(
        "/beheer/gebruikers",
        data={
            "csrf_token": token,
            "display_name": "Dubbel",
            "email": accounts_by_role["viewer"].email,
            "role": "viewer",
        },
    )
    assert response.status_code == 409
    assert "Er bestaat al een gebruiker met dit e-mailadres." in response.text
    assert _user_count(state) == before


def test_audit_page_shows_the_chain_status_and_own_events_only(
    client, state, accounts_by_role, sign_in
):
    sign_in(accounts_by_role["other_org_admin"])
    assert client.get("/beheer/audit").status_code == 200  # an event of another organisation
    sign_in(accounts_by_role["administrator"])
    page = client.get("/beheer/audit")
    assert page.status_code == 200
    assert "De keten is intact." in page.text
    assert accounts_by_role["other_org_admin"].email not in page.text
    # The first view is now in the log, with a readable label next to its code.
    page = client.get("/beheer/audit")
    assert "Auditlog ingezien" in page.text
    assert "<code>audit.viewed</code>" in page.text
    with state.sessions() as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
    assert last is not None
    assert last.action == "audit.viewed"


def test_platform_administrator_sees_every_organisation(client, accounts_by_role, sign_in):
    sign_in(accounts_by_role["platform_administrator"])
    page = client.get("/beheer/gebruikers")
    assert accounts_by_role["other_org_admin"].email in page.text
    assert accounts_by_role["viewer"].email in page.text


def test_audit_page_warns_when_the_chain_is_broken(client, state, accounts_by_role, sign_in):
    from sqlalchemy import text

    sign_in(accounts_by_role["administrator"])
    client.get("/beheer/audit")
    with state.engine.begin() as connection:  # an attacker with database access (SQLite)
        connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        # The newest row: the page verifies the rows after its last checkpoint.
        connection.execute(
            text(
                "UPDATE audit_events SET actor_email = 'x@y.z' "
                "WHERE seq = (SELECT MAX(seq) FROM audit_events)"
            )
        )
    page = client.get("/beheer/audit")
    assert page.status_code == 200
    assert "De auditketen klopt niet." in page.text
    assert "gewijzigd nadat hij was geschreven" in page.text


def test_deactivating_a_user_ends_their_sessions(client, state, accounts_by_role, sign_in, csrf_of):
    from fastapi.testclient import TestClient

    viewer = accounts_by_role["viewer"]
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as other:
        token = state.signer.sign_session(sign_in(viewer))
        other.cookies.set(state.cookies.session_cookie, token)
        assert other.get("/dashboard").status_code == 200
        sign_in(accounts_by_role["administrator"])
        page = client.get("/beheer/gebruikers")
        assert "Deactiveer Test viewer" in page.text
        response = client.post(
            f"/beheer/gebruikers/{viewer.user_id}/status",
            data={"csrf_token": csrf_of(page.text), "actief": "nee"},
        )
        assert response.status_code == 303
        assert other.get("/dashboard").status_code == 303  # the viewer's session is gone
    with state.sessions() as session:
        user = session.get(User, viewer.user_id)
        assert user is not None
        assert not user.is_active
    page = client.get("/beheer/gebruikers")
    assert "Activeer Test viewer" in page.text
    response = client.post(
        f"/beheer/gebruikers/{viewer.user_id}/status",
        data={"csrf_token": csrf_of(page.text), "actief": "ja"},
    )
    assert response.status_code == 303


def test_another_organisation_cannot_change_a_user(
    client, state, accounts_by_role, sign_in, csrf_of
):
    viewer = accounts_by_role["viewer"]
    sign_in(accounts_by_role["other_org_admin"])
    page = client.get("/beheer/gebruikers")
    assert viewer.email not in page.text
    response = client.post(
        f"/beheer/gebruikers/{viewer.user_id}/status",
        data={"csrf_token": csrf_of(page.text), "actief": "nee"},
    )
    assert response.status_code == 403
    with state.sessions() as session:
        user = session.get(User, viewer.user_id)
        assert user is not None
        assert user.is_active
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
    assert event is not None
    assert event.action == "access.denied"
    assert event.record_id == str(viewer.user_id)
    # Unknown ids are no different for an organisation administrator.
    response = client.post(
        "/beheer/gebruikers/999999/status", data={"csrf_token": csrf_of(page.text), "actief": "nee"}
    )
    assert response.status_code == 403


def test_administrator_cannot_deactivate_themselves(client, accounts_by_role, sign_in, csrf_of):
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    page = client.get("/beheer/gebruikers")
    response = client.post(
        f"/beheer/gebruikers/{admin.user_id}/status",
        data={"csrf_token": csrf_of(page.text), "actief": "nee"},
    )
    assert response.status_code == 403
    assert "Je kunt dit account niet wijzigen" in response.text
