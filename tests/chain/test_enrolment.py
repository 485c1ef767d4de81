"""Enrolment links, granting rules on real accounts, and password changes, on SQLite and
PostgreSQL. Includes the pen-test attacks of finding 2."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from signaal.chain import accounts, sessions
from signaal.chain.accounts import (
    authenticate,
    change_password,
    complete_enrolment,
    create_organisation,
    create_user,
    find_enrolment,
    issue_enrolment_link,
    reset_second_factor,
    set_role,
    set_user_active,
)
from signaal.chain.authz import SYSTEM, actor_for
from signaal.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    FieldError,
    PermissionDenied,
    TooManyAttempts,
)
from signaal.settings import Settings, load_settings
from signaal.store.db import session_factory
from signaal.store.models import (
    AuditEvent,
    LoginAttempt,
    LoginSession,
    Organisation,
    OrganisationKind,
    User,
    UserEnrolment,
)

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely different sentence"


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def new_user(
    session: Session,
    organisation: Organisation,
    role: str,
    email: str,
    *,
    password: str | None = PASSWORD,
) -> User:
    return create_user(
        session,
        email=email,
        password=password,
        display_name=email.split("@")[0],
        organisation=organisation,
        role=role,
    )


def cannot_log_in(session: Session, email: str, password: str, settings: Settings) -> bool:
    try:
        authenticate(session, email=email, password=password, ip="10.0.0.9", settings=settings)
    except AuthenticationError:
        return True
    return False


@pytest.fixture
def ggd(db_session: Session) -> Organisation:
    organisation = create_organisation(db_session, name="GGD Test", kind=OrganisationKind.GGD)
    db_session.commit()
    return organisation


@pytest.fixture
def housing(db_session: Session) -> Organisation:
    organisation = create_organisation(
        db_session, name="Woningcorporatie Test", kind=OrganisationKind.HOUSING
    )
    db_session.commit()
    return organisation


@pytest.fixture
def admin(db_session: Session, ggd: Organisation) -> User:
    user = new_user(db_session, ggd, "administrator", "beheer@ggd.example")
    db_session.commit()
    return user


@pytest.fixture
def invited(db_session: Session, ggd: Organisation, admin: User) -> tuple[User, str]:
    """A new account made by the GGD's administrator, and the token of its link."""
    user = create_user(
        db_session,
        email="nieuw@ggd.example",
        display_name="Nieuw",
        organisation=ggd,
        role="outreach_worker",
        actor=actor_for(admin),
    )
    link = issue_enrolment_link(db_session, user, purpose="enrol", actor=actor_for(admin))
    db_session.commit()
    return user, link.token


# -- enrolment links ------------------------------------------------------------------------------


def test_a_new_account_has_no_usable_password_until_the_link_is_used(
    db_session: Session, invited: tuple[User, str], settings: Settings
) -> None:
    user, token = invited
    assert user.password_changed_at is None
    assert user.password_hash.startswith("$argon2id$")  # checking it costs like any other
    for guess in ("", PASSWORD, "nieuw@ggd.example", token):
        assert cannot_log_in(db_session, user.email, guess, settings)
    complete_enrolment(db_session, token, NEW_PASSWORD, ip="10.0.0.5")
    db_session.commit()
    assert user.password_changed_at is not None
    assert authenticate(
        db_session, email=user.email, password=NEW_PASSWORD, ip="10.0.0.5", settings=settings
    )
    assert actions(db_session)[-2:] == ["account.enrolment_completed", "login.succeeded"]


def test_a_password_the_user_did_not_set_herself_does_not_log_in(
    db_session: Session, ggd: Organisation, settings: Settings
) -> None:
    """Accounts from before enrolment links had a temporary password that the administrator saw:
    it does not log in; a reset link gives the user her own."""
    legacy = new_user(db_session, ggd, "viewer", "oud@ggd.example")
    legacy.password_changed_at = None
    db_session.commit()
    assert cannot_log_in(db_session, legacy.email, PASSWORD, settings)
    failed = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert failed is not None
    assert '"reason":"password_not_set"' in failed.details
    link = issue_enrolment_link(db_session, legacy, purpose="reset", actor=SYSTEM)
    complete_enrolment(db_session, link.token, NEW_PASSWORD)
    db_session.commit()
    assert authenticate(
        db_session, email=legacy.email, password=NEW_PASSWORD, ip="10.0.0.9", settings=settings
    )


def test_the_link_works_once_and_only_its_hash_is_stored(
    db_session: Session, invited: tuple[User, str]
) -> None:
    user, token = invited
    stored = db_session.scalars(select(UserEnrolment)).one()
    assert token not in stored.token_hash
    assert len(stored.token_hash) == 64
    assert stored.created_by_user_id is not None
    assert token not in "".join(db_session.scalars(select(AuditEvent.details)))
    assert find_enrolment(db_session, token) is not None
    complete_enrolment(db_session, token, NEW_PASSWORD)
    db_session.commit()
    assert find_enrolment(db_session, token) is None
    with pytest.raises(AuthenticationError):
        complete_enrolment(db_session, token, "yet another long password")
    db_session.rollback()
    assert accounts._hasher.verify(db_session.get(User, user.id).password_hash, NEW_PASSWORD)  # type: ignore[union-attr]


def test_an_expired_link_is_refused(
    db_session: Session, invited: tuple[User, str], settings: Settings
) -> None:
    user, token = invited
    db_session.execute(
        update(UserEnrolment).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db_session.commit()
    assert find_enrolment(db_session, token) is None
    with pytest.raises(AuthenticationError):
        complete_enrolment(db_session, token, NEW_PASSWORD)
    assert cannot_log_in(db_session, user.email, NEW_PASSWORD, settings)


def test_links_expire_after_the_configured_hours(
    db_session: Session, ggd: Organisation, admin: User
) -> None:
    settings = load_settings(env="development", enrolment_link_hours=5)
    user = create_user(
        db_session, email="x@ggd.example", display_name="X", organisation=ggd, role="viewer"
    )
    before = datetime.now(UTC)
    link = issue_enrolment_link(db_session, user, actor=SYSTEM, settings=settings)
    assert timedelta(hours=5) <= link.expires_at - before <= timedelta(hours=5, seconds=5)
    assert link.url(settings) == f"http://127.0.0.1:8000/account/activeren/{link.token}"


@pytest.mark.parametrize(
    "url", ["ftp://signaal.example", "signaal.example", "https://", "https://x.nl/?a=b", ""]
)
def test_a_public_url_that_is_no_web_address_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="public_url"):
        load_settings(env="development", public_url=url)


def test_the_public_url_may_carry_a_path() -> None:
    settings = load_settings(env="development", public_url="https://signaal.example.nl/app/")
    assert accounts.enrolment_url("abc", settings) == (
        "https://signaal.example.nl/app/account/activeren/abc"
    )


@pytest.mark.parametrize(
    "token", ["", "short", "x" * 43, "../../etc/passwd", "a" * 5000, "é" * 43, "\x00" * 43]
)
def test_unknown_or_absurd_tokens_find_nothing(
    db_session: Session, invited: tuple[User, str], token: str
) -> None:
    assert find_enrolment(db_session, token) is None
    with pytest.raises(AuthenticationError):
        complete_enrolment(db_session, token, NEW_PASSWORD)


def test_the_maker_of_a_link_cannot_use_it_herself(
    db_session: Session, invited: tuple[User, str], admin: User
) -> None:
    _, token = invited
    with pytest.raises(PermissionDenied):
        complete_enrolment(db_session, token, NEW_PASSWORD, opened_by=actor_for(admin))
    assert find_enrolment(db_session, token) is not None
    complete_enrolment(db_session, token, NEW_PASSWORD, opened_by=None)


def test_a_refused_password_keeps_the_link_usable(
    db_session: Session, invited: tuple[User, str]
) -> None:
    _, token = invited
    for bad in ("short", "aaaaaaaaaaaaaaaaaa", "NIEUW@ggd.example"):
        with pytest.raises(FieldError) as raised:
            complete_enrolment(db_session, token, bad)
        assert raised.value.field == "password"
    assert find_enrolment(db_session, token) is not None
    complete_enrolment(db_session, token, NEW_PASSWORD)


def test_a_new_link_replaces_older_ones_and_a_reset_ends_password_and_sessions(
    db_session: Session, ggd: Organisation, admin: User, settings: Settings
) -> None:
    user = new_user(db_session, ggd, "viewer", "lezer@ggd.example")
    sessions.create_session(db_session, user, ip="1.1.1.1", user_agent="t", second_factor_done=True)
    first = issue_enrolment_link(db_session, user, purpose="reset", actor=actor_for(admin))
    second = issue_enrolment_link(db_session, user, purpose="reset", actor=actor_for(admin))
    db_session.commit()
    assert find_enrolment(db_session, first.token) is None
    assert find_enrolment(db_session, second.token) is not None
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert cannot_log_in(db_session, user.email, PASSWORD, settings)  # the old password is dead
    complete_enrolment(db_session, second.token, NEW_PASSWORD)
    db_session.commit()
    assert authenticate(
        db_session, email=user.email, password=NEW_PASSWORD, ip="1.1.1.1", settings=settings
    )
    issued = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.enrolment_issued")
    ).all()
    assert len(issued) == 2
    assert all(event.actor_email == admin.email for event in issued)
    assert all('"link_purpose":"reset"' in event.details for event in issued)


def test_a_deactivated_account_gets_no_link_and_its_link_dies(
    db_session: Session, invited: tuple[User, str], admin: User
) -> None:
    user, token = invited
    set_user_active(db_session, user, False, actor=actor_for(admin))
    db_session.commit()
    assert find_enrolment(db_session, token) is None
    with pytest.raises(AuthenticationError):
        complete_enrolment(db_session, token, NEW_PASSWORD)
    with pytest.raises(ConflictError):
        issue_enrolment_link(db_session, user, purpose="reset", actor=actor_for(admin))


def _race(
    factory: sessionmaker[Session], token: str, racers: int, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """``racers`` threads use the link of ``token`` at once, each with its own password; every
    one of them has found the link unused before any writes (the barrier holds them just after
    that check). Returns "ok <n>" or "refused" per thread."""
    barrier = threading.Barrier(racers, timeout=20)
    real_validate = accounts.validate_password

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        real_validate(*args, **kwargs)
        barrier.wait()

    monkeypatch.setattr(accounts, "validate_password", held)
    results: list[str] = []
    lock = threading.Lock()

    def use(n: int) -> None:
        with factory() as session:
            try:
                complete_enrolment(session, token, f"racer number {n} of {token[:8]}")
                session.commit()
                outcome = f"ok {n}"
            except AuthenticationError:
                session.rollback()
                outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    monkeypatch.setattr(accounts, "validate_password", real_validate)
    return results


def test_two_concurrent_uses_of_one_link_cannot_both_succeed(
    engine: Engine, invited: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _ = invited
    factory = session_factory(engine)
    for trial in range(3):
        with factory() as session:
            target = session.get(User, user.id)
            assert target is not None
            link = issue_enrolment_link(session, target, purpose="reset", actor=SYSTEM)
            session.commit()
        results = _race(factory, link.token, 4, monkeypatch)
        winners = [r for r in results if r.startswith("ok")]
        assert len(results) == 4, results
        assert len(winners) == 1, results
        with factory() as session:
            stored = session.get(User, user.id)
            assert stored is not None
            winner = winners[0].split()[1]
            assert accounts._hasher.verify(
                stored.password_hash, f"racer number {winner} of {link.token[:8]}"
            )
            completed = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "account.enrolment_completed")
            )
            assert completed == trial + 1


# -- granting: the pen-test attacks ---------------------------------------------------------


def test_pen_test_housing_administrator_cannot_create_an_analyst(
    db_session: Session, housing: Organisation
) -> None:
    housing_admin = new_user(db_session, housing, "administrator", "beheer@woning.example")
    db_session.commit()
    before = db_session.scalar(select(func.count()).select_from(User))
    with pytest.raises((FieldError, PermissionDenied)):
        create_user(
            db_session,
            email="analist@woning.example",
            display_name="Analist",
            organisation=housing,
            role="analyst",
            actor=actor_for(housing_admin),
        )
    db_session.rollback()
    # Nor by making a viewer first and promoting it.
    viewer = create_user(
        db_session,
        email="lezer@woning.example",
        display_name="Lezer",
        organisation=housing,
        role="viewer",
        actor=actor_for(housing_admin),
    )
    with pytest.raises((FieldError, PermissionDenied)):
        set_role(db_session, viewer, "analyst", actor=actor_for(housing_admin))
    assert viewer.role == "viewer"
    assert db_session.scalar(select(func.count()).select_from(User)) == before + 1


def test_pen_test_organisation_administrator_cannot_deactivate_the_platform_administrator(
    db_session: Session, ggd: Organisation, admin: User
) -> None:
    other = create_organisation(db_session, name="Gemeente Test", kind="municipality")
    colleague = new_user(db_session, ggd, "platform_administrator", "platform@ggd.example")
    elsewhere = new_user(db_session, other, "platform_administrator", "platform@gemeente.example")
    db_session.commit()
    for target in (colleague, elsewhere):
        with pytest.raises(PermissionDenied):
            set_user_active(db_session, target, False, actor=actor_for(admin))
        with pytest.raises(PermissionDenied):
            issue_enrolment_link(db_session, target, purpose="reset", actor=actor_for(admin))
        with pytest.raises(PermissionDenied):
            reset_second_factor(db_session, target, actor=actor_for(admin))
        with pytest.raises(PermissionDenied):
            set_role(db_session, target, "viewer", actor=actor_for(admin))
        assert target.is_active
        assert target.role == "platform_administrator"


def test_an_administrator_never_changes_herself(
    db_session: Session, ggd: Organisation, admin: User
) -> None:
    me = actor_for(admin)
    with pytest.raises(PermissionDenied):
        set_user_active(db_session, admin, False, actor=me)
    with pytest.raises(PermissionDenied):
        set_role(db_session, admin, "analyst", actor=me)
    with pytest.raises(PermissionDenied):
        issue_enrolment_link(db_session, admin, purpose="reset", actor=me)
    with pytest.raises(PermissionDenied):
        reset_second_factor(db_session, admin, actor=me)
    platform = new_user(db_session, ggd, "platform_administrator", "platform@ggd.example")
    with pytest.raises(PermissionDenied):
        set_user_active(db_session, platform, False, actor=actor_for(platform))
    assert admin.is_active
    assert admin.role == "administrator"


def test_an_administrator_never_grants_above_her_rank_nor_in_another_organisation(
    db_session: Session, ggd: Organisation, admin: User
) -> None:
    other = create_organisation(db_session, name="Politie Test", kind="police")
    stranger = new_user(db_session, other, "police_officer", "agent@politie.example")
    colleague = new_user(db_session, ggd, "viewer", "lezer@ggd.example")
    with pytest.raises(PermissionDenied):
        set_role(db_session, colleague, "platform_administrator", actor=actor_for(admin))
    with pytest.raises(PermissionDenied):
        create_user(
            db_session,
            email="baas@ggd.example",
            display_name="Baas",
            organisation=ggd,
            role="platform_administrator",
            actor=actor_for(admin),
        )
    for change in (
        lambda: set_user_active(db_session, stranger, False, actor=actor_for(admin)),
        lambda: set_role(db_session, stranger, "viewer", actor=actor_for(admin)),
        lambda: issue_enrolment_link(db_session, stranger, purpose="reset", actor=actor_for(admin)),
    ):
        with pytest.raises(PermissionDenied):
            change()
    # What she may do: a colleague of her organisation, roles that fit it, up to her own rank.
    set_role(db_session, colleague, "analyst", actor=actor_for(admin))
    set_role(db_session, colleague, "administrator", actor=actor_for(admin))
    set_user_active(db_session, colleague, False, actor=actor_for(admin))
    assert (colleague.role, colleague.is_active) == ("administrator", False)


def test_deactivating_ends_the_sessions(
    db_session: Session, ggd: Organisation, admin: User
) -> None:
    colleague = new_user(db_session, ggd, "viewer", "lezer@ggd.example")
    sessions.create_session(
        db_session, colleague, ip="1.1.1.1", user_agent="t", second_factor_done=True
    )
    set_user_active(db_session, colleague, False, actor=actor_for(admin))
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 0


# -- changing the own password ----------------------------------------------------------


@pytest.fixture
def officer(db_session: Session) -> tuple[User, pyotp.TOTP]:
    police = create_organisation(db_session, name="Politie Test", kind="police")
    user = new_user(db_session, police, "police_officer", "agent@politie.example")
    secret, _ = accounts.begin_totp_enrolment(db_session, user)
    totp = pyotp.TOTP(secret)
    user.totp_enabled = True
    db_session.commit()
    return user, totp


def test_password_change_needs_the_old_password_and_a_current_code(
    db_session: Session, officer: tuple[User, pyotp.TOTP], settings: Settings
) -> None:
    user, totp = officer
    wrong_code = "000000" if totp.now() != "000000" else "111111"
    with pytest.raises(AuthenticationError):
        change_password(
            db_session, user, current="not my password", new=NEW_PASSWORD, code=totp.now()
        )
    with pytest.raises(AuthenticationError):
        change_password(db_session, user, current=PASSWORD, new=NEW_PASSWORD, code=wrong_code)
    with pytest.raises(AuthenticationError):
        change_password(db_session, user, current=PASSWORD, new=NEW_PASSWORD, code="")
    db_session.rollback()
    assert accounts._hasher.verify(db_session.get(User, user.id).password_hash, PASSWORD)  # type: ignore[union-attr]
    # The failures were counted like failed logins, and audited.
    failures = db_session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
    )
    assert failures == 3
    assert "login.failed" in actions(db_session)
    assert "login.second_factor_failed" in actions(db_session)
    code = totp.at(time.time() + 30)  # a step not used yet
    change_password(db_session, user, current=PASSWORD, new=NEW_PASSWORD, code=code)
    db_session.commit()
    assert cannot_log_in(db_session, user.email, PASSWORD, settings)
    assert authenticate(
        db_session, email=user.email, password=NEW_PASSWORD, ip="1.1.1.1", settings=settings
    )
    # The code is used up: it does not work for another change.
    with pytest.raises(AuthenticationError):
        change_password(db_session, user, current=NEW_PASSWORD, new=PASSWORD, code=code)


@pytest.mark.parametrize(
    ("new", "field"),
    [
        ("short", "new_password"),
        (PASSWORD, "new_password"),  # the same as the current one
        ("agent@politie.example", "new_password"),
        ("x" * 2000, "new_password"),
    ],
)
def test_a_refused_new_password_names_the_field_and_counts_nothing(
    db_session: Session, officer: tuple[User, pyotp.TOTP], new: str, field: str
) -> None:
    user, totp = officer
    with pytest.raises(FieldError) as raised:
        change_password(db_session, user, current=PASSWORD, new=new, code=totp.now())
    assert raised.value.field == field
    assert db_session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_wrong_old_passwords_are_rate_limited_like_logins(
    db_session: Session, officer: tuple[User, pyotp.TOTP]
) -> None:
    user, totp = officer
    settings = load_settings(env="development", login_rate_limit=3)
    for _ in range(3):
        with pytest.raises(AuthenticationError) as raised:
            change_password(
                db_session,
                user,
                current="guess",
                new=NEW_PASSWORD,
                code=totp.now(),
                ip="10.0.0.1",
                settings=settings,
            )
        assert not isinstance(raised.value, TooManyAttempts)
    with pytest.raises(TooManyAttempts):
        change_password(
            db_session,
            user,
            current=PASSWORD,
            new=NEW_PASSWORD,
            code=totp.now(),
            ip="10.0.0.1",
            settings=settings,
        )


def test_password_change_ends_every_session_and_is_audited(
    db_session: Session, officer: tuple[User, pyotp.TOTP]
) -> None:
    user, totp = officer
    for _ in range(3):
        sessions.create_session(
            db_session, user, ip="1.1.1.1", user_agent="t", second_factor_done=True
        )
    db_session.commit()
    ended = change_password(
        db_session, user, current=PASSWORD, new=NEW_PASSWORD, code=totp.now(), ip="10.1.1.1"
    )
    db_session.commit()
    assert ended == 3
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 0
    last = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None
    assert last.action == "account.password_changed"
    assert last.actor_email == user.email
    assert last.ip == "10.1.1.1"
    assert PASSWORD not in last.details
    assert NEW_PASSWORD not in last.details


def test_demo_accounts_change_with_the_old_password_only(
    db_session: Session, ggd: Organisation, settings: Settings
) -> None:
    demo = create_user(
        db_session,
        email="demo@ggd.example",
        password="demo",
        display_name="Demo",
        organisation=ggd,
        role="viewer",
        is_demo=True,
    )
    change_password(db_session, demo, current="demo", new="demo-2")
    assert accounts._hasher.verify(demo.password_hash, "demo-2")
