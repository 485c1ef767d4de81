"""Login sessions: random tokens handed to the browser, only their SHA-256 kept in the store.

A session ends at the first of: ``session_absolute_max_age_seconds`` after login (however
active), ``session_max_age_seconds`` without activity, logout, or the user being deactivated.
A session still waiting for its second factor lasts at most
:data:`PENDING_SECOND_FACTOR_SECONDS`. Cookies, signing and CSRF are the web layer's business.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import actor_for
from signaal.settings import Settings, get_settings
from signaal.store.models import LoginSession, User

# A password without its code is worth little: the code must follow soon.
PENDING_SECOND_FACTOR_SECONDS = 600
# last_seen_at is written at most this often, so that reading pages does not write every time.
LAST_SEEN_RESOLUTION_SECONDS = 60
MAX_TOKEN_LENGTH = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(
    session: Session,
    user: User,
    *,
    ip: str,
    user_agent: str,
    second_factor_done: bool,
    settings: Settings | None = None,
) -> str:
    """Start a login session and return its raw token (only its hash is stored)."""
    settings = settings or get_settings()
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        LoginSession(
            id=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.session_absolute_max_age_seconds),
            second_factor_done=second_factor_done,
            ip=(ip or None) and ip[:64],
            user_agent=(user_agent or None) and user_agent[:400],
        )
    )
    session.flush()
    return token


def _is_live(login_session: LoginSession, now: datetime, settings: Settings) -> bool:
    if now >= login_session.expires_at:
        return False
    if now - login_session.last_seen_at > timedelta(seconds=settings.session_max_age_seconds):
        return False
    if not login_session.second_factor_done and now - login_session.created_at > timedelta(
        seconds=PENDING_SECOND_FACTOR_SECONDS
    ):
        return False
    return login_session.user.is_active


def load_session(
    session: Session, token: str, *, settings: Settings | None = None
) -> LoginSession | None:
    """The live session of ``token``, or None when unknown, expired, idle or the user inactive.

    A dead session is deleted. Activity is recorded (``last_seen_at``); the caller commits.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    settings = settings or get_settings()
    login_session = session.get(LoginSession, token_hash(token))
    if login_session is None:
        return None
    now = datetime.now(UTC)
    if not _is_live(login_session, now, settings):
        session.delete(login_session)
        session.flush()
        return None
    if now - login_session.last_seen_at >= timedelta(seconds=LAST_SEEN_RESOLUTION_SECONDS):
        login_session.last_seen_at = now
        session.flush()
    return login_session


def complete_second_factor(session: Session, login_session: LoginSession) -> None:
    login_session.second_factor_done = True
    session.flush()


def rotate_session(session: Session, login_session: LoginSession) -> str:
    """Replace the session's token by a new one (same session otherwise) and return it.

    Call it when the session gains rights — after the second factor — so that a token seen
    before that moment (session fixation) is worth nothing.
    """
    token = secrets.token_urlsafe(32)
    replacement = LoginSession(
        id=token_hash(token),
        user_id=login_session.user_id,
        created_at=login_session.created_at,
        last_seen_at=datetime.now(UTC),
        expires_at=login_session.expires_at,
        second_factor_done=login_session.second_factor_done,
        ip=login_session.ip,
        user_agent=login_session.user_agent,
    )
    session.delete(login_session)
    session.flush()
    session.add(replacement)
    session.flush()
    return token


def revoke_session(session: Session, token: str, *, ip: str | None = None) -> None:
    """Log out: delete the session of ``token`` (no error if it is already gone)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    login_session = session.get(LoginSession, token_hash(token))
    if login_session is None:
        return
    user = login_session.user
    session.delete(login_session)
    audit.record(session, audit.Logout(user_id=user.id), actor=actor_for(user), ip=ip)
    session.flush()


def revoke_all_sessions(session: Session, user: User) -> int:
    """End every session of ``user`` (after a password change or deactivation)."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_dead_sessions(
    session: Session, *, settings: Settings | None = None, now: datetime | None = None
) -> int:
    """Delete sessions past their absolute or idle limit (at ``now``, default the clock);
    returns how many."""
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    idle_cutoff = now - timedelta(seconds=settings.session_max_age_seconds)
    dead = select(LoginSession.id).where(
        or_(LoginSession.expires_at <= now, LoginSession.last_seen_at < idle_cutoff)
    )
    ids = list(session.scalars(dead))
    if ids:
        session.execute(delete(LoginSession).where(LoginSession.id.in_(ids)))
    return len(ids)
