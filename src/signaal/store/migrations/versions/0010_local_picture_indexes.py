"""local picture indexes: the aggregates of "Mijn gemeente" read an area's ads and arrivals

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

* ``ix_analysis_ads_run_municipality_posted``: an area's ads of a run per ISO week
  (``signaal.store.local_picture.weekly``, ``area_tally``, ``indicator_counts``): the run and
  the area's municipalities narrow the rows, the posting time is read from the index.
* ``ix_analysis_movements_run_to_at``: the movements of a run into the area in one week
  (``arrivals``).

Only indexes; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_analysis_ads_run_municipality_posted",
        "analysis_ads",
        ["run_id", "municipality", "posted_at"],
        unique=False,
    )
    op.create_index(
        "ix_analysis_movements_run_to_at",
        "analysis_movements",
        ["run_id", "to_municipality", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_analysis_movements_run_to_at", table_name="analysis_movements")
    op.drop_index("ix_analysis_ads_run_municipality_posted", table_name="analysis_ads")
