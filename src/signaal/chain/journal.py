"""The audit of chain reads and writes (NEN 7513), in one place for signals, subjects,
referrals and sharing: every read of a person's data names the record, the subject, the role,
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
    audit.record(
        db,
        audit.ChainRecordRead(
            record_kind=visibility.record_type_of(record),
            record_key=str(record.id),
            subject_id=subject_id,
            role=actor.role,
            on_behalf_of=actor.organisation_id,
            basis=found.kind,
            view=view,
        ),
        actor=actor,
        ip=ip,
        purpose=purpose_of(found),
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
    audit.record(
        db,
        audit.ChainRecordRead(
            record_kind=record_kind,
            record_key=None,
            subject_id=next(iter(subjects)) if len(subjects) == 1 else None,
            role=actor.role,
            on_behalf_of=actor.organisation_id,
            basis=",".join(kinds),
            view=view,
            shown_ids=tuple(str(r.id) for r in shown),
        ),
        actor=actor,
        ip=ip,
        purpose="; ".join(g if not g.startswith("own") else f"own: {OWN_PURPOSE}" for g in grounds)
        or f"own: {OWN_PURPOSE}",
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
            on_behalf_of=actor.organisation_id,
            fields=dict(fields or {}),
        ),
        actor=actor,
        ip=ip,
    )
