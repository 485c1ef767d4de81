"""watchlists and their alerts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

* ``watchlist_watches``: a user's watch on a persona, a network or a contact point (its keyed
  pseudonym, never the clear value) of her organisation's analysis, with what it has seen so
  far (municipalities, regions, personas) and when it was stopped.
* ``watchlist_alerts``: a change of a watched item in a stored run (new municipality, region or
  persona), with the state of the mail that tells the user; deleted with its run.

Only tables are added; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watchlist_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("seen_municipalities", sa.Text(), nullable=False),
        sa.Column("seen_regions", sa.Text(), nullable=False),
        sa.Column("seen_personas", sa.Text(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_watchlist_watches_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_watchlist_watches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_watches")),
    )
    op.create_index(
        "ix_watchlist_watches_organisation_ended",
        "watchlist_watches",
        ["organisation_id", "ended_at"],
    )
    op.create_index(
        op.f("ix_watchlist_watches_user_id"), "watchlist_watches", ["user_id"], unique=False
    )
    op.create_table(
        "watchlist_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("mail_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watchlist_watches.id"],
            name=op.f("fk_watchlist_alerts_watch_id_watchlist_watches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_watchlist_alerts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_watchlist_alerts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_watchlist_alerts_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_alerts")),
    )
    op.create_index(
        "ix_watchlist_alerts_mailed_attempts",
        "watchlist_alerts",
        ["mailed_at", "mail_attempts"],
    )
    for column in ("watch_id", "user_id", "run_id"):
        op.create_index(
            op.f(f"ix_watchlist_alerts_{column}"), "watchlist_alerts", [column], unique=False
        )


def downgrade() -> None:
    op.drop_table("watchlist_alerts")
    op.drop_table("watchlist_watches")
