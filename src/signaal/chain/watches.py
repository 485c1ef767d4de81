"""Protective watch: a youth-care or care organisation learns when the phone number of a
vulnerable young person shows up in a stored ad analysis.

Recruiters target girls in youth care who turn 18 and lose their support. With the young
person's consent or a documented legal basis, and until an end date (at most
:data:`MAX_WATCH_DAYS` ahead), a user with ``watches.manage`` registers the number. It is kept
only as:

* a **purpose-specific keyed pseudonym** (``watch:…``): HMAC-SHA256, with a key derived for
  the purpose "protective-watch" from the deployment's pseudonym key (HKDF, as the matching
  encodings), over the ads pipeline's own contact-point pseudonym (``phone:…``, see
  :mod:`signaal.privacy.pseudonyms`). The application can therefore compare it with a stored
  run's contact points, but a reader of the database cannot join the watches with the
  analysis or the subjects' tables (different values), and the clear number is never stored;
* the masked form (``06-•••••89``) for the list of watches.

When a run is stored (``signaal analyse --store``), :func:`check_run` (as the system, action
``watches.check``) looks up the run's phone pseudonyms among the watches in force. A watch
fires only on a run of its own organisation or of an organisation that shares with it an
agreement in force covering hit/no-hit (nothing crosses organisations without an agreement).
It records a :class:`~signaal.store.models.WatchHit` (how many ads of the networks that
advertise with the number, their municipalities, the first date; never an ad) and notifies, in
the app, the watching organisation's users who may manage watches and the care coordinators of
the care coordination organisations under such an agreement with it: "a watched number appears
in N ads, municipality X, since date". No notification holds an ad's text or the number.
The same watch fires once per run.

:func:`expire_watches` (``signaal chain expire-watches``, action ``watches.expire``) deletes
every watch whose end date has passed, with its hits, each deletion audited. The clock is
injected everywhere (``now``), so that tests and a scheduled worker decide what "now" is.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signaal.chain import journal, matching
from signaal.chain.authz import SYSTEM, Action, Actor, Resource, allowed, roles
from signaal.chain.signals import clean_phones, clean_text
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.privacy.bloom import derive_key
from signaal.privacy.masking import masked_contact
from signaal.privacy.pseudonyms import pseudonym
from signaal.store.models import (
    AnalysisAd,
    AnalysisNetwork,
    AnalysisRun,
    Notification,
    Organisation,
    OrganisationKind,
    ProtectiveWatch,
    WatchHit,
    utcnow,
)

PURPOSE = "protective-watch"
MAX_WATCH_DAYS = 365
MAX_LABEL = 120
MAX_LEGAL_BASIS = 500
BASES = ("consent", "legal_basis")
RECORD_KIND = "protective_watch"
COORDINATOR_ROLE = "care_coordinator"
MAX_MUNICIPALITIES_SHOWN = 3


def watch_pseudonym(contact_pseudonym: str, pseudonym_key: str) -> str:
    """The watch's pseudonym of a contact point pseudonym of the ads pipeline (``phone:…``)."""
    key = derive_key(pseudonym_key, PURPOSE, "phone")
    digest = hmac.new(key, contact_pseudonym.encode(), hashlib.sha256).hexdigest()
    return f"watch:{digest[:32]}"


@dataclass(frozen=True)
class WatchDraft:
    label: str
    phone: str
    basis: str
    ends_at: datetime | None
    legal_basis: str = ""


@dataclass(frozen=True)
class CleanWatch:
    label: str
    phone: str  # canonical (E.164): pseudonymised and masked, then forgotten
    basis: str
    legal_basis: str
    ends_at: datetime


def clean_watch(draft: WatchDraft, *, now: datetime) -> CleanWatch:
    """Check every field (pure): an alias, a phone number, consent or a written legal basis,
    and an end date in the future, at most :data:`MAX_WATCH_DAYS` ahead."""
    problems: dict[str, str] = {}
    label = clean_text(draft.label, MAX_LABEL)
    if label is None or "\n" in label:
        problems["label"] = f"at most {MAX_LABEL} characters on one line"
    elif not label:
        problems["label"] = "required"
    phones = clean_phones([draft.phone], problems, "phone")
    if not phones and "phone" not in problems:
        problems["phone"] = "required"
    if draft.basis not in BASES:
        problems["basis"] = "consent or legal basis"
    legal = clean_text(draft.legal_basis, MAX_LEGAL_BASIS)
    if legal is None:
        problems["legal_basis"] = f"at most {MAX_LEGAL_BASIS} characters"
    elif draft.basis == "legal_basis" and not legal:
        problems["legal_basis"] = "required for a legal basis"
    if draft.ends_at is None or draft.ends_at.tzinfo is None:
        problems["ends_at"] = "required"
    elif not now < draft.ends_at <= now + timedelta(days=MAX_WATCH_DAYS):
        problems["ends_at"] = f"after now and at most {MAX_WATCH_DAYS} days ahead"
    if problems:
        raise FieldErrors(problems)
    assert label is not None
    assert legal is not None
    assert draft.ends_at is not None
    return CleanWatch(
        label=label,
        phone=phones[0],
        basis=draft.basis,
        legal_basis=legal if draft.basis == "legal_basis" else "",
        ends_at=draft.ends_at,
    )


def _owned(watch: ProtectiveWatch) -> Resource:
    return Resource(RECORD_KIND, str(watch.id), organisation_id=watch.organisation_id)


def register_watch(
    db: Session,
    actor: Actor,
    draft: WatchDraft,
    *,
    pseudonym_key: str,
    ip: str | None,
    now: datetime | None = None,
) -> ProtectiveWatch:
    """Register a watch of the actor's organisation (``watches.manage``); audited with the
    basis and the end date, never the number."""
    if not allowed(actor, Action.MANAGE_WATCHES):
        raise PermissionDenied("watches.manage not allowed")
    now = now or utcnow()
    clean = clean_watch(draft, now=now)
    watch = ProtectiveWatch(
        organisation_id=actor.organisation_id,
        label=clean.label,
        pseudonym=watch_pseudonym(pseudonym("phone", clean.phone, pseudonym_key), pseudonym_key),
        masked=masked_contact("phone", clean.phone),
        basis=clean.basis,
        legal_basis=clean.legal_basis,
        ends_at=clean.ends_at,
        created_at=now,
        created_by_user_id=None if actor.token_id is not None else actor.user_id,
    )
    db.add(watch)
    db.flush()
    journal.written(
        db,
        actor,
        RECORD_KIND,
        watch.id,
        "created",
        ip=ip,
        fields={"basis": clean.basis, "ends_at": clean.ends_at.isoformat()},
    )
    return watch


def watches_of(
    db: Session, actor: Actor, *, ip: str | None, now: datetime | None = None
) -> list[ProtectiveWatch]:
    """The actor's organisation's watches in force, soonest end first; the read is audited."""
    if not allowed(actor, Action.MANAGE_WATCHES):
        raise PermissionDenied("watches.manage not allowed")
    now = now or utcnow()
    rows = list(
        db.scalars(
            select(ProtectiveWatch)
            .where(
                ProtectiveWatch.organisation_id == actor.organisation_id,
                ProtectiveWatch.ends_at > now,
            )
            .order_by(ProtectiveWatch.ends_at, ProtectiveWatch.id)
        )
    )
    if rows:
        journal.read_own_list(db, actor, RECORD_KIND, (w.id for w in rows), ip=ip)
    return rows


def hits_of(db: Session, actor: Actor, watch: ProtectiveWatch) -> list[WatchHit]:
    """The hits of an own watch, newest first."""
    if not allowed(actor, Action.MANAGE_WATCHES, _owned(watch)):
        raise NotFoundError("no such watch")
    return list(
        db.scalars(
            select(WatchHit).where(WatchHit.watch_id == watch.id).order_by(WatchHit.run_id.desc())
        )
    )


def end_watch(db: Session, actor: Actor, watch: ProtectiveWatch, *, ip: str | None) -> None:
    """End an own watch before its end date (consent withdrawn, no longer needed): deleted with
    its hits, audited."""
    if not allowed(actor, Action.MANAGE_WATCHES, _owned(watch)):
        raise NotFoundError("no such watch")
    journal.written(db, actor, RECORD_KIND, watch.id, "ended", ip=ip)
    db.execute(delete(WatchHit).where(WatchHit.watch_id == watch.id))
    db.delete(watch)
    db.flush()


def _notify(
    db: Session,
    organisation: Organisation,
    role_names: list[str],
    text: str,
    watch: ProtectiveWatch,
    now: datetime,
) -> None:
    db.add_all(
        Notification(
            organisation_id=organisation.id,
            role=name,
            kind="watch_hit",
            text=text,
            record_type=RECORD_KIND,
            record_id=watch.id if organisation.id == watch.organisation_id else None,
            created_at=now,
        )
        for name in role_names
    )


def _watchers(organisation: Organisation) -> list[str]:
    """The roles of the organisation that manage watches (and so are told of their hits)."""
    return [
        name
        for name, definition in roles().items()
        if Action.MANAGE_WATCHES in definition.actions and definition.fits(organisation.kind)
    ]


@dataclass(frozen=True)
class Sighting:
    """Where a watched number was seen in one run: counts and places, never an ad."""

    n_ads: int
    municipalities: tuple[str, ...]
    first_seen: datetime | None

    def describe(self) -> str:
        places = ", ".join(self.municipalities[:MAX_MUNICIPALITIES_SHOWN]) or "unknown"
        if len(self.municipalities) > MAX_MUNICIPALITIES_SHOWN:
            places += f" and {len(self.municipalities) - MAX_MUNICIPALITIES_SHOWN} more"
        since = self.first_seen.date().isoformat() if self.first_seen else "an unknown date"
        return f"{self.n_ads} ads, municipality {places}, since {since}"


def _sighting(db: Session, run_id: int, network_ids: set[str]) -> Sighting:
    ads = db.execute(
        select(AnalysisAd.municipality, AnalysisAd.posted_at).where(
            AnalysisAd.run_id == run_id, AnalysisAd.network_id.in_(sorted(network_ids))
        )
    ).all()
    places = tuple(sorted({m for m, _ in ads if m}))
    dates = [posted for _, posted in ads if posted is not None]
    return Sighting(len(ads), places, min(dates) if dates else None)


def check_run(
    db: Session,
    run_id: int,
    *,
    pseudonym_key: str,
    now: datetime,
    actor: Actor = SYSTEM,
) -> list[WatchHit]:
    """Compare stored run ``run_id`` with the watches in force at ``now``; record and notify each
    new hit (see the module docstring). Returns the hits recorded now."""
    run = db.get(AnalysisRun, run_id)
    if run is None:
        raise NotFoundError(f"no analysis run {run_id}")
    resource = Resource("analysis_run", str(run.id), organisation_id=run.organisation_id)
    if not allowed(actor, Action.CHECK_WATCHES, resource):
        raise PermissionDenied("watches.check not allowed")
    networks_of: dict[str, set[str]] = {}
    for network_id, points in db.execute(
        select(AnalysisNetwork.network_id, AnalysisNetwork.contact_points).where(
            AnalysisNetwork.run_id == run.id
        )
    ):
        for point in points.split(";"):
            if point.startswith("phone:"):
                networks_of.setdefault(watch_pseudonym(point, pseudonym_key), set()).add(network_id)
    if not networks_of:
        return []
    watches = db.scalars(
        select(ProtectiveWatch)
        .where(ProtectiveWatch.pseudonym.in_(sorted(networks_of)), ProtectiveWatch.ends_at > now)
        .order_by(ProtectiveWatch.id)
    ).all()
    found: list[WatchHit] = []
    for watch in watches:
        partners = matching.agreed_with(db, watch.organisation_id, now)
        if run.organisation_id != watch.organisation_id and run.organisation_id not in partners:
            continue
        if db.get(WatchHit, (watch.id, run.id)) is not None:
            continue
        sighting = _sighting(db, run.id, networks_of[watch.pseudonym])
        hit = WatchHit(
            watch_id=watch.id,
            run_id=run.id,
            organisation_id=watch.organisation_id,
            n_ads=sighting.n_ads,
            municipalities=";".join(sighting.municipalities),
            first_seen=sighting.first_seen,
            found_at=now,
        )
        db.add(hit)
        found.append(hit)
        notified = _notify_hit(db, watch, partners, sighting, now)
        journal.written(
            db,
            actor,
            RECORD_KIND,
            watch.id,
            "hit",
            ip=None,
            fields={"run": run.id, "n_ads": sighting.n_ads, "notified": notified},
        )
    db.flush()
    return found


def _notify_hit(
    db: Session, watch: ProtectiveWatch, partners: set[int], sighting: Sighting, now: datetime
) -> list[int]:
    """Notify the watching organisation and the care coordinators under an agreement with it;
    returns the organisations notified."""
    owner = db.get(Organisation, watch.organisation_id)
    assert owner is not None
    _notify(
        db,
        owner,
        _watchers(owner),
        f"A watched number ({watch.label}, {watch.masked}) appears in {sighting.describe()}, "
        "in a stored ad analysis. See Protective watch.",
        watch,
        now,
    )
    notified = [owner.id]
    coordinators = db.scalars(
        select(Organisation)
        .where(
            Organisation.id.in_(sorted(partners)),
            Organisation.kind == OrganisationKind.CARE_COORDINATION,
        )
        .order_by(Organisation.id)
    ).all()
    route = f" Contact: {owner.contact_route}." if owner.contact_route else ""
    for coordination in coordinators:
        _notify(
            db,
            coordination,
            [COORDINATOR_ROLE],
            f"A number watched by {owner.name} appears in {sighting.describe()}, in a stored "
            f"ad analysis.{route}",
            watch,
            now,
        )
        notified.append(coordination.id)
    return notified


def expire_watches(db: Session, now: datetime, *, actor: Actor = SYSTEM) -> list[int]:
    """Delete every watch whose end date is not after ``now`` (with its hits); each deletion
    is audited. Returns the ids deleted."""
    expired = db.scalars(
        select(ProtectiveWatch).where(ProtectiveWatch.ends_at <= now).order_by(ProtectiveWatch.id)
    ).all()
    deleted: list[int] = []
    for watch in expired:
        if not allowed(actor, Action.EXPIRE_WATCHES, _owned(watch)):
            raise PermissionDenied("watches.expire not allowed")
        journal.written(
            db,
            actor,
            RECORD_KIND,
            watch.id,
            "expired",
            ip=None,
            fields={"organisation": watch.organisation_id, "ended_at": watch.ends_at.isoformat()},
        )
        db.execute(delete(WatchHit).where(WatchHit.watch_id == watch.id))
        db.delete(watch)
        deleted.append(watch.id)
    db.flush()
    return deleted
