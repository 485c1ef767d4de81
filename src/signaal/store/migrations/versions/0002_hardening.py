"""hardening: owning organisation of analysis runs, enrolment links, login throttles, keyed audit
chain with checkpoints, sealed contact points

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

* ``analysis_runs.organisation_id``: every run belongs to one organisation. A run stored before
  this migration gets the organisation of the user who stored it; a run stored without a user
  (from the command line) has no owner anyone could name, so it is deleted with its rows
  (analysis results can always be made again from the ads).
* ``users.password_changed_at``: None until a user has set her own password.
* ``user_enrolments``: one-time links to set the own password and second factor.
* ``login_throttles``: failed login attempts per account and per address, counted atomically.
* ``audit_events.scheme``: rows written before this migration keep their unkeyed SHA-256 hashes
  ("sha256"); new rows are keyed ("hmac-sha256"). ``audit_checkpoints``: verified positions.
* ``analysis_contact_points``: each run's contact points, sealed (AES-GCM).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUN_CHILDREN = ("analysis_movements", "analysis_ads", "analysis_personas", "analysis_networks")


def upgrade() -> None:
    bind = op.get_bind()
    # Owner of the runs stored so far: the organisation of the user who stored them.
    op.add_column("analysis_runs", sa.Column("organisation_id", sa.Integer(), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE analysis_runs SET organisation_id = (SELECT users.organisation_id FROM users "
            "WHERE users.id = analysis_runs.stored_by_user_id)"
        )
    )
    orphaned = "SELECT id FROM analysis_runs WHERE organisation_id IS NULL"
    for child in _RUN_CHILDREN:
        bind.execute(sa.text(f"DELETE FROM {child} WHERE run_id IN ({orphaned})"))  # noqa: S608
    bind.execute(sa.text("DELETE FROM analysis_runs WHERE organisation_id IS NULL"))
    with op.batch_alter_table("analysis_runs") as batch:
        batch.alter_column("organisation_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_analysis_runs_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_analysis_runs_organisation_id"), ["organisation_id"])

    op.add_column(
        "users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
    )

    op.create_table(
        "user_enrolments",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_enrolments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_enrolments")),
    )
    op.create_index(op.f("ix_user_enrolments_user_id"), "user_enrolments", ["user_id"])

    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )

    # ADD COLUMN is not an UPDATE: the append-only triggers of audit_events do not fire.
    op.add_column(
        "audit_events",
        sa.Column("scheme", sa.String(length=16), nullable=False, server_default="sha256"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )

    op.create_table(
        "analysis_contact_points",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=80), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_analysis_contact_points_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "pseudonym", name=op.f("pk_analysis_contact_points")),
    )


def downgrade() -> None:
    op.drop_table("analysis_contact_points")
    op.drop_table("audit_checkpoints")
    # Not in batch mode: rebuilding audit_events on SQLite would drop its append-only triggers.
    op.drop_column("audit_events", "scheme")
    op.drop_table("login_throttles")
    op.drop_index(op.f("ix_user_enrolments_user_id"), table_name="user_enrolments")
    op.drop_table("user_enrolments")
    op.drop_column("users", "password_changed_at")
    with op.batch_alter_table("analysis_runs") as batch:
        batch.drop_index(op.f("ix_analysis_runs_organisation_id"))
        batch.drop_constraint(
            op.f("fk_analysis_runs_organisation_id_organisations"), type_="foreignkey"
        )
        batch.drop_column("organisation_id")
