"""The watchlist service over the store, on SQLite and PostgreSQL: the contact-point queries
(``;``-joined pseudonyms), the baseline, the check after a stored run, the organisation rule
and the purge of alerts with their run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import accounts
from signaal.chain.authz import SYSTEM, Actor, actor_for
from signaal.errors import NotFoundError, PermissionDenied
from signaal.monitor import watchlists
from signaal.monitor.alerts import WatchKind
from signaal.store.analysis import purge_expired, save_analysis
from signaal.store.models import (
    AnalysisRun,
    Notification,
    OrganisationKind,
    WatchlistAlert,
)

PHONE = "phone:0a0a0a0a0a0a0a0a"
# A pseudonym that PHONE is a prefix of: the match must be on the whole pseudonym.
LONGER = PHONE + "ff"


def _rows(
    places: tuple[str, ...], personas: tuple[str, ...], points: str
) -> dict[str, list[dict[str, object]]]:
    return {
        "networks": [
            {
                "network_id": "N-S",
                "n_personas": len(personas),
                "n_ads": 0,
                "contact_points": points,
                "municipalities": ";".join(places),
                "risk_score": 50,
                "reasons": "",
            }
        ],
        "personas": [
            {
                "persona_id": p,
                "network_id": "N-S",
                "n_ads": 0,
                "municipalities": ";".join(places),
                "risk_score": 50,
                "reasons": "",
            }
            for p in personas
        ],
        "ads": [],
        "movements": [],
    }


def _store(db: Session, organisation_id: int, rows: dict[str, list[dict[str, object]]]) -> int:
    now = datetime.now(UTC)
    run_id = save_analysis(
        db,
        source="watchlist-test",
        started_at=now - timedelta(minutes=1),
        finished_at=now,
        n_quarantined=0,
        organisation_id=organisation_id,
        actor=SYSTEM,
        **rows,  # type: ignore[arg-type]
    )
    watchlists.check_run(db, run_id, now=now)
    return run_id


def _analyst(db: Session, name: str) -> Actor:
    organisation = accounts.create_organisation(db, name=name, kind=OrganisationKind.POLICE)
    user = accounts.create_user(
        db,
        email=f"analist@{name.lower()}.example.test",
        password="correct horse battery staple",
        display_name="Analist",
        organisation=organisation,
        role="analyst",
    )
    db.flush()
    return actor_for(user)


def test_a_watched_contact_point_gets_alerts_from_the_next_run(db_session: Session) -> None:
    analyst = _analyst(db_session, "Eenheid")
    _store(
        db_session,
        analyst.organisation_id,
        _rows(("Utrecht",), ("P-A",), f"{LONGER};email:1234abcd"),
    )
    # The run holds only a longer pseudonym: this one is in no run of hers.
    with pytest.raises(PermissionDenied):
        watchlists.watch_item(db_session, analyst, WatchKind.CONTACT_POINT, PHONE, ip=None)
    _store(
        db_session,
        analyst.organisation_id,
        _rows(("Utrecht",), ("P-A",), f"email:1234abcd;{PHONE}"),
    )
    watch = watchlists.watch_item(db_session, analyst, WatchKind.CONTACT_POINT, PHONE, ip=None)
    assert (watch.seen_municipalities, watch.seen_personas) == ("Utrecht", "P-A")
    run = _store(
        db_session,
        analyst.organisation_id,
        _rows(("Utrecht", "Maastricht"), ("P-A", "P-B"), PHONE),
    )
    alerts = db_session.scalars(select(WatchlistAlert).order_by(WatchlistAlert.id)).all()
    assert sorted((a.kind, a.detail) for a in alerts) == [
        ("new_municipality", "Maastricht"),
        ("new_persona", "P-B"),
        ("new_region", "Limburg"),
    ]
    assert {a.run_id for a in alerts} == {run}
    note = db_session.scalars(
        select(Notification).where(Notification.kind == watchlists.NOTIFICATION_KIND)
    ).one()
    assert (note.user_id, note.record_id) == (analyst.user_id, watch.id)
    assert PHONE not in note.text
    # Checking the same run again changes nothing.
    assert watchlists.check_run(db_session, run, now=datetime.now(UTC)) == []
    # The alerts go with their run when its retention ends.
    db_session.get(AnalysisRun, run).expires_at = datetime.now(UTC) - timedelta(seconds=1)  # type: ignore[union-attr]
    db_session.flush()
    purge_expired(db_session, actor=SYSTEM)
    db_session.expire_all()
    assert db_session.scalars(select(WatchlistAlert)).all() == []


def test_an_item_of_another_organisation_is_refused_and_its_runs_give_no_alerts(
    db_session: Session,
) -> None:
    mine = _analyst(db_session, "Eigen")
    theirs = _analyst(db_session, "Ander")
    _store(db_session, theirs.organisation_id, _rows(("Utrecht",), ("P-X",), PHONE))
    for kind, item in (
        (WatchKind.PERSONA, "P-X"),
        (WatchKind.NETWORK, "N-S"),
        (WatchKind.CONTACT_POINT, PHONE),
        (WatchKind.PERSONA, "P-nowhere"),
    ):
        with pytest.raises(PermissionDenied):
            watchlists.watch_item(db_session, mine, kind, item, ip=None)
    _store(db_session, mine.organisation_id, _rows(("Utrecht",), ("P-X",), PHONE))
    watch = watchlists.watch_item(db_session, mine, WatchKind.PERSONA, "P-X", ip=None)
    _store(db_session, theirs.organisation_id, _rows(("Zwolle",), ("P-X",), PHONE))
    assert db_session.scalars(select(WatchlistAlert)).all() == []
    # Only she stops her watch; another user gets "not found".
    with pytest.raises(NotFoundError):
        watchlists.end_watch(db_session, theirs, watch.id, ip=None)
    watchlists.end_watch(db_session, mine, watch.id, ip=None)
    _store(db_session, mine.organisation_id, _rows(("Zwolle",), ("P-X",), PHONE))
    assert db_session.scalars(select(WatchlistAlert)).all() == []
