"""monitor: reasons as facts on stored personas and networks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

* ``analysis_personas.reasons_json`` and ``analysis_networks.reasons_json``: the reasons of a
  score as data (the ``reasons_json`` column of ``signaal analyse``), which the web app explains
  in plain words (``signaal.ads.explain``). Nullable: runs stored before this migration keep
  their analyst text in ``reasons`` and are shown with it.

Only columns are added; the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("analysis_personas", "analysis_networks")


def upgrade() -> None:
    # A plain ADD COLUMN: no rewrite of tables that may hold millions of rows.
    for table in _TABLES:
        op.add_column(table, sa.Column("reasons_json", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reasons_json")
