"""contact requests on a hit, and protective watches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

* ``contact_requests``: a request of one organisation (the sender, the owner) to another that
  holds a matching subject (a hit), with the sender's message, the state (open, accepted,
  declined) and the receiver's answer. Each side's subject is referenced for that side only.

Only tables are added; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("to_organisation_id", sa.Integer(), nullable=False),
        sa.Column("to_subject_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contact_requests_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_contact_requests_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contact_requests_to_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["to_subject_id"],
            ["subjects.id"],
            name=op.f("fk_contact_requests_to_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_requests")),
    )
    op.create_index(
        "ix_contact_requests_to_state", "contact_requests", ["to_organisation_id", "state"]
    )
    op.create_index(
        "ix_contact_requests_from_state", "contact_requests", ["organisation_id", "state"]
    )
    op.create_index(
        op.f("ix_contact_requests_subject_id"), "contact_requests", ["subject_id"], unique=False
    )
    op.create_index(
        op.f("ix_contact_requests_to_subject_id"),
        "contact_requests",
        ["to_subject_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_requests_to_subject_id"), table_name="contact_requests")
    op.drop_index(op.f("ix_contact_requests_subject_id"), table_name="contact_requests")
    op.drop_index("ix_contact_requests_from_state", table_name="contact_requests")
    op.drop_index("ix_contact_requests_to_state", table_name="contact_requests")
    op.drop_table("contact_requests")
