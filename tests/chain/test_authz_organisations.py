"""allowed() and the organisation boundary: a record of another organisation is refused for
every action but administration by a platform role; a data record without an owner is refused;
the system actor may do its few jobs and nothing else."""

from __future__ import annotations

import pytest

from signaal.chain.authz import (
    ADMINISTRATIVE_ACTIONS,
    SYSTEM,
    SYSTEM_ACTIONS,
    Action,
    Actor,
    Resource,
    allowed,
    is_data_action,
    roles,
)
from signaal.store.models import OrganisationKind

OWN, OTHER = 1, 2


def member(role: str, organisation_id: int = OWN) -> Actor:
    return Actor(10, f"{role}@example.test", organisation_id, OrganisationKind.GGD, role, False)


def granted() -> list[tuple[str, Action]]:
    """Every (role, action) that the role has, except the public action."""
    return [
        (name, action)
        for name, role in roles().items()
        for action in sorted(role.actions)
        if action is not Action.PUBLIC_VIEW
    ]


@pytest.mark.parametrize(("role", "action"), granted())
def test_no_action_reaches_a_record_of_another_organisation(role: str, action: Action) -> None:
    actor = member(role)
    own = Resource("record", "r-1", organisation_id=OWN)
    other = Resource("record", "r-1", organisation_id=OTHER)
    if action is Action.MANAGE_OWN_ACCOUNT:
        own = Resource("user", "10", organisation_id=OWN)
        other = Resource("user", "10", organisation_id=OTHER)
    assert allowed(actor, action, own)
    crosses = action in ADMINISTRATIVE_ACTIONS and roles()[role].scope == "platform"
    assert allowed(actor, action, other) is crosses


def test_only_administration_by_a_platform_role_crosses_organisations() -> None:
    platform = member("platform_administrator")
    for action in ADMINISTRATIVE_ACTIONS:
        assert allowed(platform, action, Resource("user", "5", organisation_id=OTHER))
    # Platform scope is no key to data: a platform role given an analysis action still stays
    # inside its own organisation for it (the rule does not depend on roles.json).
    assert not any(is_data_action(action) for action in ADMINISTRATIVE_ACTIONS)


@pytest.mark.parametrize(("role", "action"), [(r, a) for r, a in granted() if is_data_action(a)])
def test_a_data_record_without_an_owner_is_refused(role: str, action: Action) -> None:
    actor = member(role)
    assert allowed(actor, action)  # may do it at all (in the own organisation)
    assert not allowed(actor, action, Resource("persona", "P-1", organisation_id=None))
    assert allowed(actor, action, Resource("persona", "P-1", organisation_id=OWN))


def test_every_analysis_and_chain_action_is_a_data_action() -> None:
    # The triage queue, its labels, the local figures and the ingested ads are the ad
    # monitor's work on analyses: data too.
    analysis_actions = {
        a
        for a in Action
        if a.value.split(".")[0] in {"analysis", "triage", "local", "watchlist", "ads"}
    }
    # Revealing a contact point of a run is data too, and so is every chain action on persons
    # (the shelter directory holds no person and the dashboard only counts).
    chain_actions = {
        a
        for a in Action
        if a.value.split(".")[0]
        in {
            "signals",
            "subjects",
            "cases",
            "tasks",
            "referrals",
            "placements",
            "controls",
            "agreements",
            "records",
            "emergency",
            "contact_requests",
            "watches",
            "retention",
            "matching",
        }
        or a is Action.MANAGE_SHELTERS
    }
    assert analysis_actions | {Action.REVEAL_CONTACTS} | chain_actions == {
        a for a in Action if is_data_action(a)
    }
    assert {Action.VIEW_ANALYSIS, Action.VIEW_ANALYSIS_DETAIL, Action.STORE_ANALYSIS} <= (
        analysis_actions
    )


@pytest.mark.parametrize("action", list(Action))
def test_the_system_does_its_jobs_and_nothing_else(action: Action) -> None:
    for organisation_id in (OWN, OTHER):
        on_record = Resource("analysis_run", "7", organisation_id=organisation_id)
        expected = action in SYSTEM_ACTIONS or action is Action.PUBLIC_VIEW
        assert allowed(SYSTEM, action, on_record) is expected
    if action in SYSTEM_ACTIONS and is_data_action(action):
        assert not allowed(SYSTEM, action, Resource("analysis_run", "7", organisation_id=None))


def test_the_system_actions_are_few_and_never_read_data() -> None:
    # Storing and purging analyses, the operator's account and API-token administration on the
    # server, the reminder job (marks due tasks reminded; it reads no record for anyone) and the
    # protective watch's jobs (compare a stored run with the watches, notifying the watchers with
    # counts only; delete expired watches), the export of triage labels and the daily ingest
    # of ads (which writes ads and runs, and shows no one anything).
    assert {
        Action.STORE_ANALYSIS,
        Action.PURGE_ANALYSIS,
        Action.INGEST_ADS,
        Action.MANAGE_ORGANISATIONS,
        Action.MANAGE_USERS,
        Action.REMIND_TASKS,
        Action.MANAGE_API_TOKENS,
        Action.CHECK_WATCHES,
        Action.EXPIRE_WATCHES,
        # Calibration labels (ad ids and true/false) of an organisation's triage decisions.
        Action.EXPORT_TRIAGE_LABELS,
        # Retention: deletes what is past its period, counting per category.
        Action.ENFORCE_RETENTION,
        # Watchlists: compare a stored run with its organisation's watches (alerts for their
        # users) and mail "there is an alert" without any content.
        Action.CHECK_WATCHLISTS,
        Action.MAIL_WATCHLIST_ALERTS,
        # The match service's sync: encodings out, withdrawals out, hits (names) in.
        Action.SYNC_REMOTE_MATCHES,
    } == SYSTEM_ACTIONS
    assert not allowed(SYSTEM, Action.VIEW_TRIAGE)
    assert not allowed(SYSTEM, Action.VIEW_ANALYSIS)
    assert not allowed(SYSTEM, Action.VIEW_ANALYSIS_DETAIL)
    assert not allowed(SYSTEM, Action.REVEAL_CONTACTS)
    assert not allowed(SYSTEM, Action.VIEW_AUDIT)
    # A person's access or erasure request is answered by a person of her organisation.
    assert not allowed(SYSTEM, Action.REPORT_SUBJECTS)
    assert not allowed(SYSTEM, Action.ERASE_SUBJECTS)
    assert not allowed(SYSTEM, Action.HOLD_SUBJECTS)


def test_a_user_named_system_is_not_the_system() -> None:
    impostor = Actor(0, "system", 0, None, "system", False)
    assert [a for a in Action if allowed(impostor, a)] == [Action.PUBLIC_VIEW]
    assert not allowed(impostor, Action.STORE_ANALYSIS, Resource("analysis_run", None, 1))


def test_no_role_may_purge_analyses() -> None:
    """Purging is a retention job of the system, not something a user does."""
    for name in roles():
        assert not allowed(member(name), Action.PURGE_ANALYSIS)


def test_no_role_may_enforce_retention() -> None:
    """Retention per category is a job of the system, like purging analyses."""
    for name in roles():
        assert not allowed(member(name), Action.ENFORCE_RETENTION)


def test_data_subject_requests_reach_only_the_own_organisations_subject() -> None:
    """Access, erasure and the legal hold are not shared actions: a subject shared with the
    actor's organisation, or read under an emergency access, stays the owner's to answer for."""
    for name in ("care_coordinator", "outreach_worker", "police_officer", "youth_care_worker"):
        worker = member(name)
        for action in (Action.REPORT_SUBJECTS, Action.ERASE_SUBJECTS, Action.HOLD_SUBJECTS):
            own = Resource("subject", "1", organisation_id=worker.organisation_id)
            shared = Resource(
                "subject",
                "2",
                organisation_id=worker.organisation_id + 1,
                shared_with=frozenset({worker.organisation_id}),
                emergency=True,
            )
            assert allowed(worker, action, own)
            assert not allowed(worker, action, shared)
