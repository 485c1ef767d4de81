"""API tokens of system integrations: created and revoked by the operator, used as a bearer.

A token is a random secret (``sgl_`` and 43 URL-safe characters, 256 bits) that is shown once,
when it is made. The store keeps only its SHA-256 (``token_hash``) and its first characters
(``prefix``, to recognise it in a list). A token acts for one organisation with one role of
``roles.json`` (``integration`` unless another is named) that fits the organisation's kind and
has no platform scope; it may expire (``expires_at``) and is ended by revocation.

On the API (``Authorization: Bearer <secret>``, see :mod:`signaal.web.context`) the secret is
hashed and looked up by its hash: the lookup never compares a secret, and the hash found is
compared again in constant time. :func:`token_actor` builds the :class:`Actor` of a token: it has
no account, its ``user_id`` is the negative token id (so that it can never be a user's, and the
audit log's ``actor_user_id`` still tells tokens apart) and its e-mail names the token.

Creating, listing and revoking are system actions (``api_tokens.manage``): the command line
(``signaal api-tokens``) is the only place tokens are made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import SYSTEM, Action, Actor, allowed, roles
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import ApiToken, Organisation, utcnow

TOKEN_PREFIX = "sgl_"  # noqa: S105  (a marker, not a secret)
SECRET_BYTES = 32
SHOWN_PREFIX_LENGTH = 12  # "sgl_" and 8 characters of the secret: enough to tell tokens apart
DEFAULT_ROLE = "integration"
MAX_NAME_LENGTH = 120
MAX_EXPIRY_DAYS = 3650
# ``last_used_at`` is written at most this often per token (every use is audited anyway).
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Secrets are ``sgl_`` and URL-safe base64; anything longer or otherwise is no token of ours.
MAX_SECRET_LENGTH = 128


@dataclass(frozen=True)
class CreatedToken:
    """A new token and its secret: the only moment the secret exists outside the caller."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _plausible_secret(secret: str) -> bool:
    return (
        secret.startswith(TOKEN_PREFIX)
        and len(secret) <= MAX_SECRET_LENGTH
        and secret.isascii()
        and all(c.isalnum() or c in "-_" for c in secret[len(TOKEN_PREFIX) :])
    )


def _validate(
    name: str, role: str, organisation: Organisation, expires_days: int | None
) -> tuple[str, str]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "is required"
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"longer than {MAX_NAME_LENGTH} characters"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        errors["name"] = "contains control characters"
    role = role.strip()
    definition = roles().get(role)
    if definition is None:
        errors["role"] = f"{role!r} is not a role of roles.json"
    elif definition.scope == "platform":
        errors["role"] = f"{role!r} has platform scope: no token acts for every organisation"
    elif not definition.fits(organisation.kind):
        errors["role"] = f"{role!r} does not fit an organisation of kind {organisation.kind.value}"
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        errors["expires_days"] = f"must be between 1 and {MAX_EXPIRY_DAYS}"
    if errors:
        raise FieldErrors(errors)
    return name, role


def create_token(
    db: Session,
    *,
    organisation: Organisation,
    name: str,
    role: str = DEFAULT_ROLE,
    expires_days: int | None = None,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> CreatedToken:
    """Make a token for ``organisation`` acting with ``role``; every field is checked first
    (:class:`FieldErrors`, nothing stored). The secret is returned once and never stored."""
    if not allowed(actor, Action.MANAGE_API_TOKENS):
        raise PermissionDenied("you may not manage API tokens")
    name, role = _validate(name, role, organisation, expires_days)
    now = now or utcnow()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(
        organisation_id=organisation.id,
        name=name,
        role=role,
        token_hash=hash_secret(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        created_at=now,
        created_by_user_id=None if actor.is_system else actor.user_id,
        expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
    )
    db.add(token)
    db.flush()
    audit.record(
        db,
        audit.ApiTokenEvent(
            token_id=token.id, change="created", organisation_id=organisation.id, name=name
        ),
        actor=actor,
        ip=None,
    )
    return CreatedToken(token, secret)


def list_tokens(
    db: Session, *, organisation_id: int | None = None, actor: Actor = SYSTEM
) -> list[ApiToken]:
    """The tokens (of one organisation, when given), oldest first; never a secret."""
    if not allowed(actor, Action.MANAGE_API_TOKENS):
        raise PermissionDenied("you may not manage API tokens")
    query = select(ApiToken).order_by(ApiToken.id)
    if organisation_id is not None:
        query = query.where(ApiToken.organisation_id == organisation_id)
    return list(db.scalars(query))


def revoke_token(
    db: Session, token_id: int, *, actor: Actor = SYSTEM, now: datetime | None = None
) -> ApiToken:
    """End a token at once (its next request is refused). A token revoked already is a
    :class:`ConflictError`; an unknown id a :class:`NotFoundError`."""
    if not allowed(actor, Action.MANAGE_API_TOKENS):
        raise PermissionDenied("you may not manage API tokens")
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no API token with id {token_id}")
    if token.revoked_at is not None:
        raise ConflictError(f"API token {token_id} was revoked already")
    token.revoked_at = now or utcnow()
    audit.record(
        db,
        audit.ApiTokenEvent(
            token_id=token.id,
            change="revoked",
            organisation_id=token.organisation_id,
            name=token.name,
        ),
        actor=actor,
        ip=None,
    )
    return token


def token_state(token: ApiToken, now: datetime) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def find_token(db: Session, secret: str) -> ApiToken | None:
    """The token whose secret this is (whatever its state), or None. Looked up by the hash of
    the secret; the stored hash is compared again in constant time."""
    if not _plausible_secret(secret):
        return None
    digest = hash_secret(secret)
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    return token


def token_actor(token: ApiToken, organisation: Organisation) -> Actor:
    """The actor of a token: its organisation and role, no account (``user_id`` is the negative
    token id, never a user's)."""
    return Actor(
        user_id=-token.id,
        email=f"api-token:{token.id}",
        organisation_id=organisation.id,
        organisation_kind=organisation.kind,
        role=token.role,
        is_demo=organisation.is_demo,
        token_id=token.id,
    )


def note_use(token: ApiToken, now: datetime) -> bool:
    """Set ``last_used_at`` when it is older than :data:`LAST_USED_RESOLUTION` (spares a write
    per request); whether it changed."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    return True
