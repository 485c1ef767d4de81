"""Local figures of a stored run: counts of ads and personas in a set of municipalities per
week. Rows and queries only; :mod:`signaal.monitor.today` asks ``allowed()``.

Nothing here returns an id, a text or a contact point: only numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session

from signaal.store.models import AnalysisAd, AnalysisPersona

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeekCount:
    start: datetime
    ads: int
    personas: int


@dataclass(frozen=True)
class LocalCounts:
    weeks: list[WeekCount]  # oldest first, the last one ends at ``now``
    personas: int  # advertised in the area in these weeks
    personas_with_indicators: int  # of those, with an indicator in an ad in the area
    arrivals: int  # first seen in the last week and advertised in the area in it
    until: datetime  # the end of the last week

    @property
    def indicator_share(self) -> float | None:
        return self.personas_with_indicators / self.personas if self.personas else None


def local_counts(
    session: Session,
    run_id: int,
    municipalities: tuple[str, ...] | None,
    *,
    now: datetime,
    weeks: int = 4,
) -> LocalCounts:
    """The run's ads and personas in ``municipalities`` (None: everywhere) per week, the last
    week ending at ``now``."""

    def in_area(since: datetime, until: datetime) -> ColumnElement[bool]:
        conditions = [
            AnalysisAd.run_id == run_id,
            AnalysisAd.posted_at >= since,
            AnalysisAd.posted_at < until,
        ]
        if municipalities is not None:
            conditions.append(AnalysisAd.municipality.in_(municipalities))
        return and_(*conditions)

    counted: list[WeekCount] = []
    for back in range(weeks, 0, -1):
        start, end = now - back * WEEK, now - (back - 1) * WEEK
        ads, personas = session.execute(
            select(func.count(), func.count(distinct(AnalysisAd.persona_id))).where(
                in_area(start, end)
            )
        ).one()
        counted.append(WeekCount(start, int(ads), int(personas)))
    period = in_area(now - weeks * WEEK, now)
    n_personas = session.scalar(select(func.count(distinct(AnalysisAd.persona_id))).where(period))
    flagged = session.scalar(
        select(func.count(distinct(AnalysisAd.persona_id))).where(
            period, AnalysisAd.indicators != ""
        )
    )
    arrivals = session.scalar(
        select(func.count(distinct(AnalysisAd.persona_id)))
        .join(
            AnalysisPersona,
            and_(
                AnalysisPersona.run_id == AnalysisAd.run_id,
                AnalysisPersona.persona_id == AnalysisAd.persona_id,
            ),
        )
        .where(in_area(now - WEEK, now), AnalysisPersona.first_seen >= now - WEEK)
    )
    return LocalCounts(
        counted, int(n_personas or 0), int(flagged or 0), int(arrivals or 0), until=now
    )


def newest_ad(session: Session, run_id: int) -> datetime | None:
    """When the newest ad of the run was posted (computed once per run and process)."""
    from signaal.store import local_picture

    return local_picture.newest_ad(session, run_id)
