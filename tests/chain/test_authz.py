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
        A.MANAGE_OWN_ACCOUNT,
    },
    "analyst": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.REVEAL_CONTACTS,
        A.STORE_ANALYSIS,
        A.MANAGE_OWN_ACCOUNT,
    },
    "care_coordinator": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.MANAGE_OWN_ACCOUNT,
    },
    "outreach_worker": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.REVEAL_CONTACTS,
        A.MANAGE_OWN_ACCOUNT,
    },
    "police_officer": {
        A.PUBLIC_VIEW,
        A.VIEW_DASHBOARD,
        A.VIEW_ANALYSIS,
        A.VIEW_ANALYSIS_DETAIL,
        A.REVEAL_CONTACTS,
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
