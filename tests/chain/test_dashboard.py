"""The coordinator's dashboard (signaal.chain.dashboard): counts of exactly what the actor may
see (checked record by record against visibility.basis), overdue follow-ups, time to first
contact; and its pure parts on their own."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import dashboard, visibility
from signaal.chain.accounts import DEMO_ORGANISATIONS, seed_demo
from signaal.chain.authz import Actor
from signaal.errors import PermissionDenied
from signaal.store.models import (
    Case,
    Organisation,
    OrganisationKind,
    OutreachContact,
    Referral,
    Signal,
    Task,
)
from signaal.synth.chain import seed_chain_demo

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _actor(session: Session, kind: OrganisationKind, role: str = "care_coordinator") -> Actor:
    organisation = session.scalars(
        select(Organisation).where(Organisation.name == DEMO_ORGANISATIONS[kind])
    ).one()
    return Actor(9000 + organisation.id, "x@example.test", organisation.id, kind, role, True)


@pytest.fixture
def demo(db_session: Session) -> Session:
    seed_demo(db_session)
    seed_chain_demo(db_session, pseudonym_key="k" * 40, contact_key="c" * 40, now=NOW)
    db_session.commit()
    return db_session


@pytest.mark.parametrize(
    "kind", [OrganisationKind.CARE_COORDINATION, OrganisationKind.GGD, OrganisationKind.SHELTER]
)
def test_the_counts_are_those_of_the_records_the_actor_may_see(
    demo: Session, kind: OrganisationKind
) -> None:
    actor = _actor(demo, kind)
    board = dashboard.build(demo, actor, now=NOW)
    start = dashboard.month_start(NOW)
    visible_signals = [
        s
        for s in demo.scalars(select(Signal))
        if visibility.basis(demo, actor, s, now=NOW) is not None
    ]
    this_month = [s for s in visible_signals if s.observed_at >= start]
    assert {r.key: r.count for r in board.signals_by_source} == Counter(
        s.source for s in this_month
    )
    assert {r.key: r.count for r in board.signals_by_municipality} == Counter(
        s.municipality or "" for s in this_month
    )
    assert board.signals_this_month == len(this_month)
    visible_cases = [
        c for c in demo.scalars(select(Case)) if visibility.basis(demo, actor, c, now=NOW)
    ]
    expected_stages = Counter(c.stage for c in visible_cases if c.stage != "closed")
    assert {r.key: r.count for r in board.open_cases_by_stage if r.count} == expected_stages
    overdue = {r.key: r.count for r in board.overdue}
    assert overdue["tasks"] == sum(
        1
        for t in demo.scalars(select(Task))
        if t.organisation_id == actor.organisation_id and t.status == "open" and t.due_at < NOW
    )
    late = [
        r
        for r in demo.scalars(select(Referral))
        if r.state == "in_progress" and r.due_at is not None and r.due_at < NOW
    ]
    assert overdue["referrals_sent"] == sum(
        r.organisation_id == actor.organisation_id for r in late
    )
    assert overdue["referrals_received"] == sum(
        r.to_organisation_id == actor.organisation_id for r in late
    )


def test_the_coordinator_sees_the_region_through_the_agreement(demo: Session) -> None:
    coordinator = _actor(demo, OrganisationKind.CARE_COORDINATION)
    board = dashboard.build(demo, coordinator, now=NOW)
    assert board.signals_this_month > 0
    # The agreement lets her count signals of other organisations too.
    own = demo.scalars(
        select(Signal).where(
            Signal.organisation_id == coordinator.organisation_id,
            Signal.observed_at >= dashboard.month_start(NOW),
        )
    ).all()
    assert board.signals_this_month > len(own)
    # Stages are listed in their order, every open stage once.
    assert [r.key for r in board.open_cases_by_stage][:7] == [
        "signal",
        "assessment",
        "contact_made",
        "help_requested",
        "safe_place",
        "aangifte_support",
        "aftercare",
    ]
    summary = board.first_contact
    assert summary.with_contact > 0
    assert summary.median_hours is not None
    assert summary.p90_hours is not None
    assert summary.median_hours <= summary.p90_hours


def test_only_a_role_with_the_dashboard_may_build_it(demo: Session) -> None:
    with pytest.raises(PermissionDenied):
        dashboard.build(demo, _actor(demo, OrganisationKind.OUTREACH, "outreach_worker"), now=NOW)


def test_the_time_to_first_contact_matches_the_records(demo: Session) -> None:
    coordinator = _actor(demo, OrganisationKind.CARE_COORDINATION)
    since = NOW - dashboard.FIRST_CONTACT_WINDOW
    signals = [
        s
        for s in demo.scalars(select(Signal))
        if s.subject_id is not None
        and s.observed_at >= since
        and visibility.basis(demo, coordinator, s, now=NOW) is not None
    ]
    contacts = demo.scalars(select(OutreachContact)).all()
    case_signal = {c.id: c.signal_id for c in demo.scalars(select(Case)) if c.signal_id}
    hours: list[float] = []
    for signal in signals:
        times = [
            c.at
            for c in contacts
            if c.at >= signal.observed_at
            and (
                c.subject_id == signal.subject_id
                or c.signal_id == signal.id
                or (c.case_id is not None and case_signal.get(c.case_id) == signal.id)
            )
        ]
        if times:
            hours.append((min(times) - signal.observed_at).total_seconds() / 3600)
    summary = dashboard.build(demo, coordinator, now=NOW).first_contact
    assert summary.signals == len(signals)
    assert summary.with_contact == len(hours)
    assert summary.median_hours == round(dashboard.median(hours), 1)
    assert summary.p90_hours == round(dashboard.percentile(hours, 0.9), 1)


# ----------------------------------------------------------------------------------------------
# Pure parts


def test_percentile_is_nearest_rank_and_median_averages_the_middle() -> None:
    values = [float(v) for v in range(1, 11)]
    assert dashboard.percentile(values, 0.9) == 9.0
    assert dashboard.percentile(values, 1.0) == 10.0
    assert dashboard.percentile([5.0], 0.9) == 5.0
    assert dashboard.median([3.0, 1.0, 2.0]) == 2.0
    assert dashboard.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError, match="no values"):
        dashboard.percentile([], 0.5)
    with pytest.raises(ValueError, match="no values"):
        dashboard.median([])


def test_first_contact_counts_only_later_contacts_that_concern_the_signal() -> None:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    signals = [
        dashboard.SignalFacts(1, t0, 10),
        dashboard.SignalFacts(2, t0, 20),
        dashboard.SignalFacts(3, t0, 30),
        dashboard.SignalFacts(4, t0, None),
    ]
    contacts = [
        dashboard.ContactFacts(t0 - timedelta(hours=1), 10, None, None),  # before: not counted
        dashboard.ContactFacts(t0 + timedelta(hours=5), 10, None, None),
        dashboard.ContactFacts(t0 + timedelta(hours=3), 10, None, None),  # the first
        dashboard.ContactFacts(t0 + timedelta(hours=8), None, None, 77),  # via the case of 2
        dashboard.ContactFacts(t0 + timedelta(hours=2), 99, None, None),  # another subject
        dashboard.ContactFacts(t0 + timedelta(hours=4), None, 4, None),  # names signal 4
    ]
    delays = dashboard.first_contact_delays(signals, contacts, {77: 2})
    assert delays == [timedelta(hours=3), timedelta(hours=8), timedelta(hours=4)]
    summary = dashboard.summarise_delays(4, delays)
    assert summary.with_contact == 3
    assert summary.median_hours == 4.0
    assert summary.p90_hours == 8.0
    empty = dashboard.summarise_delays(2, [])
    assert (empty.with_contact, empty.median_hours, empty.p90_hours) == (0, None, None)


def test_the_month_starts_on_the_first_at_midnight() -> None:
    assert dashboard.month_start(NOW) == datetime(2026, 11, 1, tzinfo=UTC)
