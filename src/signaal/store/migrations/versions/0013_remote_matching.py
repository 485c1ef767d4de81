"""remote matching: a subject's records at the cross-deployment match service

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

* ``remote_match_records``: per subject and purpose, the opaque reference the match service
  knows her by and, until it is submitted, the encoding to send (keyed filters, no clear value);
* ``remote_match_withdrawals``: references to withdraw (the subject was erased or past her
  retention period), naming no subject;
* ``remote_hits``: the hits the service reported: the other deployment's name and contact route.

The downgrade drops the three tables (what the service holds is then no longer withdrawn by
this store: withdraw first, or revoke the deployment at the service).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remote_match_records",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_remote_match_records_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "purpose", name=op.f("pk_remote_match_records")),
        sa.UniqueConstraint("reference", name=op.f("uq_remote_match_records_reference")),
    )
    op.create_table(
        "remote_match_withdrawals",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", "purpose", name=op.f("pk_remote_match_withdrawals")),
    )
    op.create_table(
        "remote_hits",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=120), nullable=False),
        sa.Column("contact_route", sa.String(length=300), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_remote_hits_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subject_id", "purpose", "organisation", name=op.f("pk_remote_hits")
        ),
    )


def downgrade() -> None:
    op.drop_table("remote_hits")
    op.drop_table("remote_match_withdrawals")
    op.drop_table("remote_match_records")
