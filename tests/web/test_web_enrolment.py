"""Accounts without handed-over passwords, through the web app: the one-time activation link,
what an administrator may grant and change (the pen-test attacks of finding 2), and changing the
own password."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from signaal.chain import accounts
from signaal.store.db import transaction
from signaal.store.models import AuditEvent, LoginSession, OrganisationKind, User

BASE_URL = "https://testserver"
NEW_PASSWORD = "my own long sentence of words"


def _last_event(state) -> AuditEvent:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    return event


def _user(state, email: str) -> User:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def _link_path(html: str) -> str:
    link = html.split('class="activation-link">')[1].split("<")[0]
    return urlsplit(link).path


def _create(client, csrf_of, email: str, role: str):  # type: ignore[no-untyped-def]
    page = client.get("/beheer/gebruikers")
    return client.post(
        "/beheer/gebruikers",
        data={
            "csrf_token": csrf_of(page.text),
            "display_name": "Nieuwe Collega",
            "email": email,
            "role": role,
        },
    )


def _login(client, csrf_of, email: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})


def test_a_new_account_is_activated_by_its_user_and_the_link_works_once(
    client, app, state, accounts_by_role, sign_in, csrf_of
):
    sign_in(accounts_by_role["administrator"])
    response = _create(client, csrf_of, "nieuw@ggd.example.test", "outreach_worker")
    assert response.status_code == 201
    assert "temporary-password" not in response.text
    path = _link_path(response.text)
    assert path.startswith("/account/activeren/")
    # Shown once: the list of users afterwards has no link.
    assert "activation-link" not in client.get("/beheer/gebruikers").text
    assert "wacht op activering" in client.get("/beheer/gebruikers").text

    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as user_client:
        # No password works before the user set her own.
        assert (
            _login(user_client, csrf_of, "nieuw@ggd.example.test", "anything at all").status_code
            == 401
        )
        page = user_client.get(path)
        assert page.status_code == 200
        assert "nieuw@ggd.example.test" in page.text
        token = csrf_of(page.text)
        differ = user_client.post(
            path,
            data={"csrf_token": token, "password": NEW_PASSWORD, "password_repeat": "other"},
        )
        assert differ.status_code == 422
        assert "De twee wachtwoorden zijn niet gelijk." in differ.text
        short = user_client.post(
            path, data={"csrf_token": token, "password": "kort", "password_repeat": "kort"}
        )
        assert short.status_code == 422
        assert "Dit wachtwoord mag niet" in short.text
        done = user_client.post(
            path,
            data={"csrf_token": token, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/account/tweede-factor"
        # Half-way: no rights before the second factor is set up.
        assert user_client.get("/dashboard").status_code == 303
        enrol = user_client.get("/account/tweede-factor")
        secret = re.search(r'data-secret="([A-Z2-7]+)"', enrol.text)
        assert secret is not None
        confirmed = user_client.post(
            "/account/tweede-factor",
            data={"csrf_token": csrf_of(enrol.text), "code": pyotp.TOTP(secret.group(1)).now()},
        )
        assert confirmed.status_code == 303
        assert user_client.get("/dashboard").status_code == 200
        # Used: the link is dead for everyone, also for its own user.
        again = user_client.get(path)
        assert again.status_code == 404
        assert "Deze link is onbekend, verlopen of al gebruikt." in again.text
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as attacker:
        page = attacker.get(path)
        assert page.status_code == 404
        response = attacker.post(
            path,
            data={
                "csrf_token": csrf_of(page.text),
                "password": "x" * 20,
                "password_repeat": "x" * 20,
            },
        )
        assert response.status_code == 404
        ok = _login(attacker, csrf_of, "nieuw@ggd.example.test", NEW_PASSWORD)
        assert ok.status_code == 303
        assert ok.headers["location"].startswith("/login/tweede-factor")
    with state.sessions() as session:
        names = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert "account.enrolment_issued" in names
    assert "account.enrolment_completed" in names


def _housing_admin(state) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with transaction(state.sessions) as session:
        housing = accounts.create_organisation(
            session, name="Woningcorporatie Test", kind=OrganisationKind.HOUSING
        )
        user = accounts.create_user(
            session,
            email="beheer@woning.example.test",
            password="correct horse battery staple",
            display_name="Beheer Woning",
            organisation=housing,
            role="administrator",
        )
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled = True
        return user.id, user.email


def test_pen_test_housing_administrator_cannot_create_an_analyst(
    client, state, accounts_by_role, csrf_of
):
    from signaal.chain import sessions

    user_id, _ = _housing_admin(state)
    with transaction(state.sessions) as session:
        user = session.get(User, user_id)
        token = sessions.create_session(
            session, user, ip="testclient", user_agent="pytest", second_factor_done=True
        )
    client.cookies.set(state.cookies.session_cookie, state.signer.sign_session(token))
    page = client.get("/beheer/gebruikers")
    assert page.status_code == 200
    assert 'value="analyst"' not in page.text  # not even offered
    assert 'value="viewer"' in page.text
    with state.sessions() as session:
        before = session.scalar(select(func.count()).select_from(User))
    response = _create(client, csrf_of, "analist@woning.example.test", "analyst")
    assert response.status_code == 422
    assert "activation-link" not in response.text
    with state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == before


def test_pen_test_organisation_administrator_cannot_deactivate_the_platform_administrator(
    client, state, accounts_by_role, sign_in, csrf_of
):
    platform = accounts_by_role["platform_administrator"]
    admin = accounts_by_role["administrator"]
    assert platform.organisation_id == admin.organisation_id  # the same organisation
    sign_in(admin)
    page = client.get("/beheer/gebruikers")
    assert "Deactiveer Test platform_administrator" not in page.text
    token = csrf_of(page.text)
    for path, data in (
        (f"/beheer/gebruikers/{platform.user_id}/status", {"actief": "nee"}),
        (f"/beheer/gebruikers/{platform.user_id}/activeringslink", {"bevestig": "ja"}),
        (f"/beheer/gebruikers/{platform.user_id}/rol", {"role": "viewer"}),
    ):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
        assert "Je kunt dit account niet wijzigen" in response.text
        event = _last_event(state)
        assert event.action == "access.denied"
        assert event.actor_email == admin.email
        assert event.record_id == str(platform.user_id)
    stored = _user(state, platform.email)
    assert stored.is_active
    assert stored.role == "platform_administrator"
    assert accounts._hasher.verify(stored.password_hash, platform.password)


def test_an_administrator_cannot_change_her_own_role(
    client, state, accounts_by_role, sign_in, csrf_of
):
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    token = csrf_of(client.get("/beheer/gebruikers").text)
    response = client.post(
        f"/beheer/gebruikers/{admin.user_id}/rol", data={"csrf_token": token, "role": "analyst"}
    )
    assert response.status_code == 403
    assert _user(state, admin.email).role == "administrator"


def test_an_administrator_changes_a_colleague_role_but_never_above_her_own(
    client, state, accounts_by_role, sign_in, csrf_of
):
    viewer = accounts_by_role["viewer"]
    sign_in(accounts_by_role["administrator"])
    token = csrf_of(client.get("/beheer/gebruikers").text)
    path = f"/beheer/gebruikers/{viewer.user_id}/rol"
    assert (
        client.post(path, data={"csrf_token": token, "role": "outreach_worker"}).status_code == 303
    )
    assert _user(state, viewer.email).role == "outreach_worker"
    assert (
        client.post(path, data={"csrf_token": token, "role": "platform_administrator"}).status_code
        == 403
    )
    unfit = client.post(path, data={"csrf_token": token, "role": "police_officer"})
    assert unfit.status_code == 422  # no police role in a GGD
    assert _user(state, viewer.email).role == "outreach_worker"
    assert '"role":["viewer","outreach_worker"]' in "".join(
        e.details for e in _events(state, "user.changed")
    )


def _events(state, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_new_link_ends_the_old_password_and_the_sessions(
    client, app, state, accounts_by_role, sign_in, csrf_of
):
    viewer = accounts_by_role["viewer"]
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as viewer_client:
        viewer_client.cookies.set(
            state.cookies.session_cookie, state.signer.sign_session(sign_in(viewer))
        )
        assert viewer_client.get("/dashboard").status_code == 200
        sign_in(accounts_by_role["administrator"])
        token = csrf_of(client.get("/beheer/gebruikers").text)
        path = f"/beheer/gebruikers/{viewer.user_id}/activeringslink"
        assert client.post(path, data={"csrf_token": token}).status_code == 422  # not confirmed
        response = client.post(path, data={"csrf_token": token, "bevestig": "ja"})
        assert response.status_code == 200
        assert "werkt niet meer" in response.text
        link_path = _link_path(response.text)
        assert viewer_client.get("/dashboard").status_code == 303  # the session ended
        assert _login(viewer_client, csrf_of, viewer.email, viewer.password).status_code == 401
        page = viewer_client.get(link_path)
        done = viewer_client.post(
            link_path,
            data={
                "csrf_token": csrf_of(page.text),
                "password": NEW_PASSWORD,
                "password_repeat": NEW_PASSWORD,
            },
        )
        # The second factor stays: the reset link alone does not log in.
        assert done.status_code == 303
        assert done.headers["location"] == "/login/tweede-factor"
        assert viewer_client.get("/dashboard").status_code == 303


def test_changing_the_own_password_needs_old_password_and_code_and_ends_other_sessions(
    client, app, state, accounts_by_role, sign_in, csrf_of
):
    analyst = accounts_by_role["analyst"]
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as elsewhere:
        elsewhere.cookies.set(
            state.cookies.session_cookie, state.signer.sign_session(sign_in(analyst))
        )
        sign_in(analyst)
        page = client.get("/account/wachtwoord")
        assert page.status_code == 200
        assert 'name="code"' in page.text
        token = csrf_of(page.text)
        form = {
            "csrf_token": token,
            "current_password": "not the password",
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD,
            "code": analyst.code(),
        }
        wrong = client.post("/account/wachtwoord", data=form)
        assert wrong.status_code == 401
        assert "Het huidige wachtwoord of de code klopt niet." in wrong.text
        totp = pyotp.TOTP(analyst.totp_secret or "")
        bad_code = "000000" if totp.now() != "000000" else "111111"
        form.update(current_password=analyst.password, code=bad_code)
        assert client.post("/account/wachtwoord", data=form).status_code == 401
        form.update(code=totp.at(time.time() + 30))
        changed = client.post("/account/wachtwoord", data=form)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/account/wachtwoord?gewijzigd=ja"
        assert "Je wachtwoord is gewijzigd." in client.get(changed.headers["location"]).text
        assert client.get("/dashboard").status_code == 200  # this browser goes on
        assert elsewhere.get("/dashboard").status_code == 303  # every other session ended
    with state.sessions() as session:
        live = session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == analyst.user_id)
        )
    assert live == 1
    assert [e.actor_email for e in _events(state, "account.password_changed")] == [analyst.email]
    assert len(_events(state, "login.failed")) == 1
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as fresh:
        assert _login(fresh, csrf_of, analyst.email, analyst.password).status_code == 401


def test_password_form_with_missing_or_mismatched_values(
    client, accounts_by_role, sign_in, csrf_of
):
    sign_in(accounts_by_role["viewer"])
    token = csrf_of(client.get("/account/wachtwoord").text)
    empty = client.post("/account/wachtwoord", data={"csrf_token": token})
    assert empty.status_code == 422
    assert empty.text.count('aria-invalid="true"') == 4
    mismatch = client.post(
        "/account/wachtwoord",
        data={
            "csrf_token": token,
            "current_password": "x",
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD + "!",
            "code": "123456",
        },
    )
    assert mismatch.status_code == 422
    assert "De twee wachtwoorden zijn niet gelijk." in mismatch.text


def test_the_administrator_cannot_use_the_link_she_made_from_her_own_session(
    client, app, state, accounts_by_role, sign_in, csrf_of
):
    """The pen test: the administrator made an account and enrolled it herself."""
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    path = _link_path(_create(client, csrf_of, "stroman@ggd.example.test", "analyst").text)
    page = client.get(path)
    form = {
        "csrf_token": csrf_of(page.text),
        "password": NEW_PASSWORD,
        "password_repeat": NEW_PASSWORD,
    }
    refused = client.post(path, data=form)
    assert refused.status_code == 403
    assert "Je hebt deze link voor iemand anders gemaakt" in refused.text
    assert client.get("/beheer/gebruikers").status_code == 200  # her own session goes on
    # The link still works for the person it was made for.
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as newcomer:
        page = newcomer.get(path)
        form["csrf_token"] = csrf_of(page.text)
        assert newcomer.post(path, data=form).status_code == 303
