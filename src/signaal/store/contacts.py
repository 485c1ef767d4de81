"""The sealed contact points of stored analysis runs (table ``analysis_contact_points``).

Rows only: one per (run, pseudonym), the clear value sealed with
:class:`signaal.privacy.sealing.Sealer` (AES-GCM bound to the run and the pseudonym). Who may
reveal one, for which purpose, and the audit event of it are decided above the store (the
``contacts.reveal`` action, ``signaal.web.routes.contacts``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import psycopg
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from signaal.errors import RecordError, StoreError
from signaal.privacy.sealing import Sealer
from signaal.store.analysis import PSEUDONYM
from signaal.store.db import database_problem
from signaal.store.models import AnalysisContactPoint

BATCH_SIZE = 5_000
MAX_VALUE_LENGTH = 320  # the longest e-mail address; phones, handles and hosts are shorter


def save_contact_points(
    session: Session, run_id: int, values: Mapping[str, str], sealer: Sealer
) -> int:
    """Seal and add the contact points of run ``run_id`` (pseudonym -> clear value) in the
    caller's transaction; returns how many. A bad pseudonym or value adds nothing."""
    rows: list[dict[str, object]] = []
    for name, value in sorted(values.items()):
        if not PSEUDONYM.match(name):
            raise RecordError("contact points", "pseudonym", f"{name[:12]!r} is not a pseudonym")
        if not value or len(value) > MAX_VALUE_LENGTH:
            raise RecordError(
                "contact points", "value", f"of {name} is empty or over {MAX_VALUE_LENGTH}"
            )
        rows.append(
            {
                "run_id": run_id,
                "pseudonym": name,
                "sealed": sealer.seal(value, run_id=run_id, pseudonym=name),
            }
        )
    try:
        for start in range(0, len(rows), BATCH_SIZE):
            session.execute(insert(AnalysisContactPoint), rows[start : start + BATCH_SIZE])
    except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as exc:
        raise StoreError(
            f"storing the contact points of run {run_id} failed: {database_problem(exc)}"
        ) from exc
    return len(rows)


def reveal_contact_point(
    session: Session, run_id: int, pseudonym: str, sealer: Sealer
) -> str | None:
    """The clear value of one contact point of run ``run_id``, or None when the run has no such
    pseudonym. Raises :class:`~signaal.privacy.sealing.SealError` when the sealed value does not
    open (another key, or a value moved from another row)."""
    if not PSEUDONYM.match(pseudonym):
        return None
    try:
        sealed = session.scalar(
            select(AnalysisContactPoint.sealed).where(
                AnalysisContactPoint.run_id == run_id,
                AnalysisContactPoint.pseudonym == pseudonym,
            )
        )
    except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as exc:
        raise StoreError(f"reading contact point {pseudonym} of run {run_id} failed") from exc
    if sealed is None:
        return None
    return sealer.open(sealed, run_id=run_id, pseudonym=pseudonym)


def contact_point_names(session: Session, run_id: int) -> set[str]:
    """The pseudonyms of run ``run_id`` that have a sealed value (that could be revealed)."""
    return set(
        session.scalars(
            select(AnalysisContactPoint.pseudonym).where(AnalysisContactPoint.run_id == run_id)
        )
    )
