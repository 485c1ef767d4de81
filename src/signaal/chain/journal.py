"""The audit of chain reads and writes (NEN 7513), in one place for every chain service:
every read of a person's data names the record, the subject, the role,
on whose behalf and on what ground; every change names the fields (codes, never free text)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import visibility
from signaal.chain.authz import Actor
from signaal.chain.visibility import Basis, ChainRecord

OWN_PURPOSE = "own organisation's work"


def basis_of(
    db: Session, actor: Actor, record: ChainRecord, *, now: datetime | None = None
) -> Basis:
    """The ground of the actor's read of ``record`` (own, agreement, share, referral,
    emergency). Called after ``allowed()`` said yes, so there is one; "own" if not."""
    return visibility.basis(db, actor, record, now=now) or Basis("own", "")


def purpose_of(found: Basis) -> str:
    return found.describe() if found.kind != "own" else f"own: {OWN_PURPOSE}"


def on_behalf_of(actor: Actor) -> int | None:
    """The organisation an actor acts for (None for the system, which has none)."""
    return None if actor.is_system else actor.organisation_id


def record_read(
    db: Session,
    actor: Actor,
    *,
    kind: str,
    key: int | None,
    subject_id: int | None,
    basis: str,
    purpose: str,
    ip: str | None,
    view: str = "detail",
    shown: Iterable[int] = (),
) -> None:
    """Write one read event (NEN 7513) whose ground the caller knows: ``key`` None and
    ``shown`` for a list."""
    audit.record(
        db,
        audit.ChainRecordRead(
            record_kind=kind,
            record_key=str(key) if key is not None else None,
            subject_id=subject_id,
            role=actor.role,
            on_behalf_of=on_behalf_of(actor),
            basis=basis,
            view=view,
            shown_ids=tuple(str(i) for i in shown),
        ),
        actor=actor,
        ip=ip,
        purpose=purpose,
    )


def read(
    db: Session,
    actor: Actor,
    record: ChainRecord,
    *,
    subject_id: int | None,
    ip: str | None,
    view: str = "detail",
    now: datetime | None = None,
) -> Basis:
    """Audit one detail read of ``record``; returns its basis."""
    found = basis_of(db, actor, record, now=now)
    record_read(
        db,
        actor,
        kind=visibility.record_type_of(record),
        key=record.id,
        subject_id=subject_id,
        basis=found.kind,
        purpose=purpose_of(found),
        ip=ip,
        view=view,
    )
    return found


def read_list(
    db: Session,
    actor: Actor,
    record_kind: str,
    records: Iterable[ChainRecord],
    *,
    ip: str | None,
    view: str,
    subject_of: Mapping[int, int | None] | None = None,
    now: datetime | None = None,
) -> None:
    """Audit one list read: one event with the ids shown and the grounds of the rows
    (``own`` when all are the organisation's own)."""
    shown = list(records)
    grounds = sorted({basis_of(db, actor, record, now=now).describe() for record in shown})
    kinds = sorted({g.split(":", 1)[0].split(" #", 1)[0] for g in grounds}) or ["own"]
    subjects = {subject_of.get(r.id) for r in shown} if subject_of else set()
    subjects.discard(None)
    record_read(
        db,
        actor,
        kind=record_kind,
        key=None,
        subject_id=next(iter(subjects)) if len(subjects) == 1 else None,
        basis=",".join(kinds),
        purpose="; ".join(g if not g.startswith("own") else f"own: {OWN_PURPOSE}" for g in grounds)
        or f"own: {OWN_PURPOSE}",
        ip=ip,
        view=view,
        shown=(r.id for r in shown),
    )


def read_own_list(
    db: Session, actor: Actor, record_kind: str, shown: Iterable[int], *, ip: str | None
) -> None:
    """Audit one list read of records that are all the actor's organisation's own (so their
    ground is known without looking it up): one event with the ids shown."""
    record_read(
        db,
        actor,
        kind=record_kind,
        key=None,
        subject_id=None,
        basis="own",
        purpose=f"own: {OWN_PURPOSE}",
        ip=ip,
        view="list",
        shown=shown,
    )


def written(
    db: Session,
    actor: Actor,
    record_kind: str,
    record_id: int,
    change: str,
    *,
    ip: str | None,
    subject_id: int | None = None,
    fields: Mapping[str, object] | None = None,
) -> None:
    """Audit a create or change: field names and codes only."""
    audit.record(
        db,
        audit.ChainRecordWritten(
            record_kind=record_kind,
            record_key=str(record_id),
            change=change,
            subject_id=subject_id,
            role=actor.role,
            on_behalf_of=on_behalf_of(actor),
            fields=dict(fields or {}),
        ),
        actor=actor,
        ip=ip,
    )
