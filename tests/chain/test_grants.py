"""Who may grant which role where, and change which account: data in roles.json, decided by
``may_assign_role`` and ``may_manage_user`` (no database needed here)."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from signaal.chain.authz import (
    Actor,
    may_assign_role,
    may_manage_user,
    parse_roles,
    roles,
)
from signaal.errors import ConfigurationError
from signaal.store.models import OrganisationKind

K = OrganisationKind
ROLES_DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"

# Written out by hand: what an organisation administrator may give, per kind of organisation.
ADMINISTRATOR_GRANTS: dict[OrganisationKind, set[str]] = {
    K.POLICE: {"administrator", "analyst", "police_officer", "viewer"},
    K.OUTREACH: {"administrator", "outreach_worker", "viewer"},
    K.CARE_COORDINATION: {
        "administrator",
        "analyst",
        "care_coordinator",
        "outreach_worker",
        "viewer",
    },
    K.GGD: {
        "administrator",
        "analyst",
        "care_coordinator",
        "outreach_worker",
        "signal_reporter",
        "viewer",
    },
    K.MUNICIPALITY: {
        "administrator",
        "analyst",
        "care_coordinator",
        "signal_reporter",
        "policy_officer",
        "viewer",
    },
    K.HOUSING: {"administrator", "signal_reporter", "viewer"},
    K.SHELTER: {
        "administrator",
        "care_coordinator",
        "outreach_worker",
        "shelter_worker",
        "viewer",
    },
    K.YOUTH_CARE: {"administrator", "youth_care_worker", "signal_reporter", "viewer"},
}


def actor(role: str, kind: OrganisationKind, organisation_id: int = 1, user_id: int = 10) -> Actor:
    return Actor(
        user_id=user_id,
        email=f"{role}@example.test",
        organisation_id=organisation_id,
        organisation_kind=kind,
        role=role,
        is_demo=False,
    )


def account(user_id: int, role: str, organisation_id: int = 1):  # type: ignore[no-untyped-def]
    """Just what may_manage_user reads of a user."""
    return SimpleNamespace(id=user_id, role=role, organisation_id=organisation_id)


@pytest.mark.parametrize("kind", list(OrganisationKind))
def test_an_administrator_grants_exactly_the_roles_of_her_organisation_kind(
    kind: OrganisationKind,
) -> None:
    admin = actor("administrator", kind)
    granted = {name for name in roles() if may_assign_role(admin, name, kind)}
    assert granted == ADMINISTRATOR_GRANTS[kind]


@pytest.mark.parametrize("kind", list(OrganisationKind))
def test_the_platform_administrator_also_grants_her_own_role(kind: OrganisationKind) -> None:
    platform = actor("platform_administrator", K.MUNICIPALITY)
    granted = {name for name in roles() if may_assign_role(platform, name, kind)}
    assert granted == ADMINISTRATOR_GRANTS[kind] | {"platform_administrator"}


@pytest.mark.parametrize(
    "role", ["analyst", "care_coordinator", "outreach_worker", "police_officer", "viewer"]
)
def test_roles_without_user_management_grant_nothing(role: str) -> None:
    who = actor(role, K.GGD)
    assert not [name for name in roles() if may_assign_role(who, name, K.GGD)]


def test_pen_test_housing_administrator_cannot_make_an_analyst() -> None:
    housing_admin = actor("administrator", K.HOUSING)
    assert not may_assign_role(housing_admin, "analyst", K.HOUSING)
    assert not may_assign_role(housing_admin, "platform_administrator", K.HOUSING)
    assert not may_assign_role(None, "viewer", K.HOUSING)
    assert not may_assign_role(housing_admin, "no_such_role", K.HOUSING)


def test_pen_test_organisation_administrator_cannot_touch_the_platform_administrator() -> None:
    admin = actor("administrator", K.GGD, organisation_id=1, user_id=10)
    # In her own organisation (as in the pen test) and in another one.
    assert not may_manage_user(admin, account(1, "platform_administrator", organisation_id=1))
    assert not may_manage_user(admin, account(1, "platform_administrator", organisation_id=2))


def test_nobody_manages_her_own_account() -> None:
    for role in ("administrator", "platform_administrator"):
        me = actor(role, K.GGD, user_id=10)
        assert not may_manage_user(me, account(10, role))


def test_administrator_manages_only_her_own_organisation() -> None:
    admin = actor("administrator", K.GGD, organisation_id=1)
    assert may_manage_user(admin, account(11, "viewer", organisation_id=1))
    assert may_manage_user(admin, account(12, "administrator", organisation_id=1))
    assert not may_manage_user(admin, account(13, "viewer", organisation_id=2))
    platform = actor("platform_administrator", K.MUNICIPALITY, organisation_id=3)
    assert may_manage_user(platform, account(13, "viewer", organisation_id=2))
    assert may_manage_user(platform, account(14, "platform_administrator", organisation_id=2))
    assert not may_manage_user(actor("analyst", K.GGD), account(11, "viewer"))
    assert not may_manage_user(None, account(11, "viewer"))


def test_an_account_whose_role_does_not_fit_can_still_be_deactivated() -> None:
    """An analyst made in a housing corporation before this rule must not be untouchable."""
    admin = actor("administrator", K.HOUSING)
    assert may_manage_user(admin, account(11, "analyst"))
    assert not may_assign_role(admin, "analyst", K.HOUSING)


# -- the data itself ------------------------------------------------------------------------------


def _document() -> dict[str, object]:
    text = (resources.files("signaal.chain") / "roles.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def _broken(change) -> dict[str, object]:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(_document())
    change(data["roles"])
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["viewer"].__setitem__("granted_by", ["nobody"]), "unknown role 'nobody'"),
        (lambda r: r["viewer"].__setitem__("granted_by", ["analyst"]), "lacks users.manage"),
        (
            lambda r: r["platform_administrator"].__setitem__("granted_by", ["administrator"]),
            "lower rank",
        ),
        (lambda r: r["viewer"].__setitem__("rank", -1), "rank must be"),
        (lambda r: r["viewer"].pop("rank"), "rank must be"),
        (lambda r: r["viewer"].__setitem__("rank", True), "rank must be"),
        (lambda r: r["viewer"].__setitem__("granted_by", "administrator"), "granted_by must be"),
        (lambda r: r["viewer"].pop("granted_by"), "granted_by must be"),
    ],
)
def test_contradicting_grant_data_is_refused_with_the_role_named(change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        parse_roles(_broken(change))


def test_only_a_platform_role_grants_a_platform_role() -> None:
    def change(r):  # type: ignore[no-untyped-def]
        r["administrator"]["rank"] = 100
        r["platform_administrator"]["granted_by"] = ["administrator"]

    with pytest.raises(ConfigurationError, match="platform scope"):
        parse_roles(_broken(change))


def test_the_shipped_data_parses() -> None:
    assert parse_roles(_document()).keys() == roles().keys()


def test_docs_roles_table_matches_roles_json() -> None:
    rows = {}
    for line in ROLES_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| [^|]+ \| ([^|]+) \| (\d+) \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = match.groups()[1:]
    assert rows.keys() == roles().keys()
    for name, definition in roles().items():
        kinds, rank, granted_by = rows[name]
        assert int(rank) == definition.rank, name
        granters = {g.strip() for g in granted_by.split(",")} - {"— (API tokens only)"}
        assert granters == definition.granted_by, name
        if definition.organisation_kinds is None:
            assert kinds.strip().startswith("any"), name
        else:
            assert {k.strip() for k in kinds.split(",")} == {
                k.value for k in definition.organisation_kinds
            }, name
