"""The audit log: typed events, one sink, an append-only hash chain.

Every auditable action is a small frozen dataclass below (``LoginFailed``, ``PersonaViewed``, …)
with a stable ``action`` name. :func:`record` is the one place that writes them: it appends a row
to ``audit_events`` in the caller's transaction, so the event is stored if and only if the action
is.

The chain
---------
Each row holds ``prev_hash`` (the hash of the row before it; 64 zeros for the first row) and
``hash`` = SHA-256 over a canonical JSON object (sorted keys, no spaces, UTF-8) of the row's
content: ``at`` (ISO 8601, UTC, microseconds), ``actor_user_id``, ``actor_email``,
``organisation_id``, ``action``, ``record_type``, ``record_id``, ``purpose``, ``ip``, ``details``
(the stored JSON text) and ``prev_hash``. The sequence number is *not* hashed: a row's place is
protected by the links, so a row that is moved, removed or slipped in breaks a link, and
:func:`verify` can say which of these happened.

A single chain-head row (``audit_chain_head``) holds the last sequence number and hash. Every
append starts with ``UPDATE audit_chain_head … RETURNING`` (a row lock on PostgreSQL; the database
write lock on SQLite), so concurrent writers queue up and can never fork the chain, and
verification notices rows removed from the end.

What the chain does and does not prove: anyone who changes, removes, inserts or reorders rows
without also recomputing every later hash *and* the head is detected by ``signaal audit verify``.
The hash is not keyed, so someone with full write access who rewrites the whole tail and the head
is not; the triggers that refuse UPDATE and DELETE on ``audit_events`` (both backends) and a
separate database role for the app are the defence there, and the head hash printed by
``signaal audit verify`` can be written down elsewhere to anchor the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached

from signaal.errors import AuditIntegrityError, StoreError
from signaal.store.models import AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from signaal.chain.authz import Actor

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1


# ----------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class AuditEventBase:
    """Base of every audit event. Subclasses set ``action`` and name their record.

    ``record_type`` says what kind of record the event is about (``"user"``, ``"persona"``, …);
    ``record_id_field`` names the field that identifies it. All fields go into ``details``.
    """

    action: ClassVar[str] = ""
    record_type: ClassVar[str | None] = None
    record_id_field: ClassVar[str | None] = None

    @property
    def record_id(self) -> str | None:
        if self.record_id_field is None:
            return None
        value = getattr(self, self.record_id_field)
        return None if value is None else str(value)

    @property
    def purpose(self) -> str | None:
        """The purpose the event carries itself; :func:`record` may give one too."""
        return None

    @property
    def details(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LoginSucceeded(AuditEventBase):
    """The password was right; ``second_factor_required`` says whether TOTP must follow."""

    action: ClassVar[str] = "login.succeeded"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    second_factor_required: bool


@dataclass(frozen=True)
class LoginFailed(AuditEventBase):
    """A login was refused. ``reason`` is for the audit reader only, never shown to the user."""

    action: ClassVar[str] = "login.failed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    email: str
    reason: str  # "unknown_user" | "wrong_password" | "inactive" | "demo_outside_development"
    user_id: int | None = None


@dataclass(frozen=True)
class LoginRateLimited(AuditEventBase):
    """A login was refused because of too many recent failures for the account or address."""

    action: ClassVar[str] = "login.rate_limited"
    record_type: ClassVar[str | None] = "user"
    email: str
    scope: Literal["account", "address"]
    factor: str = "password"


@dataclass(frozen=True)
class SecondFactorPassed(AuditEventBase):
    action: ClassVar[str] = "login.second_factor_passed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class SecondFactorFailed(AuditEventBase):
    action: ClassVar[str] = "login.second_factor_failed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    reason: str  # "wrong_code" | "replayed_code" | "not_enrolled"


@dataclass(frozen=True)
class SecondFactorEnrolled(AuditEventBase):
    action: ClassVar[str] = "account.second_factor_enrolled"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class Logout(AuditEventBase):
    action: ClassVar[str] = "logout"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class OrganisationCreated(AuditEventBase):
    action: ClassVar[str] = "organisation.created"
    record_type: ClassVar[str | None] = "organisation"
    record_id_field: ClassVar[str | None] = "organisation_id"
    organisation_id: int
    name: str
    kind: str


@dataclass(frozen=True)
class UserCreated(AuditEventBase):
    action: ClassVar[str] = "user.created"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    email: str
    role: str
    organisation_id: int
    is_demo: bool = False


@dataclass(frozen=True)
class UserChanged(AuditEventBase):
    """A user's role, activity or second factor was changed by an administrator."""

    action: ClassVar[str] = "user.changed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    changes: dict[str, list[object]] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True)
class AnalysisStored(AuditEventBase):
    action: ClassVar[str] = "analysis.stored"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    source: str
    n_ads: int
    n_personas: int
    n_networks: int
    n_quarantined: int


@dataclass(frozen=True)
class AnalysisPurged(AuditEventBase):
    """Analysis runs past their retention date were deleted."""

    action: ClassVar[str] = "analysis.purged"
    record_type: ClassVar[str | None] = "analysis_run"
    run_ids: tuple[int, ...]
    before: str  # ISO time: runs that expired before this moment


@dataclass(frozen=True)
class AnalysisViewed(AuditEventBase):
    """An overview of a run (networks, personas) was shown."""

    action: ClassVar[str] = "analysis.viewed"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    view: str = "overview"


@dataclass(frozen=True)
class NetworkViewed(AuditEventBase):
    action: ClassVar[str] = "analysis.network_viewed"
    record_type: ClassVar[str | None] = "network"
    record_id_field: ClassVar[str | None] = "network_id"
    run_id: int
    network_id: str


@dataclass(frozen=True)
class PersonaViewed(AuditEventBase):
    """The details of one persona (its ads and movements) were shown."""

    action: ClassVar[str] = "analysis.persona_viewed"
    record_type: ClassVar[str | None] = "persona"
    record_id_field: ClassVar[str | None] = "persona_id"
    run_id: int
    persona_id: str


@dataclass(frozen=True)
class ContactPointRevealed(AuditEventBase):
    """One contact point of a run was shown in the clear, on screen, for a purpose (given to
    :func:`record`). The event holds the pseudonym, never the value."""

    action: ClassVar[str] = "contact_point.revealed"
    record_type: ClassVar[str | None] = "contact_point"
    record_id_field: ClassVar[str | None] = "pseudonym"
    run_id: int
    pseudonym: str
    persona_id: str | None = None


@dataclass(frozen=True)
class AuditViewed(AuditEventBase):
    action: ClassVar[str] = "audit.viewed"
    record_type: ClassVar[str | None] = "audit"
    organisation_id: int | None = None


@dataclass(frozen=True)
class AccessDenied(AuditEventBase):
    """``allowed()`` said no to an action the actor tried."""

    action: ClassVar[str] = "access.denied"
    record_type: ClassVar[str | None] = "resource"
    record_id_field: ClassVar[str | None] = "resource_id"
    attempted: str
    resource_kind: str | None = None
    resource_id: str | None = None


# ----------------------------------------------------------------------------------------------
# Writing


def canonical_details(details: dict[str, object]) -> str:
    """The stored JSON text of an event's details (sorted keys, no spaces)."""
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def compute_hash(row: AuditEvent) -> str:
    """The hash a row should carry, from its content and ``prev_hash`` (not from ``seq``)."""
    at = row.at.astimezone(UTC) if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    content = {
        "at": at.isoformat(timespec="microseconds"),
        "actor_user_id": row.actor_user_id,
        "actor_email": row.actor_email,
        "organisation_id": row.organisation_id,
        "action": row.action,
        "record_type": row.record_type,
        "record_id": row.record_id,
        "purpose": row.purpose,
        "ip": row.ip,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


# Built once: appending is on the path of every audited request.
_ADVANCE_HEAD = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(seq=AuditChainHead.seq + 1)
    .returning(AuditChainHead.seq, AuditChainHead.hash)
    .execution_options(synchronize_session=False)
)
_SET_HEAD_HASH = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(hash=bindparam("new_hash"))
    .execution_options(synchronize_session=False)
)
_AUDIT_TABLE = cast(Table, AuditEvent.__table__)
_INSERT_EVENT = insert(_AUDIT_TABLE)
_COLUMNS = tuple(column.key for column in _AUDIT_TABLE.columns)


def _advance_chain_head(session: Session) -> tuple[int, str]:
    """Take the next sequence number and return it with the hash of the current last row.

    One ``UPDATE … RETURNING`` both locks the head (row lock on PostgreSQL: other writers wait
    and then see this append; on SQLite the database write lock) and reads it.
    """
    advanced = session.execute(_ADVANCE_HEAD).one_or_none()
    if advanced is None:
        raise AuditIntegrityError(
            "the audit chain head is missing; run `signaal db upgrade` or restore it"
        )
    return int(advanced[0]), str(advanced[1])


def record(
    session: Session,
    event: AuditEventBase,
    *,
    actor: Actor | None,
    ip: str | None,
    purpose: str | None = None,
) -> AuditEvent:
    """Append ``event`` to the audit chain in the caller's transaction and return the row.

    ``actor`` None means the system or an anonymous visitor. ``purpose`` (why a person's data
    was looked at) overrides the event's own. Nothing is committed here: the event lands with
    the caller's commit, or not at all.
    """
    if not event.action:
        raise TypeError(f"{type(event).__name__} has no action name")
    try:
        seq, prev_hash = _advance_chain_head(session)
        row = AuditEvent(
            seq=seq,
            at=datetime.now(UTC),
            actor_user_id=actor.user_id if actor else None,
            actor_email=actor.email if actor else None,
            organisation_id=actor.organisation_id if actor else None,
            action=event.action,
            record_type=event.record_type,
            record_id=event.record_id,
            purpose=purpose if purpose is not None else event.purpose,
            ip=ip,
            details=canonical_details(event.details),
            prev_hash=prev_hash,
            scheme="sha256",
        )
        row.hash = compute_hash(row)
        session.execute(_INSERT_EVENT, {key: getattr(row, key) for key in _COLUMNS})
        session.execute(_SET_HEAD_HASH, {"new_hash": row.hash})
        # The row is in the database: give it to the session as a loaded object.
        make_transient_to_detached(row)
        session.add(row)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not write audit event {event.action!r}: {exc}") from exc
    return row


# ----------------------------------------------------------------------------------------------
# Reading


def list_events(
    session: Session,
    *,
    organisation_id: int | None = None,
    action_prefix: str | None = None,
    record_type: str | None = None,
    record_id: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest audit rows first, filtered; page with ``before_seq`` (the last seq shown).

    ``organisation_id`` limits the rows to actors of that organisation (what an organisation's
    administrator may read; see ``Action.VIEW_AUDIT``).
    """
    statement = select(AuditEvent)
    if organisation_id is not None:
        statement = statement.where(AuditEvent.organisation_id == organisation_id)
    if action_prefix:
        statement = statement.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if record_type is not None:
        statement = statement.where(AuditEvent.record_type == record_type)
    if record_id is not None:
        statement = statement.where(AuditEvent.record_id == record_id)
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, 1000)))
    try:
        return list(session.scalars(statement))
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {exc}") from exc


# ----------------------------------------------------------------------------------------------
# Verifying


ProblemKind = Literal["changed", "removed", "inserted", "reordered"]


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    checked: int
    problems: list[AuditProblem]
    head_seq: int | None = None
    head_hash: str | None = None

    def raise_if_broken(self) -> None:
        if not self.ok:
            first = self.problems[0]
            raise AuditIntegrityError(
                f"the audit chain does not verify ({len(self.problems)} problem(s)); "
                f"first at row {first.seq}: {first.message}"
            )


def _rows(session: Session) -> Iterator[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    for row in session.scalars(statement):
        yield row
        session.expunge(row)


def _seq_of_hash(session: Session, hash_value: str) -> int | None:
    return session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == hash_value))


def verify(session: Session) -> AuditReport:
    """Walk the whole chain and report every changed, removed, inserted or reordered row."""
    try:
        return _verify(session)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {exc}") from exc


def _verify(session: Session) -> AuditReport:
    problems: list[AuditProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    prev_prev_hash: str | None = None
    prev_seq: int | None = None
    checked = 0

    prev_out_of_place = False
    for row in _rows(session):
        checked += 1
        out_of_place = False
        if row.seq < expected_seq:
            problems.append(
                AuditProblem(row.seq, "inserted", f"row {row.seq} lies before the first row")
            )
            continue
        gap = row.seq > expected_seq
        if gap:
            missing = (
                f"row {expected_seq}"
                if row.seq == expected_seq + 1
                else f"rows {expected_seq}–{row.seq - 1}"
            )
            problems.append(AuditProblem(expected_seq, "removed", f"{missing} removed"))
        if compute_hash(row) != row.hash:
            problems.append(
                AuditProblem(
                    row.seq,
                    "changed",
                    f"row {row.seq} ({row.action}) was changed: its content does not match "
                    "its hash",
                )
            )
        elif row.prev_hash != prev_hash and not gap:
            links_past_previous = prev_seq is not None and row.prev_hash == prev_prev_hash
            if links_past_previous and not prev_out_of_place:
                assert prev_seq is not None
                problems.append(
                    AuditProblem(
                        prev_seq,
                        "inserted",
                        f"row {prev_seq} was inserted: row {row.seq} links past it",
                    )
                )
            else:
                other = _seq_of_hash(session, row.prev_hash)
                if other is not None or links_past_previous:
                    problems.append(
                        AuditProblem(
                            row.seq,
                            "reordered",
                            f"row {row.seq} is out of order: in the chain it follows row "
                            f"{other if other is not None else 'none'}",
                        )
                    )
                    out_of_place = True
                else:
                    blamed = prev_seq if prev_seq is not None else row.seq
                    problems.append(
                        AuditProblem(
                            blamed,
                            "changed",
                            f"row {row.seq} does not link to row {blamed}: row {blamed} was "
                            "changed and re-hashed, or a row between them was removed",
                        )
                    )
        prev_out_of_place = out_of_place
        prev_prev_hash, prev_hash, prev_seq = prev_hash, row.hash, row.seq
        expected_seq = row.seq + 1

    head = session.get(AuditChainHead, CHAIN_HEAD_ID, populate_existing=True)
    last_seq = prev_seq if prev_seq is not None else 0
    if head is None:
        problems.append(AuditProblem(last_seq, "removed", "the audit chain head row is missing"))
    elif head.hash != prev_hash:
        head_row = _seq_of_hash(session, head.hash) if head.seq else None
        if head_row is not None and head_row < last_seq:
            problems.extend(
                AuditProblem(
                    seq, "inserted", f"row {seq} was appended after the recorded chain head"
                )
                for seq in range(head_row + 1, last_seq + 1)
            )
        elif head.seq > last_seq:
            missing = (
                f"row {head.seq}" if head.seq == last_seq + 1 else f"rows {last_seq + 1}–{head.seq}"
            )
            problems.append(
                AuditProblem(last_seq + 1, "removed", f"{missing} removed from the end")
            )
        else:
            problems.append(
                AuditProblem(
                    last_seq, "changed", f"row {last_seq} does not match the recorded chain head"
                )
            )
    return AuditReport(
        ok=not problems,
        checked=checked,
        problems=problems,
        head_seq=head.seq if head else None,
        head_hash=head.hash if head else None,
    )
