"""Shared steps of the case-work services (cases, outreach, tasks, shelters, controls).

Every service of those modules asks ``allowed()`` itself (defence in depth, on top of the web
guard), validates every field before it changes anything (:class:`signaal.errors.FieldErrors`)
and writes one audit event per read of a person's data (``ChainRecordRead``, NEN 7513) and per
change (``ChainRecordWritten``, codes and field names only). The helpers here keep those steps
identical across the modules.

Tasks, outreach contacts and shelters are not chain records of :mod:`signaal.chain.visibility`:
tasks and contacts are visible to their own organisation only (a partner that sees a shared case
sees its stage and history, not the other team's to-do list or street contacts); the shelter
directory holds no data about persons and is open to every role with ``shelters.view``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import authz
from signaal.chain.authz import Action, Actor, Resource
from signaal.errors import PermissionDenied
from signaal.store.models import User

MAX_TEXT = 4000  # free text (notes, outcome, follow-up)
MAX_SHORT = 200  # one line (title, location, police unit, a name)


def changed_rows(result: object) -> int:
    """The number of rows an UPDATE changed (its result's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def require(actor: Actor, action: Action, resource: Resource | None = None) -> None:
    """Refuse unless ``allowed()`` lets ``actor`` do ``action`` on ``resource``."""
    if not authz.allowed(actor, action, resource):
        raise PermissionDenied(f"{action} not allowed")


def own_resource(kind: str, record_id: int | None, organisation_id: int | None) -> Resource:
    """The resource of a record that only its own organisation sees (tasks, contacts, ...)."""
    return Resource(
        kind=kind,
        id=str(record_id) if record_id is not None else None,
        organisation_id=organisation_id,
    )


def aware(value: datetime) -> datetime:
    """``value`` with a time zone (naive values read back from SQLite are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def clean_text(
    errors: dict[str, str], name: str, value: object, *, limit: int, required: bool = False
) -> str:
    """A free-text field, stripped and bounded; records a field error when it is not text, too
    long, empty while required, or holds control characters other than line breaks and tabs."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = "must be text"
        return ""
    text = value.replace("\r\n", "\n").strip()
    if required and not text:
        errors[name] = "required"
    elif len(text) > limit:
        errors[name] = f"at most {limit} characters"
    elif any(ord(char) < 32 and char not in "\n\t" for char in text) or "\x7f" in text:
        errors[name] = "contains control characters"
    return text


def user_of_organisation(
    db: Session, errors: dict[str, str], name: str, user_id: object, organisation_id: int
) -> User | None:
    """The active user ``user_id`` of ``organisation_id``, or a field error (another
    organisation's user answers the same as one that does not exist)."""
    if user_id is None or user_id == "":
        return None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        errors[name] = "unknown user"
        return None
    user = db.scalars(
        select(User).where(
            User.id == user_id, User.organisation_id == organisation_id, User.is_active
        )
    ).first()
    if user is None:
        errors[name] = "unknown user"
    return user
