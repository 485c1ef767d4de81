"""Rows and queries of the watchlists (:mod:`signaal.monitor.watchlists` is the service).

The watched items of one run, read as few rows as the watches need: the personas and networks
they name, the networks that advertise with a watched contact point, the personas of those
networks. No permission check here: the service asks ``allowed()`` first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session

from signaal.store.models import (
    AnalysisNetwork,
    AnalysisPersona,
    AnalysisRun,
    WatchlistAlert,
    WatchlistWatch,
)


def _holds(pseudonym: str) -> ColumnElement[bool]:
    """A network's ``;``-joined contact points hold ``pseudonym`` (a pseudonym matches
    ``kind:hex``, so it holds no LIKE wildcard)."""
    joined = literal(";").concat(AnalysisNetwork.contact_points).concat(";")
    return joined.like(f"%;{pseudonym};%")


def personas(db: Session, run_id: int, persona_ids: Collection[str]) -> list[AnalysisPersona]:
    if not persona_ids:
        return []
    return list(
        db.scalars(
            select(AnalysisPersona).where(
                AnalysisPersona.run_id == run_id,
                AnalysisPersona.persona_id.in_(sorted(persona_ids)),
            )
        )
    )


def personas_of_networks(
    db: Session, run_id: int, network_ids: Collection[str]
) -> list[AnalysisPersona]:
    if not network_ids:
        return []
    return list(
        db.scalars(
            select(AnalysisPersona).where(
                AnalysisPersona.run_id == run_id,
                AnalysisPersona.network_id.in_(sorted(network_ids)),
            )
        )
    )


def networks(db: Session, run_id: int, network_ids: Collection[str]) -> list[AnalysisNetwork]:
    if not network_ids:
        return []
    return list(
        db.scalars(
            select(AnalysisNetwork).where(
                AnalysisNetwork.run_id == run_id,
                AnalysisNetwork.network_id.in_(sorted(network_ids)),
            )
        )
    )


def networks_with_contact_point(db: Session, run_id: int, pseudonym: str) -> list[AnalysisNetwork]:
    return list(
        db.scalars(
            select(AnalysisNetwork).where(AnalysisNetwork.run_id == run_id, _holds(pseudonym))
        )
    )


def contact_point_owner(
    db: Session, pseudonym: str, *, prefer: int | None, now: datetime | None = None
) -> int | None:
    """The organisation whose unexpired run holds the contact point ``pseudonym`` in one of its
    networks: ``prefer`` (the asker's) when one of its runs does, else the newest run's; None
    when no run holds it. For resource loaders: the answer goes to ``allowed()`` only."""
    now = now or datetime.now(UTC)
    rows = db.execute(
        select(AnalysisRun.organisation_id)
        .join(AnalysisNetwork, AnalysisNetwork.run_id == AnalysisRun.id)
        .where(_holds(pseudonym), AnalysisRun.expires_at > now)
        .order_by(AnalysisRun.stored_at.desc(), AnalysisRun.id.desc())
    ).scalars()
    owners = list(dict.fromkeys(rows))
    if not owners:
        return None
    return prefer if prefer in owners else owners[0]


def active_watch(db: Session, user_id: int, kind: str, item_id: str) -> WatchlistWatch | None:
    return db.scalars(
        select(WatchlistWatch).where(
            WatchlistWatch.user_id == user_id,
            WatchlistWatch.kind == kind,
            WatchlistWatch.item_id == item_id,
            WatchlistWatch.ended_at.is_(None),
        )
    ).first()


def active_watches_of_organisation(db: Session, organisation_id: int) -> list[WatchlistWatch]:
    return list(
        db.scalars(
            select(WatchlistWatch)
            .where(
                WatchlistWatch.organisation_id == organisation_id,
                WatchlistWatch.ended_at.is_(None),
            )
            .order_by(WatchlistWatch.id)
        )
    )


def active_watches_of_user(db: Session, user_id: int, organisation_id: int) -> list[WatchlistWatch]:
    return list(
        db.scalars(
            select(WatchlistWatch)
            .where(
                WatchlistWatch.user_id == user_id,
                WatchlistWatch.organisation_id == organisation_id,
                WatchlistWatch.ended_at.is_(None),
            )
            .order_by(WatchlistWatch.created_at.desc(), WatchlistWatch.id.desc())
        )
    )


def alerts_of(db: Session, watch_ids: Sequence[int], *, limit: int) -> list[WatchlistAlert]:
    """The newest alerts of these watches (at most ``limit`` in all), newest first."""
    if not watch_ids:
        return []
    return list(
        db.scalars(
            select(WatchlistAlert)
            .where(WatchlistAlert.watch_id.in_(sorted(watch_ids)))
            .order_by(WatchlistAlert.id.desc())
            .limit(limit)
        )
    )


def unmailed_alerts(db: Session, *, max_attempts: int) -> list[WatchlistAlert]:
    """The alerts whose mail has not gone out yet and may still be tried, oldest first."""
    return list(
        db.scalars(
            select(WatchlistAlert)
            .where(WatchlistAlert.mailed_at.is_(None), WatchlistAlert.mail_attempts < max_attempts)
            .order_by(WatchlistAlert.id)
        )
    )
