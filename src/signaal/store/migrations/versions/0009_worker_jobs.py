"""worker jobs: the state and the lock of each scheduled job of ``signaal worker``

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

* ``worker_jobs``: one row per job name (created when a worker first sees the job): the lease of
  the worker running it, when it last started and finished, its status, a one-line summary and
  the number of failed runs in a row.

Only a new table; the downgrade drops it again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_summary", sa.String(length=500), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_jobs")),
    )


def downgrade() -> None:
    op.drop_table("worker_jobs")
