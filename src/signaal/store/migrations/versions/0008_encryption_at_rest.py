"""encryption at rest: the special categories of the chain encrypted with the data key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

* The free-text columns of the chain (signal texts, case notes and closing reasons, case event
  texts and details, vulnerability notes, joint-control notes, outreach outcomes, task notes,
  referral questions and reasons, placement notes, aangifte follow-ups, contact-request messages
  and answers, triage reasons) are rewritten encrypted (AES-GCM, ``signaal.privacy.at_rest``)
  with the data key of the settings (``SIGNAAL_DATA_KEY``), which the database never holds.
* The six vulnerability factors change from BOOLEAN to TEXT and are encrypted too.

The downgrade opens every value again (with the same key) and turns the factors back into
BOOLEAN. The column list is frozen here, not read from the models, so that this migration does
the same thing whatever later versions of the models say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from signaal.privacy.at_rest import FieldCipher, is_encrypted
from signaal.store.encrypted import cipher_for

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, primary key columns, encrypted text columns)
TEXT_COLUMNS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("signals", ("id",), ("text",)),
    ("cases", ("id",), ("closed_reason",)),
    ("case_events", ("id",), ("text", "details")),
    ("vulnerability_assessments", ("id",), ("notes",)),
    ("joint_controls", ("id",), ("shared_notes",)),
    ("joint_control_parts", ("control_id", "organisation_id"), ("notes",)),
    ("outreach_contacts", ("id",), ("outcome",)),
    ("tasks", ("id",), ("notes",)),
    ("referrals", ("id",), ("question", "reason")),
    ("referral_events", ("id",), ("reason",)),
    ("placements", ("id",), ("notes",)),
    ("aangifte_supports", ("id",), ("follow_up",)),
    ("contact_requests", ("id",), ("message", "answer")),
    ("triage_decisions", ("id",), ("reason",)),
)
FACTORS = (
    "prior_trauma",
    "intellectual_disability",
    "youth_care_history",
    "near_adulthood",
    "dependency",
    "language_barrier",
)
_ASSESSMENTS = "vulnerability_assessments"


def _cipher() -> FieldCipher:
    return cipher_for(op.get_bind().dialect)


Change = Callable[[str, str, object], str]


def _rewrite(table: str, keys: tuple[str, ...], columns: tuple[str, ...], change: Change) -> None:
    """Apply ``change(table, column, value)`` to every non-NULL value of ``columns``."""
    bind = op.get_bind()
    subject = sa.table(table, *(sa.column(name) for name in (*keys, *columns)))
    rows = bind.execute(sa.select(*(subject.c[name] for name in (*keys, *columns)))).all()
    for row in rows:
        values = row._mapping
        new = {
            column: change(table, column, values[column])
            for column in columns
            if values[column] is not None
        }
        if not new:
            continue
        where = sa.and_(*(subject.c[key] == values[key] for key in keys))
        bind.execute(sa.update(subject).where(where).values(**new))


def _encrypt_text(table: str, column: str, value: object) -> str:
    clear = str(value)
    if is_encrypted(clear):  # a second run over a half-migrated store changes nothing twice
        return clear
    return _cipher().encrypt(clear, table=table, column=column)


def _encrypt_factor(table: str, column: str, value: object) -> str:
    text = str(value).strip().lower()
    if is_encrypted(str(value)):
        return str(value)
    if text in ("1", "true", "t"):
        clear = "true"
    elif text in ("0", "false", "f"):
        clear = "false"
    else:
        raise ValueError(f"{table}.{column}: {text!r} is not a yes/no value")
    return _cipher().encrypt(clear, table=table, column=column)


def _decrypt_text(table: str, column: str, value: object) -> str:
    return _cipher().decrypt(str(value), table=table, column=column)


def _decrypt_factor(table: str, column: str, value: object) -> str:
    # "1"/"0" cast to BOOLEAN on both backends (SQLite's BOOLEAN affinity is numeric).
    return "1" if _decrypt_text(table, column, value) == "true" else "0"


def _using(postgres: bool, expression: str) -> dict[str, Any]:
    """PostgreSQL needs the conversion of a changed column type spelled out."""
    return {"postgresql_using": expression} if postgres else {}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table(_ASSESSMENTS) as batch:
        for factor in FACTORS:
            batch.alter_column(
                factor,
                existing_type=sa.Boolean(),
                type_=sa.Text(),
                existing_nullable=True,
                **_using(postgres, f"{factor}::text"),
            )
    for table, keys, columns in TEXT_COLUMNS:
        _rewrite(table, keys, columns, _encrypt_text)
    _rewrite(_ASSESSMENTS, ("id",), FACTORS, _encrypt_factor)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, keys, columns in TEXT_COLUMNS:
        _rewrite(table, keys, columns, _decrypt_text)
    _rewrite(_ASSESSMENTS, ("id",), FACTORS, _decrypt_factor)
    with op.batch_alter_table(_ASSESSMENTS) as batch:
        for factor in FACTORS:
            batch.alter_column(
                factor,
                existing_type=sa.Text(),
                type_=sa.Boolean(),
                existing_nullable=True,
                **_using(postgres, f"{factor}::boolean"),
            )
