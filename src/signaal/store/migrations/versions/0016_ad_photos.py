"""ad photos: the PDQ hash and an encrypted thumbnail of every photo of a stored ad

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

* ``analysis_ad_photos``: per run, ad and position in the ad's images, the photo's PDQ hash and
  quality, the number of its cluster of near-duplicate photos in the run, and a thumbnail (JPEG,
  at most 240 pixels a side, no metadata) sealed with the data key. The rows belong to the run
  and are deleted with it.

The downgrade drops the table (the thumbnails are lost; the runs keep everything else).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_ad_photos",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("ad_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_analysis_ad_photos_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "ad_id", "position", name=op.f("pk_analysis_ad_photos")),
    )
    op.create_index(
        "ix_analysis_ad_photos_run_cluster", "analysis_ad_photos", ["run_id", "cluster"]
    )


def downgrade() -> None:
    op.drop_index("ix_analysis_ad_photos_run_cluster", table_name="analysis_ad_photos")
    op.drop_table("analysis_ad_photos")
