"""control visits: the personas selected for a joint control and the outcome of each visit

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

* ``joint_control_personas``: per joint control, the personas of the planner's latest analysis
  run on its visit list (the run they were selected from, who added them and when) and the
  outcome of the visit (a code, a note sealed with the data key, who recorded it, for which
  organisation and when).

The downgrade drops the table (the visit lists and their outcomes are lost).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "joint_control_personas",
        sa.Column("control_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_user_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("outcome_organisation_id", sa.Integer(), nullable=True),
        sa.Column("outcome_by_user_id", sa.Integer(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["control_id"],
            ["joint_controls.id"],
            name=op.f("fk_joint_control_personas_control_id_joint_controls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("control_id", "persona_id", name=op.f("pk_joint_control_personas")),
    )


def downgrade() -> None:
    op.drop_table("joint_control_personas")
