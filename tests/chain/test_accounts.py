"""Organisations, users, login, rate limiting, TOTP and demo accounts, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from signaal.chain import accounts
from signaal.chain.accounts import (
    authenticate,
    begin_totp_enrolment,
    confirm_totp_enrolment,
    create_organisation,
    create_user,
    needs_second_factor,
    seed_demo,
    totp_qr_svg,
    verify_totp,
)
from signaal.chain.authz import SYSTEM, actor_for, roles
from signaal.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    PermissionDenied,
    TooManyAttempts,
)
from signaal.settings import Settings, load_settings
from signaal.store.models import (
    AuditEvent,
    LoginAttempt,
    LoginThrottle,
    Organisation,
    OrganisationKind,
    User,
)

PASSWORD = "correct horse battery staple"


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.fixture
def police(db_session: Session) -> Organisation:
    organisation = create_organisation(
        db_session, name="Politie Eenheid Test", kind=OrganisationKind.POLICE
    )
    db_session.commit()
    return organisation


@pytest.fixture
def officer(db_session: Session, police: Organisation) -> User:
    user = create_user(
        db_session,
        email="  Agent@Politie.Example ",
        password=PASSWORD,
        display_name="Agent Test",
        organisation=police,
        role="police_officer",
    )
    db_session.commit()
    return user


# -- creating ------------------------------------------------------------------------------------


def test_create_user_canonicalises_email_hashes_password_and_audits(
    db_session: Session, officer: User
) -> None:
    assert officer.email == "agent@politie.example"
    assert officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in officer.password_hash
    assert officer.organisation.kind is OrganisationKind.POLICE
    assert officer.totp_enabled is False
    assert needs_second_factor(officer)
    assert actions(db_session) == ["organisation.created", "user.created"]


def test_duplicate_email_is_a_conflict(
    db_session: Session, officer: User, police: Organisation
) -> None:
    with pytest.raises(ConflictError, match=r"agent@politie\.example"):
        create_user(
            db_session,
            email="AGENT@politie.example",
            password=PASSWORD,
            display_name="Twee",
            organisation=police,
            role="police_officer",
        )


def test_duplicate_organisation_is_a_conflict(db_session: Session, police: Organisation) -> None:
    with pytest.raises(ConflictError):
        create_organisation(db_session, name="Politie Eenheid Test", kind="police")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 250 + "@x.nl"}, "email"),
        ({"role": "superuser"}, "role"),
        ({"role": "outreach_worker"}, "role"),  # does not fit a police organisation
        ({"password": "short"}, "password"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "password"),
        ({"password": "x" * 2000}, "password"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "bad\x00name"}, "display_name"),
    ],
)
def test_bad_values_name_the_field_and_write_nothing(
    db_session: Session, police: Organisation, changes: dict[str, str], field: str
) -> None:
    values: dict[str, str] = {
        "email": "nieuw@politie.example",
        "password": PASSWORD,
        "display_name": "Nieuw",
        "role": "police_officer",
    }
    values.update(changes)
    before = db_session.scalar(select(func.count(AuditEvent.seq)))
    with pytest.raises(FieldError) as raised:
        create_user(db_session, organisation=police, **values)  # type: ignore[arg-type]
    assert raised.value.field == field
    assert db_session.scalar(select(func.count(User.id))) == 0
    assert db_session.scalar(select(func.count(AuditEvent.seq))) == before


def test_bad_organisation_kind_names_the_field(db_session: Session) -> None:
    with pytest.raises(FieldError) as raised:
        create_organisation(db_session, name="X", kind="bakery")
    assert raised.value.field == "kind"


def test_demo_users_may_have_short_passwords(db_session: Session, police: Organisation) -> None:
    user = create_user(
        db_session,
        email="demo@politie.example",
        password="demo",
        display_name="Demo",
        organisation=police,
        role="viewer",
        is_demo=True,
    )
    assert not needs_second_factor(user)


def test_administrator_manages_users_only_of_own_organisation(
    db_session: Session, police: Organisation
) -> None:
    other = create_organisation(db_session, name="GGD Test", kind="ggd")
    admin = create_user(
        db_session,
        email="beheer@politie.example",
        password=PASSWORD,
        display_name="Beheer",
        organisation=police,
        role="administrator",
    )
    actor = actor_for(admin)
    create_user(
        db_session,
        email="collega@politie.example",
        password=PASSWORD,
        display_name="Collega",
        organisation=police,
        role="police_officer",
        actor=actor,
    )
    with pytest.raises(PermissionDenied):
        create_user(
            db_session,
            email="iemand@ggd.example",
            password=PASSWORD,
            display_name="Iemand",
            organisation=other,
            role="viewer",
            actor=actor,
        )
    with pytest.raises(PermissionDenied):
        create_user(
            db_session,
            email="baas@politie.example",
            password=PASSWORD,
            display_name="Baas",
            organisation=police,
            role="platform_administrator",
            actor=actor,
        )


# -- login ---------------------------------------------------------------------------------------


def test_right_password_logs_in_and_audits(
    db_session: Session, officer: User, settings: Settings
) -> None:
    user = authenticate(
        db_session,
        email="AGENT@politie.example",
        password=PASSWORD,
        ip="10.0.0.1",
        settings=settings,
    )
    db_session.commit()
    assert user.id == officer.id
    assert actions(db_session)[-1] == "login.succeeded"
    attempt = db_session.scalars(select(LoginAttempt)).one()
    assert attempt.success
    assert attempt.email == officer.email


def test_wrong_password_and_unknown_user_get_the_same_message(
    db_session: Session, officer: User, settings: Settings
) -> None:
    with pytest.raises(AuthenticationError) as wrong:
        authenticate(
            db_session,
            email=officer.email,
            password="wrong password!",
            ip="10.0.0.1",
            settings=settings,
        )
    with pytest.raises(AuthenticationError) as unknown:
        authenticate(
            db_session,
            email="nobody@politie.example",
            password=PASSWORD,
            ip="10.0.0.1",
            settings=settings,
        )
    assert wrong.value.message == unknown.value.message
    # Failures are committed by authenticate itself, so a rollback by the caller keeps them.
    db_session.rollback()
    assert db_session.scalar(select(func.count(LoginAttempt.id))) == 2
    assert actions(db_session)[-2:] == ["login.failed", "login.failed"]
    reasons = [
        e.details
        for e in db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.seq)
        )
    ]
    assert '"reason":"wrong_password"' in reasons[0]
    assert '"reason":"unknown_user"' in reasons[1]


def test_unknown_user_verifies_the_dummy_hash(
    db_session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    verified: list[str] = []

    class SpyHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash))
            return super().verify(hash, password)

    fast = SpyHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", fast)
    with pytest.raises(AuthenticationError):
        authenticate(
            db_session, email="ghost@x.example", password=PASSWORD, ip="1.2.3.4", settings=settings
        )
    assert verified == [accounts._dummy_hash()]


def test_rate_limit_per_account(db_session: Session, officer: User) -> None:
    settings = load_settings(env="development", login_rate_limit=3)
    for i in range(3):
        with pytest.raises(AuthenticationError) as raised:
            authenticate(
                db_session,
                email=officer.email,
                password="wrong",
                ip=f"10.0.0.{i}",
                settings=settings,
            )
        assert not isinstance(raised.value, TooManyAttempts)
    # From another address too, and even with the right password: the account is paused.
    with pytest.raises(TooManyAttempts, match="Too many") as limited:
        authenticate(
            db_session, email=officer.email, password=PASSWORD, ip="10.9.9.9", settings=settings
        )
    assert limited.value.retry_after == settings.login_delay_seconds
    assert actions(db_session)[-1] == "login.rate_limited"


def test_rate_limit_per_address(db_session: Session, officer: User) -> None:
    settings = load_settings(env="development", login_rate_limit=3, login_address_rate_limit=3)
    for i in range(3):
        with pytest.raises(AuthenticationError):
            authenticate(
                db_session,
                email=f"user{i}@x.example",
                password="w",
                ip="10.1.1.1",
                settings=settings,
            )
    # The officer never logged in from this address: the address's delay holds him back too.
    with pytest.raises(TooManyAttempts):
        authenticate(
            db_session, email=officer.email, password=PASSWORD, ip="10.1.1.1", settings=settings
        )
    # Another address is not affected.
    assert authenticate(
        db_session, email=officer.email, password=PASSWORD, ip="10.2.2.2", settings=settings
    )


def test_old_failures_outside_the_window_do_not_count(db_session: Session, officer: User) -> None:
    settings = load_settings(env="development", login_rate_limit=2, login_rate_window_seconds=60)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            authenticate(
                db_session, email=officer.email, password="x", ip="10.0.0.1", settings=settings
            )
    # Ten minutes later (the delay and the window have passed) the count starts afresh.
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    db_session.execute(
        update(LoginThrottle).values(
            first_failure_at=long_ago, last_failure_at=long_ago, blocked_until=long_ago
        )
    )
    db_session.commit()
    with pytest.raises(AuthenticationError) as raised:
        authenticate(
            db_session, email=officer.email, password="x", ip="10.0.0.1", settings=settings
        )
    assert not isinstance(raised.value, TooManyAttempts)
    assert authenticate(
        db_session, email=officer.email, password=PASSWORD, ip="10.0.0.1", settings=settings
    )


def test_success_resets_the_account_count(db_session: Session, officer: User) -> None:
    settings = load_settings(env="development", login_rate_limit=2)
    with pytest.raises(AuthenticationError):
        authenticate(
            db_session, email=officer.email, password="x", ip="10.0.0.1", settings=settings
        )
    authenticate(
        db_session, email=officer.email, password=PASSWORD, ip="10.0.0.2", settings=settings
    )
    db_session.commit()
    with pytest.raises(AuthenticationError) as raised:
        authenticate(
            db_session, email=officer.email, password="x", ip="10.0.0.3", settings=settings
        )
    assert not isinstance(raised.value, TooManyAttempts)


def test_inactive_user_cannot_log_in(
    db_session: Session, officer: User, settings: Settings
) -> None:
    accounts.set_user_active(db_session, officer, False, actor=SYSTEM)
    db_session.commit()
    with pytest.raises(AuthenticationError):
        authenticate(
            db_session, email=officer.email, password=PASSWORD, ip="10.0.0.1", settings=settings
        )


def test_demo_accounts_work_only_in_development(db_session: Session) -> None:
    logins = seed_demo(db_session)
    db_session.commit()
    login = logins[0]
    development = load_settings(env="development")
    assert authenticate(
        db_session, email=login.email, password=login.password, ip="1.1.1.1", settings=development
    )
    production = load_settings(
        env="production",
        secret_key="s" * 40,
        pseudonym_key="p" * 40,
        audit_key="a" * 40,
        contact_key="c" * 40,
        data_key="d" * 40,
    )
    with pytest.raises(AuthenticationError):
        authenticate(
            db_session,
            email=login.email,
            password=login.password,
            ip="1.1.1.2",
            settings=production,
        )


def test_seed_demo_is_idempotent_and_covers_every_kind_and_role(db_session: Session) -> None:
    first = seed_demo(db_session)
    db_session.commit()
    second = seed_demo(db_session)
    db_session.commit()
    assert first == second
    # Every role a person can be given (the integration role is for API tokens only).
    personal = {name for name, definition in roles().items() if definition.granted_by}
    assert "integration" not in personal
    assert {login.role for login in first} == personal
    kinds = set(db_session.scalars(select(Organisation.kind)))
    assert kinds == set(OrganisationKind)
    assert db_session.scalar(select(func.count(User.id))) == len(personal)
    for login in first:
        user = accounts.find_user(db_session, login.email)
        assert user is not None
        assert user.is_demo
        assert user.role == login.role
        assert roles()[user.role].fits(user.organisation.kind)


def test_password_is_rehashed_when_parameters_change(
    db_session: Session, officer: User, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    )
    old = officer.password_hash
    authenticate(
        db_session, email=officer.email, password=PASSWORD, ip="1.1.1.1", settings=settings
    )
    assert officer.password_hash != old
    assert "t=2" in officer.password_hash


# -- TOTP ----------------------------------------------------------------------------------------


def enrol(db_session: Session, user: User, settings: Settings) -> pyotp.TOTP:
    secret, uri = begin_totp_enrolment(db_session, user)
    assert uri.startswith("otpauth://totp/Signaal:")
    assert "issuer=Signaal" in uri
    totp = pyotp.TOTP(secret)
    confirm_totp_enrolment(db_session, user, totp.now(), settings=settings)
    db_session.commit()
    return totp


def test_enrolment_confirm_and_verify(
    db_session: Session, officer: User, settings: Settings
) -> None:
    secret, uri = begin_totp_enrolment(db_session, officer)
    svg = totp_qr_svg(uri)
    assert svg.startswith("<svg")
    assert "<path" in svg
    with pytest.raises(AuthenticationError):
        confirm_totp_enrolment(db_session, officer, "000000", settings=settings)
    assert not officer.totp_enabled
    totp = pyotp.TOTP(secret)
    now = time.time()
    confirm_totp_enrolment(db_session, officer, totp.at(now), settings=settings)
    db_session.commit()
    assert officer.totp_enabled
    assert "account.second_factor_enrolled" in actions(db_session)
    # The next step's code (clock drift of one step) works once.
    assert verify_totp(db_session, officer, totp.at(now + 30), settings=settings, at=now)
    assert actions(db_session)[-1] == "login.second_factor_passed"


def test_replayed_code_is_rejected(db_session: Session, officer: User, settings: Settings) -> None:
    totp = enrol(db_session, officer, settings)
    now = time.time() + 60  # a fresh step after the one used for enrolment
    code = totp.at(now)
    assert verify_totp(db_session, officer, code, settings=settings, at=now)
    db_session.commit()
    assert not verify_totp(db_session, officer, code, settings=settings, at=now)
    event = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert event.action == "login.second_factor_failed"
    assert "replayed_code" in event.details


@pytest.mark.parametrize("code", ["123456", "12345", "abcdef", "", "1234567", " 12 34 5x"])
def test_wrong_code_is_rejected(
    db_session: Session, officer: User, settings: Settings, code: str
) -> None:
    totp = enrol(db_session, officer, settings)
    if code == totp.now():  # pragma: no cover - one chance in a million
        code = "000000" if code != "000000" else "111111"
    assert not verify_totp(db_session, officer, code, settings=settings)


def test_code_with_spaces_is_accepted(
    db_session: Session, officer: User, settings: Settings
) -> None:
    totp = enrol(db_session, officer, settings)
    now = time.time() + 60
    code = totp.at(now)
    assert verify_totp(db_session, officer, f"{code[:3]} {code[3:]}", settings=settings, at=now)


def test_codes_from_far_away_in_time_are_rejected(
    db_session: Session, officer: User, settings: Settings
) -> None:
    totp = enrol(db_session, officer, settings)
    now = time.time() + 300
    assert not verify_totp(db_session, officer, totp.at(now + 90), settings=settings, at=now)
    assert not verify_totp(db_session, officer, totp.at(now - 90), settings=settings, at=now)


def test_wrong_codes_are_rate_limited(db_session: Session, officer: User) -> None:
    settings = load_settings(env="development", login_rate_limit=3)
    totp = enrol(db_session, officer, settings)
    for _ in range(3):
        assert not verify_totp(
            db_session, officer, "000000" if totp.now() != "000000" else "111111", settings=settings
        )
    with pytest.raises(TooManyAttempts):
        verify_totp(db_session, officer, totp.now(), settings=settings)


def test_verify_without_enrolment_is_false(
    db_session: Session, officer: User, settings: Settings
) -> None:
    assert not verify_totp(db_session, officer, "123456", settings=settings)


def test_enrolment_does_not_silently_replace_an_enabled_factor(
    db_session: Session, officer: User, settings: Settings
) -> None:
    enrol(db_session, officer, settings)
    with pytest.raises(ConflictError):
        begin_totp_enrolment(db_session, officer)
    secret, _ = begin_totp_enrolment(db_session, officer, replace=True)
    assert officer.totp_secret == secret
    assert not officer.totp_enabled


def test_set_role_checks_fit_rights_and_audits(
    db_session: Session, officer: User, police: Organisation
) -> None:
    with pytest.raises(FieldError) as unfit:
        accounts.set_role(db_session, officer, "outreach_worker", actor=SYSTEM)
    assert unfit.value.field == "role"
    with pytest.raises(FieldError):
        accounts.set_role(db_session, officer, "nonsense", actor=SYSTEM)
    admin = create_user(
        db_session,
        email="beheer@politie.example",
        password=PASSWORD,
        display_name="Beheer",
        organisation=police,
        role="administrator",
    )
    with pytest.raises(PermissionDenied):
        accounts.set_role(db_session, officer, "platform_administrator", actor=actor_for(admin))
    accounts.set_role(db_session, officer, "analyst", actor=actor_for(admin), ip="10.0.0.1")
    db_session.commit()
    assert officer.role == "analyst"
    last = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None
    assert last.action == "user.changed"
    assert '"role":["police_officer","analyst"]' in last.details
    assert last.actor_email == "beheer@politie.example"


def test_list_users_and_locale(db_session: Session, officer: User, police: Organisation) -> None:
    other = create_organisation(db_session, name="GGD Test", kind="ggd")
    create_user(
        db_session,
        email="arts@ggd.example",
        password=PASSWORD,
        display_name="Arts",
        organisation=other,
        role="care_coordinator",
    )
    assert [u.email for u in accounts.list_users(db_session)] == [
        "agent@politie.example",
        "arts@ggd.example",
    ]
    assert [u.email for u in accounts.list_users(db_session, organisation_id=police.id)] == [
        "agent@politie.example"
    ]
    accounts.set_locale(db_session, officer, "en")
    assert officer.locale == "en"
    with pytest.raises(FieldError) as raised:
        accounts.set_locale(db_session, officer, "fr")
    assert raised.value.field == "locale"
