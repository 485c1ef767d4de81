"""The aggregates of "Mijn gemeente" over one stored run: SQL aggregates, never a row per ad.
Rows and queries only; :mod:`signaal.monitor.local_picture` asks ``allowed()`` and composes.

Nothing here returns an id, a text or a contact point: only names of municipalities, indicator
codes and numbers.

Weeks are ISO weeks (Monday to Sunday, UTC), numbered as whole weeks since the Monday
1969-12-29, so SQLite and PostgreSQL bucket alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from signaal.store.models import AnalysisAd, AnalysisMovement
from signaal.store.run_cache import run_figure

EPOCH_MONDAY = datetime(1969, 12, 29, tzinfo=UTC)


@dataclass(frozen=True)
class Tally:
    """Counts of one area (or municipality, or week)."""

    ads: int
    personas: int
    ads_with_indicators: int
    personas_with_indicators: int


@dataclass(frozen=True)
class WeekTally:
    week: int  # whole weeks since EPOCH_MONDAY: see :func:`week_start`
    tally: Tally


def week_start(week: int) -> datetime:
    return EPOCH_MONDAY + timedelta(weeks=week)


def week_of(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - EPOCH_MONDAY) // timedelta(weeks=1)


def _week_column(session: Session, column: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        seconds = (
            func.extract("epoch", column)
            - (EPOCH_MONDAY - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
        )
        return cast(func.floor(seconds / (7 * 86400)), Integer)
    days = func.julianday(column) - func.julianday(literal("1969-12-29 00:00:00"))
    return cast(days / 7, Integer)  # ads are all after 1969: truncation is floor


def _flagged() -> ColumnElement[bool]:
    return and_(AnalysisAd.indicators.is_not(None), AnalysisAd.indicators != "")


def _tally_columns() -> tuple[ColumnElement[int], ...]:
    return (
        func.count(),
        func.count(distinct(AnalysisAd.persona_id)),
        func.coalesce(func.sum(case((_flagged(), 1), else_=0)), 0),
        func.count(distinct(case((_flagged(), AnalysisAd.persona_id), else_=None))),
    )


def _in_area(run_id: int, municipalities: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [AnalysisAd.run_id == run_id]
    if municipalities is not None:
        conditions.append(AnalysisAd.municipality.in_(municipalities))
    return conditions


def area_tally(session: Session, run_id: int, municipalities: tuple[str, ...] | None) -> Tally:
    """The whole run's counts in ``municipalities`` (None: everywhere)."""
    row = session.execute(select(*_tally_columns()).where(*_in_area(run_id, municipalities))).one()
    return Tally(*(int(value or 0) for value in row))


def weekly(
    session: Session, run_id: int, municipalities: tuple[str, ...] | None
) -> list[WeekTally]:
    """Counts per ISO week with ads in the area, oldest first (weeks without ads left out)."""
    week = _week_column(session, AnalysisAd.posted_at).label("week")
    rows = session.execute(
        select(week, *_tally_columns())
        .where(*_in_area(run_id, municipalities), AnalysisAd.posted_at.is_not(None))
        .group_by(week)
        .order_by(week)
    ).all()
    return [WeekTally(int(r[0]), Tally(*(int(v or 0) for v in r[1:]))) for r in rows]


def per_municipality(session: Session, run_id: int) -> Mapping[str, Tally]:
    """The whole run's counts per municipality (ads without one left out); computed once per
    run and process (``run_cache``: a scan of all the run's ads)."""

    def compute() -> Mapping[str, Tally]:
        rows = session.execute(
            select(AnalysisAd.municipality, *_tally_columns())
            .where(AnalysisAd.run_id == run_id, AnalysisAd.municipality.is_not(None))
            .group_by(AnalysisAd.municipality)
        ).all()
        return MappingProxyType({str(r[0]): Tally(*(int(v or 0) for v in r[1:])) for r in rows})

    return run_figure(session, run_id, "local_picture.per_municipality", compute)


def indicator_counts(
    session: Session, run_id: int, municipalities: tuple[str, ...] | None
) -> Counter[str]:
    """Ads per indicator code in the area. The store keeps an ad's codes as one string, so the
    database groups by that string (a few hundred combinations) and Python splits them."""
    rows = session.execute(
        select(AnalysisAd.indicators, func.count())
        .where(*_in_area(run_id, municipalities), _flagged())
        .group_by(AnalysisAd.indicators)
    ).all()
    counts: Counter[str] = Counter()
    for codes, n in rows:
        for code in set(str(codes).split()):
            counts[code] += int(n)
    return counts


def arrivals(
    session: Session,
    run_id: int,
    municipalities: tuple[str, ...] | None,
    *,
    since: datetime,
    until: datetime,
) -> int:
    """Personas that arrived in the area in [since, until) (a movement into one of its
    municipalities from outside it, or a first ad anywhere) and were not advertised in the area
    before ``since``."""
    earlier = aliased(AnalysisAd)
    conditions: list[ColumnElement[bool]] = [
        AnalysisMovement.run_id == run_id,
        AnalysisMovement.at >= since,
        AnalysisMovement.at < until,
    ]
    before = [
        earlier.run_id == run_id,
        earlier.persona_id == AnalysisMovement.persona_id,
        earlier.posted_at < since,
    ]
    if municipalities is not None:
        conditions.append(AnalysisMovement.to_municipality.in_(municipalities))
        conditions.append(
            or_(
                AnalysisMovement.from_municipality.is_(None),
                AnalysisMovement.from_municipality.not_in(municipalities),
            )
        )
        before.append(earlier.municipality.in_(municipalities))
    conditions.append(~exists(select(literal(1)).where(*before)))
    n = session.scalar(select(func.count(distinct(AnalysisMovement.persona_id))).where(*conditions))
    return int(n or 0)


def newest_ad(session: Session, run_id: int) -> datetime | None:
    """When the run's newest ad was posted (once per run and process, as ``per_municipality``)."""
    return run_figure(
        session,
        run_id,
        "local_picture.newest_ad",
        lambda: session.scalar(
            select(func.max(AnalysisAd.posted_at)).where(AnalysisAd.run_id == run_id)
        ),
    )
