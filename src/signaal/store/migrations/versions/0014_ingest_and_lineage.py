"""ingested ads and the lineage of personas and networks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

* ``ingested_ads``: every version of an ad that ``signaal ingest`` received, per organisation,
  the record encrypted at rest, with its SHA-256, when it was first and last seen, and when it
  expires; the analyses after an ingest read the newest version of each ad from here.
* ``analysis_lineage``: the merges and splits of personas and networks between a stored run and
  the one before it, with the evidence (links with pseudonyms); deleted with its run.

Only tables are added; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingested_ads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_ingested_ads_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingested_ads")),
        sa.UniqueConstraint(
            "organisation_id", "ad_id", "sha256", name="uq_ingested_ads_org_ad_version"
        ),
    )
    op.create_index(
        "ix_ingested_ads_org_expires", "ingested_ads", ["organisation_id", "expires_at"]
    )
    op.create_table(
        "analysis_lineage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("previous_run_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("previous_ids", sa.Text(), nullable=False),
        sa.Column("current_ids", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_analysis_lineage_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_lineage")),
    )
    op.create_index("ix_analysis_lineage_run_level", "analysis_lineage", ["run_id", "level"])


def downgrade() -> None:
    op.drop_table("analysis_lineage")
    op.drop_table("ingested_ads")
