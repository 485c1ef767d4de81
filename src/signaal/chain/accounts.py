"""Organisations, users, passwords and the second factor (TOTP).

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when those change).
A login for an unknown e-mail address still verifies a dummy hash, so response time does not
reveal which addresses have an account; the message is the same for both.

Every non-demo account needs TOTP (RFC 6238, 30-second steps, one step of clock drift either
way); a code is accepted once (the last used step is consumed with a conditional update). Every
password and code attempt is counted by :mod:`signaal.chain.throttle` before it is checked; past
the free allowance each failure blocks the account (or address) for a growing delay, and an
attempt during the delay is refused unchecked with :class:`TooManyAttempts`.

Audit: these functions record their own audit events (login.succeeded, login.failed,
login.rate_limited, login.second_factor_passed/failed, account.second_factor_enrolled,
organisation.created, user.created, user.changed). On a *failed* login or code they commit the
session themselves, so that the failure counts and its audit event survive the caller's
rollback; on success the caller commits.
"""

from __future__ import annotations

import contextlib
import hmac
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, cast

import pyotp
import qrcode
import qrcode.image.svg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from signaal import audit
from signaal.chain import throttle
from signaal.chain.authz import Action, Actor, Resource, actor_for, allowed, may_assign_role, roles
from signaal.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    PermissionDenied,
    TooManyAttempts,
)
from signaal.settings import Environment, Settings, get_settings
from signaal.store.models import LoginAttempt, Organisation, OrganisationKind, User

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
    """Create a partner organisation. ``actor`` None is the system (command line)."""
    if actor is not None and not allowed(actor, Action.MANAGE_ORGANISATIONS):
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
    password: str,
    display_name: str,
    organisation: Organisation,
    role: str,
    is_demo: bool = False,
    locale: str | None = None,
    actor: Actor | None = None,
    ip: str | None = None,
) -> User:
    """Create a user; every bad value raises FieldError naming the field.

    ``actor`` None is the system (command line, demo seed); otherwise the actor must be allowed
    to manage users of ``organisation`` and to give ``role``.
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
    validate_password(password, is_demo=is_demo, email=canonical)
    if actor is not None:
        target = Resource("organisation", str(organisation.id), organisation_id=organisation.id)
        if not allowed(actor, Action.MANAGE_USERS, target):
            raise PermissionDenied("you may not manage users of this organisation")
        if not may_assign_role(actor, role):
            raise PermissionDenied(f"you may not give the role {role!r}")
    if session.scalar(select(User.id).where(User.email == canonical)) is not None:
        raise ConflictError(f"a user with e-mail address {canonical!r} already exists")
    user = User(
        email=canonical,
        display_name=display_name,
        organisation=organisation,
        organisation_id=organisation.id,
        role=role,
        password_hash=hash_password(password),
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


def set_role(
    session: Session, user: User, role: str, *, actor: Actor | None, ip: str | None = None
) -> None:
    """Give ``user`` another role (FieldError when unknown or unfit; audited)."""
    definition = roles().get(role)
    if definition is None:
        raise FieldError("role", f"{role!r} is not a role; choose one of {', '.join(roles())}")
    if not definition.fits(user.organisation.kind):
        raise FieldError(
            "role",
            f"role {role!r} does not fit an organisation of kind {user.organisation.kind.value!r}",
        )
    if actor is not None:
        target = Resource("user", str(user.id), organisation_id=user.organisation_id)
        if not allowed(actor, Action.MANAGE_USERS, target) or not may_assign_role(actor, role):
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


def change_password(
    session: Session, user: User, *, current: str, new: str, ip: str | None = None
) -> None:
    """The user changes their own password; the current one must be given."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise FieldError("current_password", "is wrong") from exc
    validate_password(new, is_demo=user.is_demo, email=user.email)
    user.password_hash = hash_password(new)
    audit.record(
        session,
        audit.UserChanged(user_id=user.id, changes={"password": ["(old)", "(new)"]}),
        actor=actor_for(user),
        ip=ip,
    )


def set_user_active(
    session: Session, user: User, active: bool, *, actor: Actor | None, ip: str | None = None
) -> None:
    """Activate or deactivate a user (deactivated users cannot log in; their sessions end)."""
    if actor is not None:
        target = Resource("user", str(user.id), organisation_id=user.organisation_id)
        if not allowed(actor, Action.MANAGE_USERS, target):
            raise PermissionDenied("you may not manage this user")
    if user.is_active == active:
        return
    user.is_active = active
    audit.record(
        session,
        audit.UserChanged(user_id=user.id, changes={"is_active": [not active, active]}),
        actor=actor,
        ip=ip,
    )


def reset_second_factor(
    session: Session, user: User, *, actor: Actor | None, ip: str | None = None
) -> None:
    """Remove the user's TOTP secret (e.g. a lost phone); they enrol again at the next login."""
    if actor is not None:
        target = Resource("user", str(user.id), organisation_id=user.organisation_id)
        if not allowed(actor, Action.MANAGE_USERS, target):
            raise PermissionDenied("you may not manage this user")
    was_enabled = user.totp_enabled
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
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
