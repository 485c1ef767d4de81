"""The coordinator's dashboard: counts over the chain records an actor may see.

Counts only, never a name, a text or a contact point. Signals and cases are counted through
:func:`signaal.chain.visibility.visible_clause` (exactly what the actor's lists would show);
tasks belong to the actor's own organisation (the team's follow-ups), referrals to the
organisations that sent or received them.

* signals this month by source and by municipality (``observed_at`` in the current calendar month,
  UTC);
* open cases (every stage but ``closed``) by stage, in the order of the stages;
* overdue follow-ups: open tasks past their due date, referrals still in progress past theirs
  (sent and received apart);
* time from signal to first contact: for each visible signal of the last
  :data:`FIRST_CONTACT_WINDOW` with a subject, the first outreach contact after the signal with
  that subject, or in a case opened for the signal, or naming the signal; median and 90th
  percentile (nearest rank) in hours, over the signals that have such a contact.

The aggregation is split in queries (thin) and pure functions (:func:`first_contact_delays`,
:func:`percentile`, :func:`summarise_delays`) that tests check on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from signaal.chain import catalogue
from signaal.chain.authz import Action, Actor, allowed
from signaal.chain.visibility import visible_clause
from signaal.errors import PermissionDenied
from signaal.store.models import Case, OutreachContact, Referral, Signal, Task, utcnow

FIRST_CONTACT_WINDOW = timedelta(days=365)
UNKNOWN = ""  # a signal without a municipality


@dataclass(frozen=True)
class Count:
    """One bar: a code (source, municipality, stage, kind of overdue follow-up) and its count."""

    key: str
    count: int


@dataclass(frozen=True)
class DelaySummary:
    """Time from signal to first contact, in hours (None when no signal has a contact)."""

    signals: int  # visible signals with a subject in the window
    with_contact: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class Dashboard:
    month_start: datetime
    signals_by_source: list[Count]
    signals_by_municipality: list[Count]
    open_cases_by_stage: list[Count]
    overdue: list[Count]
    first_contact: DelaySummary

    @property
    def signals_this_month(self) -> int:
        return sum(row.count for row in self.signals_by_source)


OVERDUE_KINDS: tuple[str, ...] = ("tasks", "referrals_sent", "referrals_received")


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty; ``share`` in (0, 1])."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class SignalFacts:
    id: int
    observed_at: datetime
    subject_id: int | None


@dataclass(frozen=True)
class ContactFacts:
    at: datetime
    subject_id: int | None
    signal_id: int | None
    case_id: int | None


def first_contact_delays(
    signals: Iterable[SignalFacts],
    contacts: Iterable[ContactFacts],
    case_signal: Mapping[int, int],
) -> list[timedelta]:
    """For each signal, the time to the first contact at or after it that concerns it (same
    subject, a case opened for the signal — ``case_signal`` maps case id to signal id — or the
    signal named); signals without such a contact are left out."""
    contact_list = list(contacts)
    delays: list[timedelta] = []
    for signal in signals:
        first: datetime | None = None
        for contact in contact_list:
            if contact.at < signal.observed_at:
                continue
            concerns = (
                (signal.subject_id is not None and contact.subject_id == signal.subject_id)
                or contact.signal_id == signal.id
                or (contact.case_id is not None and case_signal.get(contact.case_id) == signal.id)
            )
            if concerns and (first is None or contact.at < first):
                first = contact.at
        if first is not None:
            delays.append(first - signal.observed_at)
    return delays


def summarise_delays(signals: int, delays: Sequence[timedelta]) -> DelaySummary:
    hours = [delay.total_seconds() / 3600 for delay in delays]
    if not hours:
        return DelaySummary(signals, 0, None, None)
    return DelaySummary(
        signals, len(hours), round(median(hours), 1), round(percentile(hours, 0.9), 1)
    )


def _counts(rows: Iterable[tuple[str | None, int]]) -> list[Count]:
    merged: dict[str, int] = {}
    for key, count in rows:
        merged[key or UNKNOWN] = merged.get(key or UNKNOWN, 0) + int(count)
    return [Count(key, count) for key, count in merged.items()]


def _by_count(rows: list[Count]) -> list[Count]:
    return sorted(rows, key=lambda row: (-row.count, row.key))


def _signals_this_month(
    db: Session, actor: Actor, column: object, start: datetime, now: datetime
) -> list[Count]:
    group = column  # Signal.source or Signal.municipality
    rows = db.execute(
        select(group, func.count(Signal.id))  # type: ignore[call-overload]
        .where(visible_clause(actor, Signal, now=now), Signal.observed_at >= start)
        .group_by(group)
    ).all()
    return _by_count(_counts((row[0], row[1]) for row in rows))


def _open_cases(db: Session, actor: Actor, now: datetime) -> list[Count]:
    rows = db.execute(
        select(Case.stage, func.count(Case.id))
        .where(visible_clause(actor, Case, now=now), Case.stage != "closed")
        .group_by(Case.stage)
    ).all()
    counts = {row.key: row.count for row in _counts((r[0], r[1]) for r in rows)}
    order = [stage for stage in catalogue.CASE_STAGE_ORDER if stage != "closed"]
    known = [Count(stage, counts.pop(stage, 0)) for stage in order]
    return known + [Count(key, count) for key, count in sorted(counts.items())]


def _overdue(db: Session, actor: Actor, now: datetime) -> list[Count]:
    org = actor.organisation_id
    tasks = db.scalar(
        select(func.count(Task.id)).where(
            Task.organisation_id == org, Task.status == "open", Task.due_at < now
        )
    )
    late = (Referral.state == "in_progress", Referral.due_at.is_not(None), Referral.due_at < now)
    sent = db.scalar(select(func.count(Referral.id)).where(Referral.organisation_id == org, *late))
    received = db.scalar(
        select(func.count(Referral.id)).where(Referral.to_organisation_id == org, *late)
    )
    return [
        Count("tasks", int(tasks or 0)),
        Count("referrals_sent", int(sent or 0)),
        Count("referrals_received", int(received or 0)),
    ]


def _first_contact(db: Session, actor: Actor, now: datetime) -> DelaySummary:
    since = now - FIRST_CONTACT_WINDOW
    signals = [
        SignalFacts(row.id, row.observed_at, row.subject_id)
        for row in db.execute(
            select(Signal.id, Signal.observed_at, Signal.subject_id).where(
                visible_clause(actor, Signal, now=now),
                Signal.observed_at >= since,
                Signal.subject_id.is_not(None),
            )
        )
    ]
    if not signals:
        return summarise_delays(0, [])
    signal_ids = [s.id for s in signals]
    subject_ids = sorted({s.subject_id for s in signals if s.subject_id is not None})
    case_signal = {
        row.id: row.signal_id
        for row in db.execute(select(Case.id, Case.signal_id).where(Case.signal_id.in_(signal_ids)))
        if row.signal_id is not None
    }
    contacts = [
        ContactFacts(row.at, row.subject_id, row.signal_id, row.case_id)
        for row in db.execute(
            select(
                OutreachContact.at,
                OutreachContact.subject_id,
                OutreachContact.signal_id,
                OutreachContact.case_id,
            ).where(
                OutreachContact.at >= since,
                or_(
                    OutreachContact.subject_id.in_(subject_ids),
                    OutreachContact.signal_id.in_(signal_ids),
                    OutreachContact.case_id.in_(sorted(case_signal) or [-1]),
                ),
            )
        )
    ]
    return summarise_delays(len(signals), first_contact_delays(signals, contacts, case_signal))


def build(db: Session, actor: Actor, *, now: datetime | None = None) -> Dashboard:
    """The dashboard of what ``actor`` may see (``chain.dashboard`` is asked first)."""
    if not allowed(actor, Action.VIEW_CHAIN_DASHBOARD):
        raise PermissionDenied("you may not see the chain dashboard")
    now = now or utcnow()
    start = month_start(now)
    return Dashboard(
        month_start=start,
        signals_by_source=_signals_this_month(db, actor, Signal.source, start, now),
        signals_by_municipality=_signals_this_month(db, actor, Signal.municipality, start, now),
        open_cases_by_stage=_open_cases(db, actor, now),
        overdue=_overdue(db, actor, now),
        first_contact=_first_contact(db, actor, now),
    )


# ----------------------------------------------------------------------------------------------
# Tables for the page and the CSV export

TABLES: tuple[str, ...] = ("bron", "gemeente", "fase", "achterstallig", "eerste-contact")


def table_rows(board: Dashboard, table: str, locale: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of one table of the dashboard, with labels in ``locale`` (codes as the
    first column, so that an export can be joined with other data)."""
    nl = locale == "nl"
    if table == "bron":
        return (
            ["code", "bron" if nl else "source", "signalen" if nl else "signals"],
            [
                [r.key, catalogue.label(catalogue.SIGNAL_SOURCES, r.key, locale), str(r.count)]
                for r in board.signals_by_source
            ],
        )
    if table == "gemeente":
        unknown = "onbekend" if nl else "unknown"
        return (
            ["gemeente" if nl else "municipality", "signalen" if nl else "signals"],
            [[r.key or unknown, str(r.count)] for r in board.signals_by_municipality],
        )
    if table == "fase":
        return (
            ["code", "fase" if nl else "stage", "open dossiers" if nl else "open cases"],
            [
                [r.key, catalogue.label(catalogue.CASE_STAGES, r.key, locale), str(r.count)]
                for r in board.open_cases_by_stage
            ],
        )
    if table == "achterstallig":
        labels = OVERDUE_LABELS_NL if nl else OVERDUE_LABELS_EN
        return (
            ["code", "opvolging" if nl else "follow-up", "te laat" if nl else "overdue"],
            [[r.key, labels.get(r.key, r.key), str(r.count)] for r in board.overdue],
        )
    if table == "eerste-contact":
        summary = board.first_contact

        def hours(value: float | None) -> str:
            return "" if value is None else f"{value:.1f}"

        return (
            ["maat" if nl else "measure", "waarde" if nl else "value"],
            [
                ["signalen met persoon" if nl else "signals with a subject", str(summary.signals)],
                ["met contact" if nl else "with a contact", str(summary.with_contact)],
                ["mediaan (uur)" if nl else "median (hours)", hours(summary.median_hours)],
                ["p90 (uur)" if nl else "p90 (hours)", hours(summary.p90_hours)],
            ],
        )
    raise KeyError(table)


OVERDUE_LABELS_NL = {
    "tasks": "Open taken over de datum",
    "referrals_sent": "Verzonden verwijzingen, lopend over de datum",
    "referrals_received": "Ontvangen verwijzingen, lopend over de datum",
}
OVERDUE_LABELS_EN = {
    "tasks": "Open tasks past due",
    "referrals_sent": "Referrals sent, in progress past due",
    "referrals_received": "Referrals received, in progress past due",
}
