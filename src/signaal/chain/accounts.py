"""Organisations, users, passwords and the second factor (TOTP).

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when those change).
A login for an unknown e-mail address still verifies a dummy hash, so response time does not
reveal which addresses have an account; the message is the same for both.

Every non-demo account needs TOTP (RFC 6238, 30-second steps, one step of clock drift either
way); a code is accepted once (the last used step is consumed with a conditional update). Every
password and code attempt is counted by :mod:`signaal.chain.throttle` before it is checked; past
the free allowance each failure blocks the account (or address) for a growing delay, and an
attempt during the delay is refused unchecked with :class:`TooManyAttempts`.

New accounts get no password from anyone: they are created with an unusable one (the argon2
hash of a random secret nobody keeps, so a login attempt costs the same as for any account) and a
one-time enrolment link (:func:`issue_enrolment_link`), of which only the SHA-256 of the token is
stored. The user opens it, sets her own password (:func:`complete_enrolment`, consumed with a
conditional UPDATE so that the link works once under any concurrency) and then sets up TOTP. An
administrator's reset issues a new link and makes the old password and older links worthless.
:func:`change_password` needs the current password and the second factor.

Audit: these functions record their own audit events (login.succeeded, login.failed,
login.rate_limited, login.second_factor_passed/failed, account.second_factor_enrolled,
organisation.created, user.created, user.changed, account.enrolment_issued,
account.enrolment_completed, account.password_changed). On a *failed* login or code they commit the
session themselves, so that the failure counts and its audit event survive the caller's
rollback; on success the caller commits.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, cast

import pyotp
import qrcode
import qrcode.image.svg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from signaal import audit
from signaal.chain import throttle
from signaal.chain.authz import (
    SYSTEM,
    Action,
    Actor,
    Resource,
    actor_for,
    allowed,
    may_assign_role,
    may_manage_user,
    roles,
)
from signaal.chain.sessions import revoke_all_sessions, token_hash
from signaal.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    PermissionDenied,
    TooManyAttempts,
)
from signaal.settings import Environment, Settings, get_settings
from signaal.store.models import (
    LoginAttempt,
    Organisation,
    OrganisationKind,
    User,
    UserEnrolment,
)

TOTP_ISSUER = "Signaal"
TOTP_INTERVAL = 30
TOTP_VALID_WINDOW = 1
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; refuse absurd input early
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200

LOGIN_FAILED_MESSAGE = "The e-mail address or the password is wrong."
CODE_FAILED_MESSAGE = "The code is wrong or was already used."

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_CODE = re.compile(r"^\d{6}$")

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, verified when the user is unknown (equal timing)."""
    return _hasher.hash(pyotp.random_base32())


def _now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------
# Validation


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_email(email: str) -> str:
    """The canonical (lower-case) e-mail address, or FieldError("email")."""
    canonical = normalise_email(email)
    if not canonical:
        raise FieldError("email", "an e-mail address is required")
    if len(canonical) > MAX_EMAIL_LENGTH:
        raise FieldError("email", f"longer than {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.match(canonical):
        raise FieldError("email", f"{canonical!r} is not an e-mail address")
    return canonical


def validate_password(password: str, *, is_demo: bool = False, email: str | None = None) -> None:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise FieldError("password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    if is_demo:
        if not password:
            raise FieldError("password", "a password is required")
        return
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError("password", f"needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 4:
        raise FieldError("password", "uses too few different characters")
    if email and password.strip().lower() == email.lower():
        raise FieldError("password", "must not be the e-mail address")


def _validate_name(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise FieldError(field, "is required")
    if len(value) > MAX_NAME_LENGTH:
        raise FieldError(field, f"longer than {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 for c in value):
        raise FieldError(field, "contains control characters")
    return value


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def unusable_password() -> str:
    """A real argon2 hash of a random secret that is thrown away: no password matches it, and
    checking one against it costs as much as against any account's (no timing difference)."""
    return _hasher.hash(secrets.token_urlsafe(32))


# ----------------------------------------------------------------------------------------------
# Organisations and users


def create_organisation(
    session: Session,
    *,
    name: str,
    kind: OrganisationKind | str,
    is_demo: bool = False,
    actor: Actor | None = None,
    ip: str | None = None,
) -> Organisation:
    """Create a partner organisation. ``actor`` None is the system (command line, seeding),
    which is asked like anyone else."""
    actor = actor or SYSTEM
    if not allowed(actor, Action.MANAGE_ORGANISATIONS):
        raise PermissionDenied("you may not create organisations")
    name = _validate_name("name", name)
    try:
        kind = OrganisationKind(kind)
    except ValueError as exc:
        choices = ", ".join(k.value for k in OrganisationKind)
        raise FieldError("kind", f"{kind!r} is not one of {choices}") from exc
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise ConflictError(f"an organisation named {name!r} already exists")
    organisation = Organisation(name=name, kind=kind, is_demo=is_demo)
    session.add(organisation)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"an organisation named {name!r} already exists") from exc
    audit.record(
        session,
        audit.OrganisationCreated(organisation_id=organisation.id, name=name, kind=kind.value),
        actor=actor,
        ip=ip,
    )
    return organisation


def find_organisation(session: Session, name_or_id: str) -> Organisation | None:
    """An organisation by its id (digits) or exact name."""
    if name_or_id.isdigit():
        found = session.get(Organisation, int(name_or_id))
        if found is not None:
            return found
    return session.scalar(select(Organisation).where(Organisation.name == name_or_id.strip()))


def create_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    organisation: Organisation,
    role: str,
    password: str | None = None,
    is_demo: bool = False,
    locale: str | None = None,
    actor: Actor | None = None,
    ip: str | None = None,
) -> User:
    """Create a user; every bad value raises FieldError naming the field.

    Without ``password`` the account has no usable password until the user sets her own through
    an enrolment link (:func:`issue_enrolment_link`). A ``password`` is for the command line's
    ``--password-stdin`` (automation) and the demo seed.

    ``actor`` None is the system (command line, demo seed); otherwise the actor must be allowed
    to manage users of ``organisation`` and to give ``role`` there (:func:`may_assign_role`).
    """
    canonical = validate_email(email)
    display_name = _validate_name("display_name", display_name)
    definition = roles().get(role)
    if definition is None:
        raise FieldError("role", f"{role!r} is not a role; choose one of {', '.join(roles())}")
    if not definition.fits(organisation.kind):
        raise FieldError(
            "role",
            f"role {role!r} does not fit an organisation of kind {organisation.kind.value!r}",
        )
    if password is not None:
        validate_password(password, is_demo=is_demo, email=canonical)
    actor = actor or SYSTEM  # None: the system (command line, seeding), asked like anyone else
    target = Resource("organisation", str(organisation.id), organisation_id=organisation.id)
    if not allowed(actor, Action.MANAGE_USERS, target):
        raise PermissionDenied("you may not manage users of this organisation")
    if not may_assign_role(actor, role, organisation.kind):
        raise PermissionDenied(f"you may not give the role {role!r} in this organisation")
    if session.scalar(select(User.id).where(User.email == canonical)) is not None:
        raise ConflictError(f"a user with e-mail address {canonical!r} already exists")
    user = User(
        email=canonical,
        display_name=display_name,
        organisation=organisation,
        organisation_id=organisation.id,
        role=role,
        password_hash=hash_password(password) if password is not None else unusable_password(),
        password_changed_at=_now() if password is not None else None,
        is_demo=is_demo,
        locale=locale,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"a user with e-mail address {canonical!r} already exists") from exc
    audit.record(
        session,
        audit.UserCreated(
            user_id=user.id,
            email=canonical,
            role=role,
            organisation_id=organisation.id,
            is_demo=is_demo,
        ),
        actor=actor,
        ip=ip,
    )
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def list_users(session: Session, *, organisation_id: int | None = None) -> list[User]:
    """Users ordered by organisation and e-mail; only one organisation's when given."""
    statement = select(User).order_by(User.organisation_id, User.email)
    if organisation_id is not None:
        statement = statement.where(User.organisation_id == organisation_id)
    return list(session.scalars(statement))


def _refuse_unless_manageable(actor: Actor, user: User) -> None:
    if user.id == actor.user_id and not actor.is_system:
        raise PermissionDenied("you cannot change your own account this way")
    if not may_manage_user(actor, user):
        raise PermissionDenied("you may not manage this user")


def set_role(
    session: Session, user: User, role: str, *, actor: Actor, ip: str | None = None
) -> None:
    """Give ``user`` another role (FieldError when unknown or unfit; audited). An actor never
    changes her own role, nor the role of someone she could not have made (see
    :func:`signaal.chain.authz.may_manage_user`)."""
    definition = roles().get(role)
    if definition is None:
        raise FieldError("role", f"{role!r} is not a role; choose one of {', '.join(roles())}")
    if not definition.fits(user.organisation.kind):
        raise FieldError(
            "role",
            f"role {role!r} does not fit an organisation of kind {user.organisation.kind.value!r}",
        )
    _refuse_unless_manageable(actor, user)
    if not may_assign_role(actor, role, user.organisation.kind):
        raise PermissionDenied(f"you may not give the role {role!r} to this user")
    if user.role == role:
        return
    old = user.role
    user.role = role
    audit.record(
        session,
        audit.UserChanged(user_id=user.id, changes={"role": [old, role]}),
        actor=actor,
        ip=ip,
    )


SUPPORTED_LOCALES = ("nl", "en")


def set_locale(session: Session, user: User, locale: str | None) -> None:
    """The user's language for the interface (None: the deployment's default)."""
    if locale is not None and locale not in SUPPORTED_LOCALES:
        raise FieldError("locale", f"{locale!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
    user.locale = locale
    session.flush()


def set_user_active(
    session: Session, user: User, active: bool, *, actor: Actor, ip: str | None = None
) -> None:
    """Activate or deactivate a user (deactivated users cannot log in; their sessions end).
    Nobody deactivates herself or an account she may not manage."""
    _refuse_unless_manageable(actor, user)
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        revoke_all_sessions(session, user)
    audit.record(
        session,
        audit.UserChanged(user_id=user.id, changes={"is_active": [not active, active]}),
        actor=actor,
        ip=ip,
    )


def reset_second_factor(
    session: Session, user: User, *, actor: Actor, ip: str | None = None
) -> None:
    """Remove the user's TOTP secret (e.g. a lost phone); they enrol again at the next login.
    Their sessions end."""
    _refuse_unless_manageable(actor, user)
    was_enabled = user.totp_enabled
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    revoke_all_sessions(session, user)
    audit.record(
        session,
        audit.UserChanged(user_id=user.id, changes={"totp_enabled": [was_enabled, False]}),
        actor=actor,
        ip=ip,
    )


# ----------------------------------------------------------------------------------------------
# Throttling (see signaal.chain.throttle)


def _claim_attempt(
    session: Session,
    *,
    email: str,
    ip: str | None,
    factor: Literal["password", "totp"],
    settings: Settings,
) -> throttle.Claim:
    """Count this attempt before its secret is checked, or refuse it unchecked.

    The count is committed here, so that concurrent attempts see it; a refusal is audited
    (login.rate_limited) and raised as TooManyAttempts.
    """
    now = _now()
    counters = throttle.counters_for(
        session, email=email, ip=ip, factor=factor, settings=settings, now=now
    )
    outcome = throttle.claim(session, counters, now=now)
    if isinstance(outcome, throttle.Claim):
        return outcome
    audit.record(
        session,
        audit.LoginRateLimited(email=email, scope=outcome.scope, factor=factor),
        actor=None,
        ip=ip,
    )
    session.commit()
    minutes = max(1, math.ceil(outcome.retry_after / 60))
    raise TooManyAttempts(
        f"Too many failed attempts. Try again in {minutes} minutes.",
        retry_after=outcome.retry_after,
    )


def _fail_login(
    session: Session, *, email: str, ip: str | None, reason: str, user: User | None
) -> AuthenticationError:
    """Record a failed password (the throttle counted it already when it was claimed)."""
    session.add(LoginAttempt(email=email, ip=ip, at=_now(), success=False, factor="password"))
    audit.record(
        session,
        audit.LoginFailed(email=email, reason=reason, user_id=user.id if user else None),
        actor=None,
        ip=ip,
    )
    session.commit()
    return AuthenticationError(LOGIN_FAILED_MESSAGE)


# ----------------------------------------------------------------------------------------------
# Login


def authenticate(
    session: Session, *, email: str, password: str, ip: str, settings: Settings | None = None
) -> User:
    """Check e-mail and password; return the user or raise AuthenticationError.

    Raises TooManyAttempts (a subclass), without checking the password, while the account or
    the address is throttled (:mod:`signaal.chain.throttle`). Demo accounts work only when
    ``settings.env`` is development.
    """
    settings = settings or get_settings()
    canonical = normalise_email(email)[:MAX_EMAIL_LENGTH]
    attempt = _claim_attempt(session, email=canonical, ip=ip, factor="password", settings=settings)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise _fail_login(session, email=canonical, ip=ip, reason="wrong_password", user=None)
    user = session.scalar(select(User).where(User.email == canonical)) if canonical else None
    if user is None:
        # Same work as for a real account, so that timing does not reveal unknown addresses.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        raise _fail_login(session, email=canonical, ip=ip, reason="unknown_user", user=None)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise _fail_login(
            session, email=canonical, ip=ip, reason="wrong_password", user=user
        ) from None
    if not user.is_active:
        raise _fail_login(session, email=canonical, ip=ip, reason="inactive", user=user)
    if user.password_changed_at is None and not user.is_demo:
        # A password the user did not set herself (a temporary one from before enrolment links,
        # which an administrator saw) is not hers: she needs a link (signaal users reset-password).
        raise _fail_login(session, email=canonical, ip=ip, reason="password_not_set", user=user)
    if user.is_demo and settings.env is not Environment.DEVELOPMENT:
        raise _fail_login(
            session, email=canonical, ip=ip, reason="demo_outside_development", user=user
        )
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.succeeded(session, attempt, now=_now())
    session.add(LoginAttempt(email=canonical, ip=ip, at=_now(), success=True, factor="password"))
    audit.record(
        session,
        audit.LoginSucceeded(user_id=user.id, second_factor_required=needs_second_factor(user)),
        actor=actor_for(user),
        ip=ip,
    )
    return user


def needs_second_factor(user: User) -> bool:
    """Every account needs TOTP, except demo accounts (which only work in development)."""
    return not user.is_demo


# ----------------------------------------------------------------------------------------------
# TOTP


def begin_totp_enrolment(session: Session, user: User, *, replace: bool = False) -> tuple[str, str]:
    """Give the user a new TOTP secret (not yet enabled) and its otpauth:// provisioning URI.

    An enabled second factor is only replaced with ``replace=True`` (an administrator's reset or
    a user who just passed the current one).
    """
    if user.totp_enabled and not replace:
        raise ConflictError("two-factor authentication is already set up for this account")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = False
    user.totp_last_step = None
    session.flush()
    uri = pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=user.email, issuer_name=TOTP_ISSUER
    )
    return secret, uri


def totp_qr_svg(provisioning_uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no raster image, no Pillow)."""
    image = qrcode.make(provisioning_uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    text: str = image.to_string(encoding="unicode")
    return text


def _matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step whose code equals ``code`` within the allowed drift, or None."""
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(at // TOTP_INTERVAL)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _check_code(
    session: Session,
    user: User,
    code: str,
    *,
    ip: str | None,
    settings: Settings,
    at: float | None = None,
) -> str | None:
    """None when the code is good (and its step is now used), else the failure reason.

    The step is consumed with a conditional update (only if no later or equal step was used), so
    one code is accepted once however many requests bring it at the same moment.
    """
    attempt = _claim_attempt(session, email=user.email, ip=ip, factor="totp", settings=settings)
    code = re.sub(r"\s+", "", code)
    if not user.totp_secret:
        return "not_enrolled"
    if not _CODE.match(code):
        return "wrong_code"
    step = _matching_step(user.totp_secret, code, time.time() if at is None else at)
    if step is None:
        return "wrong_code"
    consumed = session.execute(  # a DML statement: its result has a rowcount
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], consumed).rowcount != 1:
        return "replayed_code"
    set_committed_value(user, "totp_last_step", step)
    throttle.succeeded(session, attempt, now=_now())
    session.add(LoginAttempt(email=user.email, ip=ip, at=_now(), success=True, factor="totp"))
    return None


def _fail_code(session: Session, user: User, *, ip: str | None, reason: str) -> None:
    session.add(LoginAttempt(email=user.email, ip=ip, at=_now(), success=False, factor="totp"))
    audit.record(
        session,
        audit.SecondFactorFailed(user_id=user.id, reason=reason),
        actor=actor_for(user),
        ip=ip,
    )
    session.commit()


def confirm_totp_enrolment(
    session: Session,
    user: User,
    code: str,
    *,
    ip: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Enable TOTP once the user shows a code from the new secret; AuthenticationError if not."""
    settings = settings or get_settings()
    if not user.totp_secret:
        raise AuthenticationError("Two-factor setup was not started; start it again.")
    reason = _check_code(session, user, code, ip=ip, settings=settings)
    if reason is not None:
        _fail_code(session, user, ip=ip, reason=reason)
        raise AuthenticationError(CODE_FAILED_MESSAGE)
    user.totp_enabled = True
    audit.record(session, audit.SecondFactorEnrolled(user_id=user.id), actor=actor_for(user), ip=ip)


def verify_totp(
    session: Session,
    user: User,
    code: str,
    *,
    ip: str | None = None,
    settings: Settings | None = None,
    at: float | None = None,
) -> bool:
    """True when ``code`` is a current, unused code of the user's enabled TOTP secret.

    Raises TooManyAttempts after repeated wrong codes. ``at`` (Unix time) is for tests.
    """
    settings = settings or get_settings()
    if not user.totp_enabled:
        reason: str | None = "not_enrolled"
        _claim_attempt(session, email=user.email, ip=ip, factor="totp", settings=settings)
    else:
        reason = _check_code(session, user, code, ip=ip, settings=settings, at=at)
    if reason is not None:
        _fail_code(session, user, ip=ip, reason=reason)
        return False
    audit.record(session, audit.SecondFactorPassed(user_id=user.id), actor=actor_for(user), ip=ip)
    return True


# ----------------------------------------------------------------------------------------------
# Enrolment links and password changes

ENROLMENT_PATH = "/account/activeren/"
ENROLMENT_PURPOSES = ("enrol", "reset")
ENROLMENT_TOKEN_BYTES = 32
_ENROLMENT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
ENROLMENT_FAILED_MESSAGE = "This link is unknown, has expired or was already used."


@dataclass(frozen=True)
class EnrolmentLink:
    """A one-time link as handed to the user (out of band); ``token`` exists only here."""

    user_id: int
    purpose: str
    token: str
    expires_at: datetime

    def url(self, settings: Settings | None = None) -> str:
        return enrolment_url(self.token, settings)


def enrolment_url(token: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"{settings.public_url.rstrip('/')}{ENROLMENT_PATH}{token}"


def issue_enrolment_link(
    session: Session,
    user: User,
    *,
    purpose: str = "enrol",
    actor: Actor,
    ip: str | None = None,
    settings: Settings | None = None,
) -> EnrolmentLink:
    """A new one-time link for ``user`` to set her own password; older links stop working.

    ``purpose`` "enrol" is for a new account; "reset" also makes the current password worthless
    and ends the user's sessions (the second factor stays: a reset link alone does not log in).
    ``actor`` None is the system (command line); otherwise she must be allowed to manage the
    user, which is never herself (she changes her own password with :func:`change_password`).
    """
    settings = settings or get_settings()
    if purpose not in ENROLMENT_PURPOSES:
        raise FieldError("purpose", f"{purpose!r} is not one of {', '.join(ENROLMENT_PURPOSES)}")
    _refuse_unless_manageable(actor, user)
    if not user.is_active:
        raise ConflictError(f"user {user.email!r} is deactivated: activate the account first")
    session.execute(
        delete(UserEnrolment).where(
            UserEnrolment.user_id == user.id, UserEnrolment.used_at.is_(None)
        )
    )
    if purpose == "reset":
        user.password_hash = unusable_password()
        user.password_changed_at = None
        revoke_all_sessions(session, user)
    token = secrets.token_urlsafe(ENROLMENT_TOKEN_BYTES)
    now = _now()
    expires_at = now + timedelta(hours=settings.enrolment_link_hours)
    session.add(
        UserEnrolment(
            token_hash=token_hash(token),
            user_id=user.id,
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
            created_by_user_id=None if actor.is_system else actor.user_id,
        )
    )
    session.flush()
    audit.record(
        session,
        audit.EnrolmentIssued(
            user_id=user.id, link_purpose=purpose, expires_at=expires_at.isoformat()
        ),
        actor=actor,
        ip=ip,
    )
    return EnrolmentLink(user.id, purpose, token, expires_at)


def find_enrolment(session: Session, token: str) -> UserEnrolment | None:
    """The unused, unexpired link of ``token`` of an active user, or None (also for tokens that
    cannot be ours: those are not even looked up)."""
    if not isinstance(token, str) or not _ENROLMENT_TOKEN.match(token):
        return None
    enrolment = session.get(UserEnrolment, token_hash(token))
    if enrolment is None or enrolment.used_at is not None or enrolment.expires_at <= _now():
        return None
    user = session.get(User, enrolment.user_id)
    if user is None or not user.is_active:
        return None
    return enrolment


def awaiting_activation(session: Session, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` have a link that is neither used nor expired."""
    if not user_ids:
        return set()
    rows = session.scalars(
        select(UserEnrolment.user_id).where(
            UserEnrolment.user_id.in_(user_ids),
            UserEnrolment.used_at.is_(None),
            UserEnrolment.expires_at > _now(),
        )
    )
    return set(rows)


def complete_enrolment(
    session: Session,
    token: str,
    password: str,
    *,
    ip: str | None = None,
    opened_by: Actor | None = None,
) -> User:
    """Set the user's own password through the link of ``token`` and use the link up.

    FieldError("password") for a password the rules refuse (the link stays usable);
    AuthenticationError when the link is unknown, expired or used. The link is consumed with a
    conditional UPDATE (``used_at IS NULL AND expires_at > now``): of two concurrent uses exactly
    one succeeds. The user's sessions end; the caller starts a login that still needs the second
    factor.

    ``opened_by`` is whoever is logged in where the link is opened: the administrator who made
    the link is refused (PermissionDenied), so that she cannot take the new account over from her
    own session. (From another browser she is not recognisable; the audit log keeps who made the
    link and the address it was used from.)
    """
    enrolment = find_enrolment(session, token)
    if enrolment is None:
        raise AuthenticationError(ENROLMENT_FAILED_MESSAGE)
    if opened_by is not None and opened_by.user_id == enrolment.created_by_user_id:
        raise PermissionDenied("this link is for the new user, not for whoever made it")
    user = session.get(User, enrolment.user_id)
    assert user is not None
    validate_password(password, is_demo=user.is_demo, email=user.email)
    now = _now()
    consumed = session.execute(
        update(UserEnrolment)
        .where(
            UserEnrolment.token_hash == enrolment.token_hash,
            UserEnrolment.used_at.is_(None),
            UserEnrolment.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(consumed, "rowcount", 0) or 0) != 1:
        raise AuthenticationError(ENROLMENT_FAILED_MESSAGE)
    purpose = enrolment.purpose
    session.expire(enrolment)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_all_sessions(session, user)
    audit.record(
        session,
        audit.EnrolmentCompleted(user_id=user.id, link_purpose=purpose),
        actor=actor_for(user),
        ip=ip,
    )
    return user


def change_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    code: str = "",
    ip: str | None = None,
    settings: Settings | None = None,
) -> int:
    """The user changes her own password with the current one and, for accounts with a second
    factor, a current TOTP code. Returns how many sessions of hers ended (all of them: the
    caller starts a new one for the browser that made the change).

    FieldError("new_password") for a new password the rules refuse; AuthenticationError (or
    TooManyAttempts) for a wrong current password or code, counted like failed logins.
    """
    settings = settings or get_settings()
    try:
        validate_password(new, is_demo=user.is_demo, email=user.email)
    except FieldError as exc:
        raise FieldError("new_password", exc.reason) from exc
    if len(current) > MAX_PASSWORD_LENGTH:
        raise FieldError("current_password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    if hmac.compare_digest(current.encode("utf-8"), new.encode("utf-8")):
        raise FieldError("new_password", "must differ from the current password")
    attempt = _claim_attempt(session, email=user.email, ip=ip, factor="password", settings=settings)
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise _fail_login(
            session, email=user.email, ip=ip, reason="wrong_password", user=user
        ) from None
    throttle.succeeded(session, attempt, now=_now())
    if needs_second_factor(user) and not verify_totp(session, user, code, ip=ip, settings=settings):
        raise AuthenticationError(CODE_FAILED_MESSAGE)
    user.password_hash = hash_password(new)
    user.password_changed_at = _now()
    ended = revoke_all_sessions(session, user)
    audit.record(
        session,
        audit.PasswordChanged(user_id=user.id, sessions_ended=ended),
        actor=actor_for(user),
        ip=ip,
    )
    return ended


# ----------------------------------------------------------------------------------------------
# Demo accounts


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    organisation: str


DEMO_ORGANISATIONS: dict[OrganisationKind, str] = {
    OrganisationKind.POLICE: "Demo Politie Eenheid Midden",
    OrganisationKind.OUTREACH: "Demo Outreachteam Prostitutie",
    OrganisationKind.CARE_COORDINATION: "Demo Zorgcoördinatie Mensenhandel",
    OrganisationKind.GGD: "Demo GGD Regio",
    OrganisationKind.MUNICIPALITY: "Demo Gemeente",
    OrganisationKind.HOUSING: "Demo Woningcorporatie",
    OrganisationKind.SHELTER: "Demo Opvang",
    OrganisationKind.YOUTH_CARE: "Demo Jeugdzorg",
}

# Where each demo user works; a role missing here goes to the first organisation it fits.
DEMO_ROLE_ORGANISATION: dict[str, OrganisationKind] = {
    "platform_administrator": OrganisationKind.MUNICIPALITY,
    "administrator": OrganisationKind.CARE_COORDINATION,
    "analyst": OrganisationKind.POLICE,
    "care_coordinator": OrganisationKind.CARE_COORDINATION,
    "outreach_worker": OrganisationKind.OUTREACH,
    "police_officer": OrganisationKind.POLICE,
    "viewer": OrganisationKind.HOUSING,
    "youth_care_worker": OrganisationKind.YOUTH_CARE,
    "shelter_worker": OrganisationKind.SHELTER,
    "signal_reporter": OrganisationKind.HOUSING,
    "policy_officer": OrganisationKind.MUNICIPALITY,
}

DEMO_EMAIL_DOMAIN = "demo.signaal.test"  # .test is reserved (RFC 2606): never a real mailbox


def demo_email(role: str) -> str:
    return f"{role.replace('_', '-')}@{DEMO_EMAIL_DOMAIN}"


def demo_password(role: str) -> str:
    """Deterministic and printed by ``signaal demo``: demo accounts only work in development."""
    return f"demo-{role.replace('_', '-')}"


def seed_demo(session: Session) -> list[DemoLogin]:
    """Create (once) a demo organisation of every kind and one demo user per role."""
    organisations: dict[OrganisationKind, Organisation] = {}
    for kind, name in DEMO_ORGANISATIONS.items():
        existing = find_organisation(session, name)
        organisations[kind] = existing or create_organisation(
            session, name=name, kind=kind, is_demo=True
        )
    logins: list[DemoLogin] = []
    for role, definition in roles().items():
        if not definition.granted_by:  # given to no person (the integration role of tokens)
            continue
        preferred = DEMO_ROLE_ORGANISATION.get(role)
        if preferred is None or not definition.fits(preferred):
            preferred = next(k for k in OrganisationKind if definition.fits(k))
        organisation = organisations[preferred]
        email = demo_email(role)
        user = find_user(session, email)
        if user is None:
            create_user(
                session,
                email=email,
                password=demo_password(role),
                display_name=f"Demo {definition.label_for('nl')}",
                organisation=organisation,
                role=role,
                is_demo=True,
            )
        logins.append(DemoLogin(email, demo_password(role), role, organisation.name))
    return logins
