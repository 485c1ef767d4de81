"""chain coordination: signals, subjects, cases, tasks, referrals, agreements, shelters

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

* ``organisations.region``: the region an organisation works in (a care coordinator's inbox).
* ``subjects`` and ``subject_contacts`` (pseudonymised and sealed contact points), ``signals``
  and ``signal_personas``, ``cases`` with ``case_events`` and ``vulnerability_assessments``,
  ``outreach_contacts``, ``tasks``, ``referrals`` with ``referral_events``, ``agreements`` with
  ``agreement_parties``, ``record_shares``, ``shelters`` and ``placements``,
  ``aangifte_supports``, ``joint_controls`` with ``joint_control_parts``, ``api_tokens``,
  ``emergency_accesses``, ``notifications`` and ``outbox_mails``.

Every new table is new: nothing existing is rewritten, and the downgrade drops them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_agreements_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_index(
        op.f("ix_agreements_organisation_id"), "agreements", ["organisation_id"], unique=False
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_tokens_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_api_tokens_organisation_id"), "api_tokens", ["organisation_id"], unique=False
    )
    op.create_table(
        "joint_controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("partner_organisation_id", sa.Integer(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("shared_notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_joint_controls_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_joint_controls_partner_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_controls")),
    )
    op.create_index(
        op.f("ix_joint_controls_organisation_id"),
        "joint_controls",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_joint_controls_partner_organisation_id"),
        "joint_controls",
        ["partner_organisation_id"],
        unique=False,
    )
    op.create_table(
        "outbox_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_outbox_mails_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mails")),
    )
    op.create_index(
        op.f("ix_outbox_mails_organisation_id"), "outbox_mails", ["organisation_id"], unique=False
    )
    op.create_table(
        "record_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("to_organisation_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_by_user_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_record_shares_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["to_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_record_shares_to_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_shares")),
    )
    op.create_index(
        "ix_record_shares_record", "record_shares", ["record_type", "record_id"], unique=False
    )
    op.create_index(
        "ix_record_shares_to", "record_shares", ["to_organisation_id", "record_type"], unique=False
    )
    op.create_table(
        "shelters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available_places", sa.Integer(), nullable=False),
        sa.Column("accepts_minors", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_shelters_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelters")),
    )
    op.create_index(
        op.f("ix_shelters_organisation_id"), "shelters", ["organisation_id"], unique=False
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=120), nullable=False),
        sa.Column("birth_year_from", sa.Integer(), nullable=True),
        sa.Column("birth_year_to", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_subjects_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
    )
    op.create_index(
        op.f("ix_subjects_organisation_id"), "subjects", ["organisation_id"], unique=False
    )
    op.create_table(
        "agreement_parties",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_parties_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_agreement_parties_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint(
            "agreement_id", "organisation_id", name=op.f("pk_agreement_parties")
        ),
    )
    op.create_index(
        op.f("ix_agreement_parties_organisation_id"),
        "agreement_parties",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "emergency_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_emergency_accesses_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_emergency_accesses_owner_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_emergency_accesses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_accesses")),
    )
    op.create_index(
        op.f("ix_emergency_accesses_organisation_id"),
        "emergency_accesses",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_emergency_accesses_user_id"), "emergency_accesses", ["user_id"], unique=False
    )
    op.create_table(
        "joint_control_parts",
        sa.Column("control_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["control_id"],
            ["joint_controls.id"],
            name=op.f("fk_joint_control_parts_control_id_joint_controls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_joint_control_parts_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint(
            "control_id", "organisation_id", name=op.f("pk_joint_control_parts")
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notifications_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_organisation_id"), "notifications", ["organisation_id"], unique=False
    )
    op.create_index(
        "ix_notifications_user_read", "notifications", ["user_id", "read_at"], unique=False
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=48), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("suggested_subject_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contact_pseudonyms", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_signals_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_signals_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suggested_subject_id"],
            ["subjects.id"],
            name=op.f("fk_signals_suggested_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    op.create_index(
        op.f("ix_signals_organisation_id"), "signals", ["organisation_id"], unique=False
    )
    op.create_index(
        "ix_signals_organisation_observed",
        "signals",
        ["organisation_id", "observed_at"],
        unique=False,
    )
    op.create_index("ix_signals_region_status", "signals", ["region", "status"], unique=False)
    op.create_index(op.f("ix_signals_subject_id"), "signals", ["subject_id"], unique=False)
    op.create_table(
        "subject_contacts",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("masked", sa.String(length=40), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_subject_contacts_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "pseudonym", name=op.f("pk_subject_contacts")),
    )
    op.create_index(
        op.f("ix_subject_contacts_pseudonym"), "subject_contacts", ["pseudonym"], unique=False
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_cases_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_cases_owner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_cases_signal_id_signals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_cases_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_organisation_id"), "cases", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_cases_subject_id"), "cases", ["subject_id"], unique=False)
    op.create_table(
        "signal_personas",
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_runs.id"],
            name=op.f("fk_signal_personas_run_id_analysis_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_signal_personas_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "signal_id", "run_id", "persona_id", name=op.f("pk_signal_personas")
        ),
    )
    op.create_table(
        "aangifte_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accompanied_by_user_id", sa.Integer(), nullable=True),
        sa.Column("accompanied_by", sa.String(length=200), nullable=False),
        sa.Column("presence", sa.String(length=32), nullable=False),
        sa.Column("police_unit", sa.String(length=200), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["accompanied_by_user_id"],
            ["users.id"],
            name=op.f("fk_aangifte_supports_accompanied_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_aangifte_supports_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_aangifte_supports_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aangifte_supports")),
    )
    op.create_index(
        op.f("ix_aangifte_supports_case_id"), "aangifte_supports", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_aangifte_supports_organisation_id"),
        "aangifte_supports",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_case_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index("ix_case_events_case_at", "case_events", ["case_id", "at"], unique=False)
    op.create_index(
        op.f("ix_case_events_organisation_id"), "case_events", ["organisation_id"], unique=False
    )
    op.create_table(
        "outreach_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("joint_control_id", sa.Integer(), nullable=True),
        sa.Column("phone_pseudonym", sa.String(length=80), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("phone_masked", sa.String(length=40), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_outreach_contacts_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["joint_control_id"],
            ["joint_controls.id"],
            name=op.f("fk_outreach_contacts_joint_control_id_joint_controls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_outreach_contacts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_outreach_contacts_signal_id_signals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_outreach_contacts_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_contacts")),
    )
    op.create_index(
        op.f("ix_outreach_contacts_case_id"), "outreach_contacts", ["case_id"], unique=False
    )
    op.create_index(
        "ix_outreach_contacts_organisation_at",
        "outreach_contacts",
        ["organisation_id", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outreach_contacts_organisation_id"),
        "outreach_contacts",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outreach_contacts_subject_id"), "outreach_contacts", ["subject_id"], unique=False
    )
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("shelter_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_placements_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_placements_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["shelter_id"], ["shelters.id"], name=op.f("fk_placements_shelter_id_shelters")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_placements_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
    )
    op.create_index(
        op.f("ix_placements_organisation_id"), "placements", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_placements_shelter_id"), "placements", ["shelter_id"], unique=False)
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("to_organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_referrals_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_referrals_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_referrals_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_to_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_case_id"), "referrals", ["case_id"], unique=False)
    op.create_index(
        "ix_referrals_from_state", "referrals", ["organisation_id", "state"], unique=False
    )
    op.create_index(op.f("ix_referrals_signal_id"), "referrals", ["signal_id"], unique=False)
    op.create_index(op.f("ix_referrals_subject_id"), "referrals", ["subject_id"], unique=False)
    op.create_index(
        "ix_referrals_to_state", "referrals", ["to_organisation_id", "state"], unique=False
    )
    op.create_table(
        "vulnerability_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("prior_trauma", sa.Boolean(), nullable=True),
        sa.Column("intellectual_disability", sa.Boolean(), nullable=True),
        sa.Column("youth_care_history", sa.Boolean(), nullable=True),
        sa.Column("near_adulthood", sa.Boolean(), nullable=True),
        sa.Column("dependency", sa.Boolean(), nullable=True),
        sa.Column("language_barrier", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_vulnerability_assessments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_vulnerability_assessments_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vulnerability_assessments")),
    )
    op.create_index(
        op.f("ix_vulnerability_assessments_case_id"),
        "vulnerability_assessments",
        ["case_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_vulnerability_assessments_organisation_id"),
        "vulnerability_assessments",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "referral_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referral_events_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_events_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_events")),
    )
    op.create_index(
        op.f("ix_referral_events_referral_id"), "referral_events", ["referral_id"], unique=False
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_tasks_case_id_cases"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["outreach_contacts.id"],
            name=op.f("fk_tasks_contact_id_outreach_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_tasks_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_tasks_owner_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_tasks_signal_id_signals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_tasks_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_case_id"), "tasks", ["case_id"], unique=False)
    op.create_index(op.f("ix_tasks_organisation_id"), "tasks", ["organisation_id"], unique=False)
    op.create_index(
        "ix_tasks_organisation_status_due",
        "tasks",
        ["organisation_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(op.f("ix_tasks_owner_user_id"), "tasks", ["owner_user_id"], unique=False)
    op.add_column("organisations", sa.Column("region", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("region")
    op.drop_index(op.f("ix_tasks_owner_user_id"), table_name="tasks")
    op.drop_index("ix_tasks_organisation_status_due", table_name="tasks")
    op.drop_index(op.f("ix_tasks_organisation_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_case_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_referral_events_referral_id"), table_name="referral_events")
    op.drop_table("referral_events")
    op.drop_index(
        op.f("ix_vulnerability_assessments_organisation_id"), table_name="vulnerability_assessments"
    )
    op.drop_index(
        op.f("ix_vulnerability_assessments_case_id"), table_name="vulnerability_assessments"
    )
    op.drop_table("vulnerability_assessments")
    op.drop_index("ix_referrals_to_state", table_name="referrals")
    op.drop_index(op.f("ix_referrals_subject_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_signal_id"), table_name="referrals")
    op.drop_index("ix_referrals_from_state", table_name="referrals")
    op.drop_index(op.f("ix_referrals_case_id"), table_name="referrals")
    op.drop_table("referrals")
    op.drop_index(op.f("ix_placements_shelter_id"), table_name="placements")
    op.drop_index(op.f("ix_placements_organisation_id"), table_name="placements")
    op.drop_table("placements")
    op.drop_index(op.f("ix_outreach_contacts_subject_id"), table_name="outreach_contacts")
    op.drop_index(op.f("ix_outreach_contacts_organisation_id"), table_name="outreach_contacts")
    op.drop_index("ix_outreach_contacts_organisation_at", table_name="outreach_contacts")
    op.drop_index(op.f("ix_outreach_contacts_case_id"), table_name="outreach_contacts")
    op.drop_table("outreach_contacts")
    op.drop_index(op.f("ix_case_events_organisation_id"), table_name="case_events")
    op.drop_index("ix_case_events_case_at", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index(op.f("ix_aangifte_supports_organisation_id"), table_name="aangifte_supports")
    op.drop_index(op.f("ix_aangifte_supports_case_id"), table_name="aangifte_supports")
    op.drop_table("aangifte_supports")
    op.drop_table("signal_personas")
    op.drop_index(op.f("ix_cases_subject_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_organisation_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_index(op.f("ix_subject_contacts_pseudonym"), table_name="subject_contacts")
    op.drop_table("subject_contacts")
    op.drop_index(op.f("ix_signals_subject_id"), table_name="signals")
    op.drop_index("ix_signals_region_status", table_name="signals")
    op.drop_index("ix_signals_organisation_observed", table_name="signals")
    op.drop_index(op.f("ix_signals_organisation_id"), table_name="signals")
    op.drop_table("signals")
    op.drop_index("ix_notifications_user_read", table_name="notifications")
    op.drop_index(op.f("ix_notifications_organisation_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("joint_control_parts")
    op.drop_index(op.f("ix_emergency_accesses_user_id"), table_name="emergency_accesses")
    op.drop_index(op.f("ix_emergency_accesses_organisation_id"), table_name="emergency_accesses")
    op.drop_table("emergency_accesses")
    op.drop_index(op.f("ix_agreement_parties_organisation_id"), table_name="agreement_parties")
    op.drop_table("agreement_parties")
    op.drop_index(op.f("ix_subjects_organisation_id"), table_name="subjects")
    op.drop_table("subjects")
    op.drop_index(op.f("ix_shelters_organisation_id"), table_name="shelters")
    op.drop_table("shelters")
    op.drop_index("ix_record_shares_to", table_name="record_shares")
    op.drop_index("ix_record_shares_record", table_name="record_shares")
    op.drop_table("record_shares")
    op.drop_index(op.f("ix_outbox_mails_organisation_id"), table_name="outbox_mails")
    op.drop_table("outbox_mails")
    op.drop_index(op.f("ix_joint_controls_partner_organisation_id"), table_name="joint_controls")
    op.drop_index(op.f("ix_joint_controls_organisation_id"), table_name="joint_controls")
    op.drop_table("joint_controls")
    op.drop_index(op.f("ix_api_tokens_organisation_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_agreements_organisation_id"), table_name="agreements")
    op.drop_table("agreements")
