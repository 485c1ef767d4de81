"""allowed() as a matrix: every role × every action, plus the organisation and ownership rules."""

from __future__ import annotations

import pytest

from signaal.chain.authz import (
    Action,
    Actor,
    Resource,
    allowed,
    may_assign_role,
    roles,
)
from signaal.store.models import OrganisationKind

A = Action
# What every role that works on persons in the chain may do with the own organisation's records.
CHAIN_WORK = {
    A.VIEW_SIGNALS,
    A.CREATE_SIGNALS,
    A.VIEW_SUBJECTS,
    A.MANAGE_SUBJECTS,
    A.VIEW_CASES,
    A.MANAGE_CASES,
    A.MANAGE_TASKS,
    A.DECIDE_REFERRALS,
    A.VIEW_SHELTERS,
    A.VIEW_AGREEMENTS,
    A.SHARE_RECORDS,
}
# Contact requests on a hit: the roles that work on persons in the chain, not integrations.
CONTACT = {A.SEND_CONTACT_REQUESTS, A.ANSWER_CONTACT_REQUESTS}
# Data-subject requests (access, erasure) and the legal hold: the roles that work on persons.
SUBJECT_REQUESTS = {A.HOLD_SUBJECTS, A.REPORT_SUBJECTS, A.ERASE_SUBJECTS}
# Working through the ad monitor's triage queue (the roles that open personas).
TRIAGE_WORK = {A.VIEW_TRIAGE, A.DECIDE_TRIAGE}
# Watchlists: the roles that open personas watch them (and networks and contact points).
WATCHLIST = {A.WATCH_ITEMS}
# The expected permissions, written out by hand: a change to roles.json must change this table.
EXPECTED: dict[str, set[Action]] = {
    "platform_administrator": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.MANAGE_USERS,
        A.MANAGE_ORGANISATIONS,
        A.VIEW_AUDIT,
        A.MANAGE_OWN_ACCOUNT,
    },
    "administrator": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.MANAGE_USERS,
        A.VIEW_AUDIT,
        A.VIEW_AGREEMENTS,
        A.MANAGE_AGREEMENTS,
        A.MANAGE_CONTACT_ROUTE,
        A.MANAGE_OWN_ACCOUNT,
    },
    "analyst": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_LOCAL_PICTURE,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.EXPORT_EVIDENCE,
        *TRIAGE_WORK,
        *WATCHLIST,
        A.REVEAL_CONTACTS,
        A.STORE_ANALYSIS,
        A.MANAGE_OWN_ACCOUNT,
    },
    "care_coordinator": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_LOCAL_PICTURE,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.EXPORT_EVIDENCE,
        *TRIAGE_WORK,
        *WATCHLIST,
        A.MANAGE_OWN_ACCOUNT,
        *CHAIN_WORK,
        A.ROUTE_SIGNALS,
        A.MANAGE_PLACEMENTS,
        A.EMERGENCY_ACCESS,
        A.VIEW_CHAIN_DASHBOARD,
        *CONTACT,
        *SUBJECT_REQUESTS,
        A.MANAGE_WATCHES,
    },
    "outreach_worker": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        *TRIAGE_WORK,
        *WATCHLIST,
        A.REVEAL_CONTACTS,
        A.MANAGE_OWN_ACCOUNT,
        *CHAIN_WORK,
        A.MANAGE_PLACEMENTS,
        A.MANAGE_CONTROLS,
        A.EMERGENCY_ACCESS,
        *CONTACT,
        *SUBJECT_REQUESTS,
    },
    "police_officer": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.EXPORT_EVIDENCE,
        *TRIAGE_WORK,
        *WATCHLIST,
        A.REVEAL_CONTACTS,
        A.MANAGE_OWN_ACCOUNT,
        *CHAIN_WORK,
        A.MANAGE_CONTROLS,
        A.EMERGENCY_ACCESS,
        *CONTACT,
        *SUBJECT_REQUESTS,
    },
    "youth_care_worker": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.MANAGE_OWN_ACCOUNT,
        *CHAIN_WORK,
        A.MANAGE_PLACEMENTS,
        *CONTACT,
        *SUBJECT_REQUESTS,
        A.MANAGE_WATCHES,
    },
    "shelter_worker": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.MANAGE_OWN_ACCOUNT,
        A.VIEW_SIGNALS,
        A.VIEW_SUBJECTS,
        A.VIEW_CASES,
        A.MANAGE_CASES,
        A.MANAGE_TASKS,
        A.DECIDE_REFERRALS,
        A.VIEW_SHELTERS,
        A.MANAGE_SHELTERS,
        A.MANAGE_PLACEMENTS,
        A.VIEW_AGREEMENTS,
    },
    "signal_reporter": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_SIGNALS,
        A.CREATE_SIGNALS,
        A.MANAGE_OWN_ACCOUNT,
    },
    "integration": {
        A.PUBLIC_VIEW,
        A.VIEW_SIGNALS,
        A.CREATE_SIGNALS,
        A.VIEW_SUBJECTS,
        A.MANAGE_SUBJECTS,
        A.VIEW_CASES,
        A.MANAGE_TASKS,
        A.VIEW_SHELTERS,
        A.VIEW_AGREEMENTS,
    },
    # Aggregated local figures only: no persona, no ad, no contact point.
    "policy_officer": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_LOCAL_FIGURES,
        A.VIEW_LOCAL_PICTURE,
        A.MANAGE_OWN_ACCOUNT,
    },
    "viewer": {A.PUBLIC_VIEW, A.VIEW_DASHBOARD, A.VIEW_ANALYSIS, A.MANAGE_OWN_ACCOUNT},
    "anonymous": {A.PUBLIC_VIEW},
}


def actor(role: str, organisation_id: int = 1, user_id: int = 10) -> Actor:
    return Actor(
        user_id=user_id,
        email=f"{role}@example.test",
        organisation_id=organisation_id,
        organisation_kind=OrganisationKind.POLICE,
        role=role,
        is_demo=False,
    )


def test_the_table_covers_every_role() -> None:
    assert set(EXPECTED) - {"anonymous"} == set(roles())


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("action", list(Action))
def test_matrix(role: str, action: Action) -> None:
    who = None if role == "anonymous" else actor(role)
    assert allowed(who, action) is (action in EXPECTED[role])


@pytest.mark.parametrize("action", [A.MANAGE_USERS, A.VIEW_AUDIT])
def test_administrators_act_only_within_their_organisation(action: Action) -> None:
    admin = actor("administrator", organisation_id=1)
    assert allowed(admin, action, Resource("user", "5", organisation_id=1))
    assert not allowed(admin, action, Resource("user", "5", organisation_id=2))
    platform = actor("platform_administrator", organisation_id=1)
    assert allowed(platform, action, Resource("user", "5", organisation_id=2))


def test_contact_points_are_revealed_only_for_runs_of_the_own_organisation() -> None:
    for role in ("analyst", "outreach_worker", "police_officer"):
        worker = actor(role, organisation_id=1)
        own = Resource("contact_point", "phone:0123456789abcdef", organisation_id=1)
        other = Resource("contact_point", "phone:0123456789abcdef", organisation_id=2)
        assert allowed(worker, A.REVEAL_CONTACTS, own)
        assert not allowed(worker, A.REVEAL_CONTACTS, other)
    for role in ("viewer", "care_coordinator", "administrator", "platform_administrator"):
        own = Resource("contact_point", "phone:0123456789abcdef", organisation_id=1)
        assert not allowed(actor(role, organisation_id=1), A.REVEAL_CONTACTS, own)


def test_own_account_only() -> None:
    me = actor("viewer", user_id=10)
    assert allowed(me, A.MANAGE_OWN_ACCOUNT, Resource("user", "10"))
    assert not allowed(me, A.MANAGE_OWN_ACCOUNT, Resource("user", "11"))


def test_unknown_role_may_do_nothing_but_public() -> None:
    ghost = actor("chief_of_everything")
    assert [a for a in Action if allowed(ghost, a)] == [A.PUBLIC_VIEW]


def test_role_assignment_cannot_widen_scope() -> None:
    admin = actor("administrator")
    assert may_assign_role(admin, "police_officer")
    assert may_assign_role(admin, "administrator")
    assert not may_assign_role(admin, "platform_administrator")
    assert not may_assign_role(admin, "no_such_role")
    assert may_assign_role(actor("platform_administrator"), "platform_administrator")
    assert not may_assign_role(actor("analyst"), "viewer")
    assert not may_assign_role(None, "viewer")


def test_every_role_has_dutch_and_english_labels_and_fits_some_organisation() -> None:
    for definition in roles().values():
        assert definition.label_for("nl")
        assert definition.label_for("en")
        assert definition.description["nl"]
        assert any(definition.fits(kind) for kind in OrganisationKind)
    assert roles()["police_officer"].label_for("nl") == "Politiemedewerker"
    assert roles()["viewer"].label_for("de") == "Viewer"  # falls back to English


def test_a_shared_record_of_another_organisation_may_be_read_and_never_changed() -> None:
    worker = actor("outreach_worker", organisation_id=1)
    foreign = Resource("signal", "7", organisation_id=2)
    shared = Resource("signal", "7", organisation_id=2, shared_with=frozenset({1}))
    elsewhere = Resource("signal", "7", organisation_id=2, shared_with=frozenset({3}))
    assert not allowed(worker, A.VIEW_SIGNALS, foreign)
    assert allowed(worker, A.VIEW_SIGNALS, shared)
    assert not allowed(worker, A.VIEW_SIGNALS, elsewhere)
    for change in (A.MANAGE_CASES, A.MANAGE_SUBJECTS, A.SHARE_RECORDS, A.MANAGE_TASKS):
        assert not allowed(worker, change, shared)
    # Sharing never widens a role: a signal reporter reads no subject, shared or not.
    reporter = actor("signal_reporter", organisation_id=1)
    subject = Resource("subject", "3", organisation_id=2, shared_with=frozenset({1}))
    assert not allowed(reporter, A.VIEW_SUBJECTS, subject)


def test_an_emergency_access_opens_reading_only() -> None:
    officer = actor("police_officer", organisation_id=1)
    case = Resource("case", "4", organisation_id=2, emergency=True)
    assert allowed(officer, A.VIEW_CASES, case)
    assert not allowed(officer, A.MANAGE_CASES, case)
    assert not allowed(officer, A.DECIDE_REFERRALS, Resource("referral", "4", 2, emergency=True))


def test_chain_records_without_an_owner_are_nobodys() -> None:
    coordinator = actor("care_coordinator", organisation_id=1)
    assert not allowed(coordinator, A.VIEW_SIGNALS, Resource("signal", "999"))
    assert not allowed(
        coordinator, A.VIEW_SIGNALS, Resource("signal", "999", shared_with=frozenset({1}))
    )
