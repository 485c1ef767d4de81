"""matching: keyed Bloom-filter encodings of subjects, for hit/no-hit within a deployment

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

* ``subject_encodings``: per subject and purpose the keyed filters of first name, surname, birth
  date (and its tolerated variants) and phone (``signaal.privacy.matching``) — never the clear
  values; a NULL filter is a field that was not registered.
* ``subject_encoding_blocks``: the keyed blocking keys of an encoding, so that a new subject is
  compared only with the subjects that share one.

* ``agreements.hit_no_hit``: the agreement covers hit/no-hit between its parties (default no).
* ``organisations.contact_route``: how another organisation gets in touch after a hit (a phone
  line or a functional mailbox); empty means none given.

The downgrade drops the tables and the columns again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subject_encodings",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.LargeBinary(), nullable=True),
        sa.Column("surname", sa.LargeBinary(), nullable=True),
        sa.Column("birth_date", sa.LargeBinary(), nullable=True),
        sa.Column("birth_date_variants", sa.LargeBinary(), nullable=True),
        sa.Column("phone", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_subject_encodings_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_encodings_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "purpose", name=op.f("pk_subject_encodings")),
    )
    op.create_index(
        op.f("ix_subject_encodings_organisation_id"),
        "subject_encodings",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "subject_encoding_blocks",
        sa.Column("block", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_encoding_blocks_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "block", "purpose", "subject_id", name=op.f("pk_subject_encoding_blocks")
        ),
    )
    op.create_index(
        op.f("ix_subject_encoding_blocks_subject_id"),
        "subject_encoding_blocks",
        ["subject_id"],
        unique=False,
    )

    op.add_column(
        "agreements",
        sa.Column("hit_no_hit", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("organisations", sa.Column("contact_route", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("contact_route")
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("hit_no_hit")
    op.drop_index(
        op.f("ix_subject_encoding_blocks_subject_id"), table_name="subject_encoding_blocks"
    )
    op.drop_table("subject_encoding_blocks")
    op.drop_index(op.f("ix_subject_encodings_organisation_id"), table_name="subject_encodings")
    op.drop_table("subject_encodings")
