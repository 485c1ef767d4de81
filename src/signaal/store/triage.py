"""The triage queue in the app store: rows and queries, no permission checks.

The queue of a run is its personas (or networks) joined with the organisation's
:class:`~signaal.store.models.TriageItem` rows (an item without one is new), filtered in SQL and
ordered by risk. :mod:`signaal.monitor.triage` asks ``allowed()``, audits and decides; this
module only reads and writes rows.

Filters on the ads of an item (indicator, site, period) are ``EXISTS`` subqueries on
``analysis_ads`` (indexed by run and persona, and by run and network); a municipality filter
matches whole names in the ``;``-separated list of the item's municipalities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from signaal.store.models import (
    AnalysisAd,
    AnalysisNetwork,
    AnalysisPersona,
    TriageDecision,
    TriageItem,
)
from signaal.store.run_cache import run_figure

ItemKind = Literal["persona", "network"]
ITEM_KINDS: tuple[ItemKind, ...] = ("persona", "network")
STATUSES = ("new", "assigned", "reviewed", "escalated", "dismissed")
OPEN_STATUSES = ("new", "assigned")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue is narrowed to; every field optional (None or empty: no filter)."""

    kind: ItemKind = "persona"
    municipalities: tuple[str, ...] = ()  # whole municipality names (resolved by signaal.geo)
    since: datetime | None = None
    until: datetime | None = None
    indicator: str | None = None
    site: str | None = None
    min_score: int | None = None
    max_score: int | None = None  # exclusive
    statuses: tuple[str, ...] = ()
    assigned_to_user_id: int | None = None
    match_nothing: bool = False  # a filter value that names nothing (an unknown place)


@dataclass(frozen=True)
class QueueRow:
    kind: ItemKind
    item_id: str
    network_id: str  # the persona's network; the network itself for a network
    n_ads: int
    n_personas: int  # 1 for a persona
    municipalities: tuple[str, ...]
    risk_score: int
    reasons: str
    reasons_json: str | None
    last_seen: datetime | None
    status: str
    assigned_to_user_id: int | None
    signal_id: int | None


def _has_municipality(
    column: InstrumentedAttribute[str], names: Sequence[str]
) -> ColumnElement[bool]:
    wrapped = literal(";") + column + literal(";")
    return or_(*(wrapped.like(f"%;{_escape(name)};%", escape="\\") for name in names))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def queue_page(
    session: Session,
    run_id: int,
    organisation_id: int,
    filters: QueueFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[QueueRow], int]:
    """One page of the queue (highest risk first) and the number of items that match."""
    model: type[AnalysisPersona] | type[AnalysisNetwork] = (
        AnalysisPersona if filters.kind == "persona" else AnalysisNetwork
    )
    key = AnalysisPersona.persona_id if filters.kind == "persona" else AnalysisNetwork.network_id
    ad_key = AnalysisAd.persona_id if filters.kind == "persona" else AnalysisAd.network_id
    status = func.coalesce(TriageItem.status, "new")
    conditions: list[ColumnElement[bool]] = [model.run_id == run_id]
    if filters.match_nothing:
        conditions.append(false())
    if filters.municipalities:
        conditions.append(_has_municipality(model.municipalities, filters.municipalities))
    if filters.min_score is not None:
        conditions.append(model.risk_score >= filters.min_score)
    if filters.max_score is not None:
        conditions.append(model.risk_score < filters.max_score)
    if filters.statuses:
        conditions.append(status.in_(filters.statuses))
    if filters.assigned_to_user_id is not None:
        conditions.append(TriageItem.assigned_to_user_id == filters.assigned_to_user_id)
    ad_conditions: list[ColumnElement[bool]] = []
    if filters.indicator:
        wrapped = literal(" ") + AnalysisAd.indicators + literal(" ")
        ad_conditions.append(wrapped.like(f"% {_escape(filters.indicator)} %", escape="\\"))
    if filters.site:
        ad_conditions.append(AnalysisAd.site == filters.site)
    if filters.since is not None:
        ad_conditions.append(AnalysisAd.posted_at >= filters.since)
    if filters.until is not None:
        ad_conditions.append(AnalysisAd.posted_at < filters.until)
    if ad_conditions:
        conditions.append(
            exists().where(AnalysisAd.run_id == run_id, ad_key == key, *ad_conditions)
        )
    joined = (
        select(model, TriageItem)
        .outerjoin(
            TriageItem,
            and_(
                TriageItem.organisation_id == organisation_id,
                TriageItem.kind == filters.kind,
                TriageItem.item_id == key,
            ),
        )
        .where(*conditions)
    )
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = session.execute(
        joined.order_by(model.risk_score.desc(), model.n_ads.desc(), key)
        .offset(offset)
        .limit(limit)
    )
    return [
        _row(filters.kind, cast("AnalysisPersona | AnalysisNetwork", record), item)
        for record, item in rows
    ], total


def _row(
    kind: ItemKind, record: AnalysisPersona | AnalysisNetwork, item: TriageItem | None
) -> QueueRow:
    municipalities = tuple(p for p in record.municipalities.split(";") if p)
    if isinstance(record, AnalysisPersona):
        item_id, network_id, n_personas = record.persona_id, record.network_id, 1
        last_seen = record.last_seen
    else:
        item_id, network_id, n_personas = record.network_id, record.network_id, record.n_personas
        last_seen = None
    return QueueRow(
        kind=kind,
        item_id=item_id,
        network_id=network_id,
        n_ads=record.n_ads,
        n_personas=n_personas,
        municipalities=municipalities,
        risk_score=record.risk_score,
        reasons=record.reasons,
        reasons_json=record.reasons_json,
        last_seen=last_seen,
        status=item.status if item else "new",
        assigned_to_user_id=item.assigned_to_user_id if item else None,
        signal_id=item.signal_id if item else None,
    )


def item_in_run(session: Session, run_id: int, kind: ItemKind, item_id: str) -> bool:
    model = AnalysisPersona if kind == "persona" else AnalysisNetwork
    return session.get(model, (run_id, item_id)) is not None


def find_item(
    session: Session, organisation_id: int, kind: ItemKind, item_id: str
) -> TriageItem | None:
    return session.scalar(
        select(TriageItem).where(
            TriageItem.organisation_id == organisation_id,
            TriageItem.kind == kind,
            TriageItem.item_id == item_id,
        )
    )


def decisions_of(session: Session, item: TriageItem) -> list[TriageDecision]:
    """The decisions on ``item``, newest first."""
    return list(
        session.scalars(
            select(TriageDecision)
            .where(TriageDecision.triage_item_id == item.id)
            .order_by(TriageDecision.at.desc(), TriageDecision.id.desc())
        )
    )


def latest_decisions(
    session: Session, organisation_id: int, kind: ItemKind, item_ids: Sequence[str]
) -> dict[str, TriageDecision]:
    """The newest decision of each of ``item_ids`` that has one (one query)."""
    if not item_ids:
        return {}
    newest = (
        select(func.max(TriageDecision.id))
        .join(TriageItem, TriageItem.id == TriageDecision.triage_item_id)
        .where(
            TriageItem.organisation_id == organisation_id,
            TriageItem.kind == kind,
            TriageItem.item_id.in_(item_ids),
        )
        .group_by(TriageDecision.triage_item_id)
    )
    rows = session.execute(
        select(TriageItem.item_id, TriageDecision)
        .join(TriageItem, TriageItem.id == TriageDecision.triage_item_id)
        .where(TriageDecision.id.in_(newest))
    )
    return {row[0]: row[1] for row in rows}


def labelled_decisions(
    session: Session, organisation_id: int
) -> list[tuple[TriageItem, int, bool]]:
    """The latest labelled decision of every item of ``organisation_id``: (item, run, label)."""
    latest = (
        select(
            TriageDecision.triage_item_id,
            func.max(TriageDecision.id).label("decision_id"),
        )
        .where(TriageDecision.organisation_id == organisation_id)
        .where(TriageDecision.label.is_not(None))
        .group_by(TriageDecision.triage_item_id)
        .subquery()
    )
    rows = session.execute(
        select(TriageItem, TriageDecision)
        .join(latest, latest.c.triage_item_id == TriageItem.id)
        .join(TriageDecision, TriageDecision.id == latest.c.decision_id)
        .order_by(TriageItem.id)
    ).all()
    return [(item, d.run_id, bool(d.label)) for item, d in rows]


def ad_ids_of(session: Session, run_id: int, kind: ItemKind, item_id: str) -> list[str]:
    """The ads of a persona or network in a run (none when the run has been purged)."""
    column = AnalysisAd.persona_id if kind == "persona" else AnalysisAd.network_id
    return list(
        session.scalars(
            select(AnalysisAd.ad_id)
            .where(AnalysisAd.run_id == run_id, column == item_id)
            .order_by(AnalysisAd.ad_id)
        )
    )


def sites_of_run(session: Session, run_id: int) -> list[str]:
    """The sites of the run's ads (the site filter's choices; computed once per run and
    process, ``run_cache``: a scan of all the run's ads)."""

    def compute() -> tuple[str, ...]:
        found = session.scalars(
            select(AnalysisAd.site)
            .where(AnalysisAd.run_id == run_id, AnalysisAd.site.is_not(None))
            .distinct()
            .order_by(AnalysisAd.site)
        )
        return tuple(site for site in found if site)

    return list(run_figure(session, run_id, "triage.sites_of_run", compute))


__all__ = [
    "ITEM_KINDS",
    "OPEN_STATUSES",
    "STATUSES",
    "QueueFilter",
    "QueueRow",
    "ad_ids_of",
    "decisions_of",
    "find_item",
    "item_in_run",
    "labelled_decisions",
    "latest_decisions",
    "queue_page",
    "sites_of_run",
]
