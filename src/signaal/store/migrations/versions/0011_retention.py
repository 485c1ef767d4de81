"""retention: a legal hold on a subject

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

* ``subjects.legal_hold`` (false by default) with ``legal_hold_reason`` (encrypted at rest with
  the data key, like the chain's other free text), ``legal_hold_at`` and
  ``legal_hold_by_user_id``: while a hold is on, retention (``signaal chain enforce-retention``)
  keeps every record about the subject and an erasure request is refused.
* Indexes for the retention queries: cases by ``closed_at``, notifications by ``created_at``,
  triage decisions by ``at``.

The downgrade drops the indexes and the columns (a hold is lost with them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_cases_closed_at", "cases", "closed_at"),
    ("ix_notifications_created_at", "notifications", "created_at"),
    ("ix_triage_decisions_at", "triage_decisions", "at"),
)


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("legal_hold_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("legal_hold_by_user_id", sa.Integer(), nullable=True))
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("legal_hold_by_user_id")
        batch.drop_column("legal_hold_at")
        batch.drop_column("legal_hold_reason")
        batch.drop_column("legal_hold")
