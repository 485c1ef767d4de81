"""What a person has to do today: the start page's content, per role.

Each part is there only when the actor's role may see it (``allowed()``), and each read is
audited by the service that owns it:

- triage (``triage.view``): the open items assigned to her, and the new priority items in her
  organisation's area (its ``region``, a province or municipality resolved through
  :mod:`signaal.geo`; everywhere when it has none);
- tasks (``tasks.manage``): her own open tasks, the ones due today or overdue first;
- notifications: how many are unread;
- local figures (``local.view``, the municipal policy officer): counts of ads and personas in
  the area per week, the share with indicators and the arrivals of the last week; no ids, no
  texts, no contact points; a count of 1 to 4 personas is shown as "fewer than 5".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from signaal.chain import tasks
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.errors import PermissionDenied
from signaal.monitor import triage
from signaal.store import analysis
from signaal.store.local import LocalCounts, local_counts, newest_ad
from signaal.store.models import AnalysisRun, Organisation, Task, utcnow
from signaal.store.triage import QueueFilter, QueueRow

SHOWN = 5
WATCHLIST_NOTIFICATION = "watchlist_alert"  # signaal.monitor.watchlists.NOTIFICATION_KIND
#: Counts of personas from 1 up to this (exclusive) are shown as "fewer than": a local figure
#: of one or two personas could point to a person. Ads are counted exactly.
SMALL_COUNT = 5


@dataclass(frozen=True)
class Today:
    area_name: str | None  # the organisation's region as written; None: everywhere
    run: AnalysisRun | None
    assigned: list[QueueRow] = field(default_factory=list)
    n_assigned: int = 0
    new_priority: list[QueueRow] = field(default_factory=list)
    n_new_priority: int = 0
    tasks: list[Task] = field(default_factory=list)
    n_tasks_due: int = 0
    unread_notifications: int = 0
    # Of those, the ones that tell of new alerts on the own watchlist.
    unread_watchlist_alerts: int = 0
    local: LocalCounts | None = None


def area_of(db: Session, actor: Actor) -> tuple[str | None, tuple[str, ...] | None]:
    """The organisation's region as written and the municipalities it names (None: all)."""
    organisation = db.get(Organisation, actor.organisation_id)
    region = organisation.region if organisation is not None else None
    if not region:
        return None, None
    return region, triage.resolve_area(region) or ()


def local_figures(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    municipalities: tuple[str, ...] | None,
    *,
    now: datetime,
) -> LocalCounts:
    resource = Resource("analysis_run", str(run.id), organisation_id=run.organisation_id)
    if not allowed(actor, Action.VIEW_LOCAL_FIGURES, resource):
        raise PermissionDenied("local.view not allowed on this run")
    # The weeks end at the run's newest ad when that is earlier: a run of an older corpus (the
    # demo's) shows its own last weeks, not four empty ones. Daily ingest keeps them level.
    newest = newest_ad(db, run.id)
    until = min(now, newest + timedelta(seconds=1)) if newest else now  # the newest one counts
    return local_counts(db, run.id, municipalities, now=until)


def today(
    db: Session,
    actor: Actor,
    *,
    ip: str | None,
    end_of_day: datetime,
    now: datetime | None = None,
) -> Today:
    """The start page of ``actor``; ``end_of_day`` is when her today ends (local midnight)."""
    now = now or utcnow()
    area_name, area = area_of(db, actor)
    may_triage = allowed(actor, Action.VIEW_TRIAGE)
    may_local = allowed(actor, Action.VIEW_LOCAL_FIGURES)
    run = analysis.latest_run(db, actor.organisation_id) if may_triage or may_local else None
    parts: dict[str, object] = {}
    if run is not None and may_triage:
        mine = triage.queue(
            db,
            actor,
            run,
            QueueFilter(statuses=("assigned",), assigned_to_user_id=actor.user_id),
            page_size=SHOWN,
            ip=ip,
            audit_filters={"start": "assigned"},
        )
        low, _ = triage.LEVELS["priority"]
        fresh = triage.queue(
            db,
            actor,
            run,
            QueueFilter(
                statuses=("new",),
                min_score=low,
                municipalities=area or (),
                match_nothing=area == (),
            ),
            page_size=SHOWN,
            ip=ip,
            audit_filters={"start": "new_priority"},
        )
        parts.update(
            assigned=mine.items,
            n_assigned=mine.total,
            new_priority=fresh.items,
            n_new_priority=fresh.total,
        )
    if run is not None and may_local:
        parts["local"] = local_figures(db, actor, run, area, now=now)
    if allowed(actor, Action.MANAGE_TASKS):
        own = tasks.list_tasks(db, actor, view="mine", limit=SHOWN, now=now, ip=ip)
        parts["tasks"] = own.items
        parts["n_tasks_due"] = sum(1 for task in own.items if task.due_at < end_of_day)
    unread = [n for n in tasks.notifications_of(db, actor) if n.read_at is None]
    return Today(
        area_name=area_name,
        run=run,
        unread_notifications=len(unread),
        unread_watchlist_alerts=sum(1 for n in unread if n.kind == WATCHLIST_NOTIFICATION),
        **parts,  # type: ignore[arg-type]
    )


def end_of_local_day(now: datetime, zone: tzinfo) -> datetime:
    """Midnight after ``now`` in the time zone ``zone``."""
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=local.tzinfo)
