"""Login sessions: only token hashes stored; absolute, idle and second-factor limits; revoke."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal.chain.accounts import create_organisation, create_user
from signaal.chain.sessions import (
    PENDING_SECOND_FACTOR_SECONDS,
    complete_second_factor,
    create_session,
    load_session,
    purge_dead_sessions,
    revoke_all_sessions,
    revoke_session,
)
from signaal.settings import Settings
from signaal.store.models import AuditEvent, LoginSession, User


@pytest.fixture
def user(db_session: Session) -> User:
    organisation = create_organisation(db_session, name="Outreach Test", kind="outreach")
    created = create_user(
        db_session,
        email="veldwerker@outreach.example",
        password="a long enough password",
        display_name="Veldwerker",
        organisation=organisation,
        role="outreach_worker",
    )
    db_session.commit()
    return created


def start(db_session: Session, user: User, settings: Settings, *, done: bool = True) -> str:
    token = create_session(
        db_session,
        user,
        ip="198.51.100.7",
        user_agent="pytest",
        second_factor_done=done,
        settings=settings,
    )
    db_session.commit()
    return token


def age(db_session: Session, token: str, *, created: timedelta, seen: timedelta) -> None:
    row = db_session.get(LoginSession, hashlib.sha256(token.encode()).hexdigest())
    assert row is not None
    row.created_at -= created
    row.expires_at -= created
    row.last_seen_at -= seen
    db_session.commit()


def test_only_the_hash_of_the_token_is_stored(
    db_session: Session, user: User, settings: Settings
) -> None:
    token = start(db_session, user, settings)
    assert len(token) >= 40
    row = db_session.scalars(select(LoginSession)).one()
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.id, row.ip, row.user_agent)
    loaded = load_session(db_session, token, settings=settings)
    assert loaded is not None
    assert loaded.user.email == user.email
    assert loaded.second_factor_done
    assert loaded.ip == "198.51.100.7"


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 5000, "'; DROP TABLE users; --"])
def test_unknown_or_tampered_token_is_none(
    db_session: Session, user: User, settings: Settings, token: str
) -> None:
    start(db_session, user, settings)
    assert load_session(db_session, token, settings=settings) is None


def test_tampered_real_token_is_none(db_session: Session, user: User, settings: Settings) -> None:
    token = start(db_session, user, settings)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert load_session(db_session, flipped, settings=settings) is None


def test_idle_session_expires(db_session: Session, user: User, settings: Settings) -> None:
    token = start(db_session, user, settings)
    idle = timedelta(seconds=settings.session_max_age_seconds + 5)
    age(db_session, token, created=idle, seen=idle)
    assert load_session(db_session, token, settings=settings) is None
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_active_session_ends_at_the_absolute_limit(
    db_session: Session, user: User, settings: Settings
) -> None:
    token = start(db_session, user, settings)
    absolute = timedelta(seconds=settings.session_absolute_max_age_seconds + 5)
    age(db_session, token, created=absolute, seen=timedelta(seconds=10))
    assert load_session(db_session, token, settings=settings) is None


def test_activity_keeps_a_session_alive_and_is_recorded(
    db_session: Session, user: User, settings: Settings
) -> None:
    token = start(db_session, user, settings)
    almost = timedelta(seconds=settings.session_max_age_seconds - 60)
    age(db_session, token, created=almost, seen=almost)
    loaded = load_session(db_session, token, settings=settings)
    assert loaded is not None
    db_session.commit()
    assert loaded.last_seen_at > loaded.created_at + almost - timedelta(seconds=5)


def test_pending_second_factor_expires_soon(
    db_session: Session, user: User, settings: Settings
) -> None:
    token = start(db_session, user, settings, done=False)
    loaded = load_session(db_session, token, settings=settings)
    assert loaded is not None
    assert not loaded.second_factor_done
    late = timedelta(seconds=PENDING_SECOND_FACTOR_SECONDS + 5)
    age(db_session, token, created=late, seen=timedelta(seconds=0))
    assert load_session(db_session, token, settings=settings) is None


def test_complete_second_factor(db_session: Session, user: User, settings: Settings) -> None:
    token = start(db_session, user, settings, done=False)
    loaded = load_session(db_session, token, settings=settings)
    assert loaded is not None
    complete_second_factor(db_session, loaded)
    db_session.commit()
    again = load_session(db_session, token, settings=settings)
    assert again is not None
    assert again.second_factor_done


def test_inactive_user_has_no_session(db_session: Session, user: User, settings: Settings) -> None:
    token = start(db_session, user, settings)
    user.is_active = False
    db_session.commit()
    assert load_session(db_session, token, settings=settings) is None


def test_revoke_logs_out_and_audits(db_session: Session, user: User, settings: Settings) -> None:
    token = start(db_session, user, settings)
    other = start(db_session, user, settings)
    revoke_session(db_session, token, ip="198.51.100.7")
    db_session.commit()
    assert load_session(db_session, token, settings=settings) is None
    assert load_session(db_session, other, settings=settings) is not None
    last = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None
    assert last.action == "logout"
    assert last.record_id == str(user.id)
    revoke_session(db_session, token)  # twice is harmless
    revoke_session(db_session, "")


def test_revoke_all_and_purge(db_session: Session, user: User, settings: Settings) -> None:
    tokens = [start(db_session, user, settings) for _ in range(3)]
    idle = timedelta(seconds=settings.session_max_age_seconds + 5)
    age(db_session, tokens[0], created=idle, seen=idle)
    assert purge_dead_sessions(db_session, settings=settings) == 1
    assert revoke_all_sessions(db_session, user) == 2
    db_session.commit()
    assert all(load_session(db_session, t, settings=settings) is None for t in tokens)


def test_rotate_replaces_the_token(db_session: Session, user: User, settings: Settings) -> None:
    from signaal.chain.sessions import rotate_session

    token = start(db_session, user, settings, done=False)
    loaded = load_session(db_session, token, settings=settings)
    assert loaded is not None
    complete_second_factor(db_session, loaded)
    created = loaded.created_at
    new_token = rotate_session(db_session, loaded)
    db_session.commit()
    assert new_token != token
    assert load_session(db_session, token, settings=settings) is None
    rotated = load_session(db_session, new_token, settings=settings)
    assert rotated is not None
    assert rotated.second_factor_done
    assert rotated.created_at == created
