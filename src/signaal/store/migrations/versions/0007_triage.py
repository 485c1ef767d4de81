"""triage: the ad monitor's triage queue and its decisions (labels for calibration)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

* ``triage_items``: where a persona or network stands in an organisation's triage queue
  (status, assignee, the signal an escalation created), one row per organisation, kind and id.
* ``triage_decisions``: every decision on an item (assigned, reviewed, escalated, dismissed with
  its reason), with the run it was made on and its label for ``signaal calibrate``.
* ``ix_analysis_ads_run_network``: the queue filters networks by their ads (indicator, site,
  period); personas already have ``ix_analysis_ads_run_persona``.

Only new tables and an index; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triage_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to_user_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_triage_items_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_user_id"],
            ["users.id"],
            name=op.f("fk_triage_items_assigned_to_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_triage_items_signal_id_signals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_items")),
        sa.UniqueConstraint(
            "organisation_id", "kind", "item_id", name=op.f("uq_triage_items_organisation_id")
        ),
    )
    op.create_index(
        op.f("ix_triage_items_assigned_to_user_id"),
        "triage_items",
        ["assigned_to_user_id"],
        unique=False,
    )
    op.create_index(
        "ix_triage_items_organisation_status",
        "triage_items",
        ["organisation_id", "status"],
        unique=False,
    )
    op.create_table(
        "triage_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("triage_item_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assigned_to_user_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_triage_decisions_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["triage_item_id"],
            ["triage_items.id"],
            name=op.f("fk_triage_decisions_triage_item_id_triage_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_decisions")),
    )
    op.create_index(
        op.f("ix_triage_decisions_organisation_id"),
        "triage_decisions",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_triage_decisions_triage_item_id"),
        "triage_decisions",
        ["triage_item_id"],
        unique=False,
    )
    op.create_index(
        "ix_analysis_ads_run_network", "analysis_ads", ["run_id", "network_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_analysis_ads_run_network", table_name="analysis_ads")
    op.drop_index(op.f("ix_triage_decisions_triage_item_id"), table_name="triage_decisions")
    op.drop_index(op.f("ix_triage_decisions_organisation_id"), table_name="triage_decisions")
    op.drop_table("triage_decisions")
    op.drop_index("ix_triage_items_organisation_status", table_name="triage_items")
    op.drop_index(op.f("ix_triage_items_assigned_to_user_id"), table_name="triage_items")
    op.drop_table("triage_items")
