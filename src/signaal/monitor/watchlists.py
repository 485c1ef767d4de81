"""Watchlists: a user watches a persona, a network or a contact point of her organisation's
analysis and is told when a newly stored run shows it somewhere new.

The service around the pure derivation (:mod:`signaal.monitor.alerts`): every read and write
asks :func:`~signaal.chain.authz.allowed` (``watchlist.manage`` for users, ``watchlist.check``
and ``watchlist.mail`` for the system) and is audited; the rows and queries are in
:mod:`signaal.store.watchlists`.

* :func:`watch_item` starts a watch of the actor on an item of her own organisation's runs (an
  item of another organisation, or of none, is refused alike). Its baseline is the item as the
  organisation's latest run shows it: only what changes afterwards gives alerts. A contact
  point is kept as the analysis' keyed pseudonym, never in the clear, and is not audited.
* :func:`check_run` runs right after a run is stored (``signaal analyse --store``): it compares
  the run with the organisation's active watches, writes the alerts, updates what each watch has
  seen and notifies each user in the app (``/meldingen``, counted on the start page) once per
  watch and run.
* :func:`send_alert_mails` (the worker job ``mail-alerts``) tells each user by e-mail that a
  watch has new alerts: the mail names the watch's number and links to ``/volglijst``, nothing
  else (no item, place, persona or contact point). A mail that fails is tried again on the next
  run, at most :data:`MAX_MAIL_ATTEMPTS` times.
"""

from __future__ import annotations

import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import SYSTEM, Action, Actor, Resource, allowed
from signaal.chain.mail import message, smtp_connection
from signaal.errors import NotFoundError, PermissionDenied
from signaal.monitor.alerts import (
    NetworkView,
    PersonaView,
    RunView,
    Seen,
    WatchKind,
    WatchState,
    baseline,
    derive_alerts,
)
from signaal.settings import Settings
from signaal.store import analysis
from signaal.store import watchlists as rows
from signaal.store.analysis import PSEUDONYM
from signaal.store.models import (
    AnalysisRun,
    Notification,
    User,
    WatchlistAlert,
    WatchlistWatch,
    utcnow,
)

RECORD_KIND = "watchlist_watch"
NOTIFICATION_KIND = "watchlist_alert"
MAX_MAIL_ATTEMPTS = 5
MAX_ALERTS_SHOWN = 200
MAIL_SUBJECT = "Signaal: nieuwe melding op je volglijst / new alert on your watchlist"


def _split(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(";") if part)


def _join(values: frozenset[str]) -> str:
    return ";".join(sorted(values))


def _state(watch: WatchlistWatch) -> WatchState:
    return WatchState(
        watch_id=watch.id,
        kind=WatchKind(watch.kind),
        item_id=watch.item_id,
        seen=Seen(
            _split(watch.seen_municipalities),
            _split(watch.seen_regions),
            _split(watch.seen_personas),
        ),
        active=watch.ended_at is None,
    )


def _remember(watch: WatchlistWatch, seen: Seen) -> None:
    watch.seen_municipalities = _join(seen.municipalities)
    watch.seen_regions = _join(seen.regions)
    watch.seen_personas = _join(seen.personas)


def item_owner(db: Session, kind: WatchKind, item_id: str, *, prefer: int | None) -> int | None:
    """The organisation whose unexpired runs hold the item (``prefer`` first); None for none."""
    if kind is WatchKind.CONTACT_POINT:
        if not PSEUDONYM.match(item_id):
            return None
        return rows.contact_point_owner(db, item_id, prefer=prefer)
    if kind is WatchKind.PERSONA:
        return analysis.owning_organisation(db, "persona", item_id, prefer=prefer)
    return analysis.owning_organisation(db, "network", item_id, prefer=prefer)


def item_resource(db: Session, kind: WatchKind, item_id: str, *, prefer: int | None) -> Resource:
    return Resource(
        kind.value, item_id, organisation_id=item_owner(db, kind, item_id, prefer=prefer)
    )


def watch_resource(watch: WatchlistWatch, actor: Actor | None) -> Resource:
    """A watch as ``allowed()`` sees it: of its organisation for its own user, of nobody for
    anyone else (a colleague's watch is refused like one that does not exist)."""
    mine = actor is not None and watch.user_id == actor.user_id
    return Resource(
        RECORD_KIND, str(watch.id), organisation_id=watch.organisation_id if mine else None
    )


def run_view(db: Session, run_id: int, watches: list[WatchState]) -> RunView:
    """The part of run ``run_id`` that ``watches`` look at."""
    persona_ids = {w.item_id for w in watches if w.kind is WatchKind.PERSONA}
    network_ids = {w.item_id for w in watches if w.kind is WatchKind.NETWORK}
    network_rows = {n.network_id: n for n in rows.networks(db, run_id, network_ids)}
    for watch in watches:
        if watch.kind is WatchKind.CONTACT_POINT:
            for network in rows.networks_with_contact_point(db, run_id, watch.item_id):
                network_rows[network.network_id] = network
    persona_rows = {p.persona_id: p for p in rows.personas(db, run_id, persona_ids)}
    for persona in rows.personas_of_networks(db, run_id, set(network_rows)):
        persona_rows[persona.persona_id] = persona
    return RunView(
        run_id=run_id,
        personas={
            p.persona_id: PersonaView(p.network_id, tuple(_split(p.municipalities)))
            for p in persona_rows.values()
        },
        networks={
            n.network_id: NetworkView(
                tuple(_split(n.municipalities)), tuple(_split(n.contact_points))
            )
            for n in network_rows.values()
        },
    )


def watch_item(
    db: Session,
    actor: Actor,
    kind: WatchKind,
    item_id: str,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> WatchlistWatch:
    """Start watching ``item_id`` (or return the actor's watch on it that is running already).
    Refused (:class:`PermissionDenied`) for an item that no run of her organisation holds."""
    resource = item_resource(db, kind, item_id, prefer=actor.organisation_id)
    if not allowed(actor, Action.WATCH_ITEMS, resource):
        raise PermissionDenied("watchlist.manage not allowed on this item")
    running = rows.active_watch(db, actor.user_id, kind.value, item_id)
    if running is not None:
        return running
    now = now or utcnow()
    run = analysis.latest_run(db, actor.organisation_id, now=now)
    seen = baseline(kind, item_id, run_view(db, run.id, [_probe(kind, item_id)]) if run else None)
    watch = WatchlistWatch(
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        kind=kind.value,
        item_id=item_id,
        last_run_id=run.id if run else None,
        created_at=now,
    )
    _remember(watch, seen)
    db.add(watch)
    db.flush()
    audit.record(
        db,
        audit.WatchlistWatchCreated(
            watch_id=watch.id,
            kind=kind.value,
            item_id=None if kind is WatchKind.CONTACT_POINT else item_id,
        ),
        actor=actor,
        ip=ip,
    )
    return watch


def _probe(kind: WatchKind, item_id: str) -> WatchState:
    return WatchState(watch_id=0, kind=kind, item_id=item_id, seen=Seen())


def end_watch(
    db: Session, actor: Actor, watch_id: int, *, ip: str | None, now: datetime | None = None
) -> WatchlistWatch:
    """Stop one of the actor's own watches; another's (or none) is :class:`NotFoundError`."""
    watch = db.get(WatchlistWatch, watch_id)
    if watch is None or not allowed(actor, Action.WATCH_ITEMS, watch_resource(watch, actor)):
        raise NotFoundError("no such watch")
    if watch.ended_at is None:
        watch.ended_at = now or utcnow()
        _remember(watch, Seen())  # nothing more is compared: what it saw is not kept
        db.flush()
        audit.record(
            db, audit.WatchlistWatchEnded(watch_id=watch.id, kind=watch.kind), actor=actor, ip=ip
        )
    return watch


@dataclass(frozen=True)
class WatchEntry:
    watch: WatchlistWatch
    alerts: list[WatchlistAlert]


def my_watches(db: Session, actor: Actor, *, ip: str | None) -> list[WatchEntry]:
    """The actor's running watches, newest first, each with its alerts (newest first); the read
    is audited with the ids shown."""
    if not allowed(actor, Action.WATCH_ITEMS):
        raise PermissionDenied("watchlist.manage not allowed")
    watches = [
        w
        for w in rows.active_watches_of_user(db, actor.user_id, actor.organisation_id)
        if allowed(actor, Action.WATCH_ITEMS, watch_resource(w, actor))
    ]
    by_watch: dict[int, list[WatchlistAlert]] = defaultdict(list)
    for alert in rows.alerts_of(db, [w.id for w in watches], limit=MAX_ALERTS_SHOWN):
        by_watch[alert.watch_id].append(alert)
    if watches:
        audit.record(
            db, audit.WatchlistViewed(shown_ids=tuple(w.id for w in watches)), actor=actor, ip=ip
        )
    # She sees them now: the notifications that told of them are read.
    db.execute(
        update(Notification)
        .where(
            Notification.user_id == actor.user_id,
            Notification.kind == NOTIFICATION_KIND,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return [WatchEntry(w, by_watch[w.id]) for w in watches]


def check_run(
    db: Session, run_id: int, *, now: datetime, actor: Actor = SYSTEM
) -> list[WatchlistAlert]:
    """Compare stored run ``run_id`` with its organisation's active watches: write the alerts,
    update what each watch has seen, notify each watch's user once. A run compared before (or
    older than a watch's baseline) changes nothing. Returns the alerts written."""
    run = db.get(AnalysisRun, run_id)
    if run is None:
        raise NotFoundError(f"no analysis run {run_id}")
    resource = Resource("analysis_run", str(run.id), organisation_id=run.organisation_id)
    if not allowed(actor, Action.CHECK_WATCHLISTS, resource):
        raise PermissionDenied("watchlist.check not allowed")
    watches = {
        w.id: w
        for w in rows.active_watches_of_organisation(db, run.organisation_id)
        if w.last_run_id is None or w.last_run_id < run.id
    }
    derived = derive_alerts(
        [_state(w) for w in watches.values()],
        run_view(db, run.id, [_state(w) for w in watches.values()]),
    )
    written: list[WatchlistAlert] = []
    for alert in derived.alerts:
        watch = watches[alert.watch_id]
        written.append(
            WatchlistAlert(
                watch_id=watch.id,
                organisation_id=watch.organisation_id,
                user_id=watch.user_id,
                run_id=run.id,
                kind=alert.kind.value,
                detail=alert.detail[:100],
                created_at=now,
            )
        )
    db.add_all(written)
    for watch in watches.values():
        watch.last_run_id = run.id
        if watch.id in derived.seen:
            _remember(watch, derived.seen[watch.id])
    counts: dict[int, int] = defaultdict(int)
    for row in written:
        counts[row.watch_id] += 1
    db.add_all(
        Notification(
            organisation_id=watches[watch_id].organisation_id,
            user_id=watches[watch_id].user_id,
            kind=NOTIFICATION_KIND,
            text=f"{count} new alert(s) on watch #{watch_id}.",
            record_type=RECORD_KIND,
            record_id=watch_id,
            created_at=now,
        )
        for watch_id, count in sorted(counts.items())
    )
    db.flush()
    audit.record(
        db,
        audit.WatchlistChecked(run_id=run.id, n_watches=len(watches), n_alerts=len(written)),
        actor=actor,
        ip=None,
    )
    return written


def mail_text(watch_id: int, settings: Settings) -> str:
    """The whole body of an alert mail: the watch's number and a link, nothing about the item."""
    link = settings.public_url.rstrip("/") + "/volglijst"
    return (
        f"Er is een nieuwe melding op je volglijst (#{watch_id}). Log in om hem te zien.\n"
        f"There is a new alert on your watch #{watch_id}. Log in to see it.\n\n{link}\n"
    )


@dataclass
class MailSummary:
    sent: int = 0  # mails sent now (one per watch with new alerts)
    failed: int = 0
    pending: int = 0  # watches whose mail still waits
    skipped: int = 0  # alerts of stopped watches or inactive accounts: never mailed
    smtp: bool = False
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (
            f"{self.sent} alert mail(s) sent, {self.failed} failed, {self.pending} waiting, "
            f"{self.skipped} alert(s) not to be mailed"
        )
        if not self.smtp:
            text += " (no SMTP host set: mails wait)"
        return text


def send_alert_mails(
    db: Session, now: datetime, settings: Settings, *, actor: Actor = SYSTEM
) -> MailSummary:
    """Mail each user whose watch has alerts not mailed yet: one mail per watch, audited as
    ``watchlist.alert_mailed``. Without an SMTP host the alerts wait; a failed mail counts an
    attempt and is tried again next time (at most :data:`MAX_MAIL_ATTEMPTS`)."""
    if not allowed(actor, Action.MAIL_WATCHLIST_ALERTS):
        raise PermissionDenied("watchlist.mail not allowed")
    summary = MailSummary(smtp=bool(settings.smtp_host))
    by_watch: dict[int, list[WatchlistAlert]] = defaultdict(list)
    for alert in rows.unmailed_alerts(db, max_attempts=MAX_MAIL_ATTEMPTS):
        by_watch[alert.watch_id].append(alert)
    due: list[tuple[WatchlistWatch, User, list[WatchlistAlert]]] = []
    for watch_id, alerts in by_watch.items():
        watch = db.get(WatchlistWatch, watch_id)
        user = db.get(User, alerts[0].user_id)
        resource = Resource(RECORD_KIND, str(watch_id), organisation_id=alerts[0].organisation_id)
        if not allowed(actor, Action.MAIL_WATCHLIST_ALERTS, resource):
            raise PermissionDenied("watchlist.mail not allowed")
        if watch is None or watch.ended_at is not None or user is None or not user.is_active:
            for alert in alerts:  # nobody to tell: never tried again
                alert.mail_attempts = MAX_MAIL_ATTEMPTS
                alert.mail_error = "not sent: the watch was stopped or the account is inactive"
            summary.skipped += len(alerts)
            continue
        due.append((watch, user, alerts))
    summary.pending = len(due)
    if not settings.smtp_host or not due:
        db.flush()
        return summary
    try:
        with smtp_connection(settings) as smtp:
            for watch, user, alerts in due:
                for alert in alerts:
                    alert.mail_attempts += 1
                try:
                    smtp.send_message(
                        message(settings, user.email, MAIL_SUBJECT, mail_text(watch.id, settings))
                    )
                except smtplib.SMTPException as exc:
                    for alert in alerts:
                        alert.mail_error = str(exc)[:500]
                    summary.failed += 1
                    continue
                for alert in alerts:
                    alert.mailed_at = now
                    alert.mail_error = None
                summary.sent += 1
                audit.record(
                    db,
                    audit.WatchlistAlertMailed(
                        watch_id=watch.id, user_id=user.id, n_alerts=len(alerts)
                    ),
                    actor=actor,
                    ip=None,
                )
    except OSError as exc:
        summary.errors.append(f"SMTP server {settings.smtp_host}:{settings.smtp_port}: {exc}")
    summary.pending = len(due) - summary.sent
    db.flush()
    return summary
