"""contact requests on a hit, and protective watches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

* ``contact_requests``: a request of one organisation (the sender, the owner) to another that
  holds a matching subject (a hit), with the sender's message, the state (open, accepted,
  declined) and the receiver's answer. Each side's subject is referenced for that side only.
* ``protective_watches``: a youth-care or care organisation's watch on the phone number of a
  vulnerable young person: a keyed, purpose-specific pseudonym (``watch:…``) and the masked
  form only, the basis (consent or a written legal basis) and the end date.
* ``watch_hits``: a watched number found in a stored analysis run (counts, municipalities, the
  first date; never the ads), deleted with the watch or the run.

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

    op.create_table(
        "protective_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("pseudonym", sa.String(length=80), nullable=False),
        sa.Column("masked", sa.String(length=40), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_protective_watches_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protective_watches")),
    )
    for column in ("organisation_id", "pseudonym", "ends_at"):
        op.create_index(
            op.f(f"ix_protective_watches_{column}"), "protective_watches", [column], unique=False
        )
    op.create_table(
        "watch_hits",
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("n_ads", sa.Integer(), nullable=False),
        sa.Column("municipalities", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["protective_watches.id"],
            name=op.f("fk_watch_hits_watch_id_protective_watches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_watch_hits_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_watch_hits_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("watch_id", "run_id", name=op.f("pk_watch_hits")),
    )
    op.create_index(
        op.f("ix_watch_hits_organisation_id"), "watch_hits", ["organisation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_watch_hits_organisation_id"), table_name="watch_hits")
    op.drop_table("watch_hits")
    for column in ("ends_at", "pseudonym", "organisation_id"):
        op.drop_index(op.f(f"ix_protective_watches_{column}"), table_name="protective_watches")
    op.drop_table("protective_watches")
    op.drop_index(op.f("ix_contact_requests_to_subject_id"), table_name="contact_requests")
    op.drop_index(op.f("ix_contact_requests_subject_id"), table_name="contact_requests")
    op.drop_index("ix_contact_requests_from_state", table_name="contact_requests")
    op.drop_index("ix_contact_requests_to_state", table_name="contact_requests")
    op.drop_table("contact_requests")
