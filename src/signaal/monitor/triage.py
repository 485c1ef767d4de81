"""The triage queue: the personas and networks of an organisation's stored analysis by risk, and
the decisions people take on them.

A decision is one of:

- ``assign``: to a colleague of the same organisation whose role may decide on triage items;
- ``review``: looked at, nothing further (no label);
- ``escalate``: a signal for the chain is registered through :func:`signaal.chain.signals.
  register` (source ``ad_monitor``, the persona or the network's personas linked); needs
  ``signals.create`` too; label True;
- ``dismiss``: with a reason (required); label False.

Every decision is a :class:`~signaal.store.models.TriageDecision` row (the labels that
:func:`export_labels` turns into the ``--truth`` file of ``signaal calibrate``) and an audit
event. Items and decisions belong to the organisation that took them: another organisation
sees neither (its queue is of its own run, and ``allowed()`` refuses its items).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal import audit, geo
from signaal.ads.risk import load_weights
from signaal.chain import signals
from signaal.chain.authz import Action, Actor, Resource, allowed, roles
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.store import analysis
from signaal.store import triage as rows
from signaal.store.models import AnalysisRun, TriageDecision, TriageItem, User, utcnow
from signaal.store.triage import ItemKind, QueueFilter, QueueRow

DECISIONS = ("assign", "review", "escalate", "dismiss")
STATUS_OF = {
    "assign": "assigned",
    "review": "reviewed",
    "escalate": "escalated",
    "dismiss": "dismissed",
}
LABEL_OF: dict[str, bool] = {"escalate": True, "dismiss": False}
MAX_REASON = 1000
PAGE_SIZE = 25
LABEL_FIELD = "controlled"  # the default --label of ``signaal calibrate``


def _bands() -> dict[str, tuple[int, int | None]]:
    """Score ranges of the risk levels: the bands of :mod:`signaal.ads.risk` (10 points a
    level edge: below 40 recorded only, 40-69 review, 70 and up priority)."""
    defaults = load_weights()
    review, priority = round(10 * defaults.review), round(10 * defaults.priority)
    return {"log": (0, review), "review": (review, priority), "priority": (priority, None)}


LEVELS = _bands()


def level_of(score: int) -> str:
    for name, (low, high) in LEVELS.items():
        if score >= low and (high is None or score < high):
            return name
    return "log"


def resolve_area(text: str) -> tuple[str, ...] | None:
    """The municipalities a place or region as typed names: a province ("Zuid-Holland") gives
    all of its municipalities, a place ("Den Haag", a village) its municipality; None when
    nothing is known by that name."""
    folded = geo.fold_place_name(text)
    if not folded:
        return None
    in_province = tuple(
        m.name for m in geo.municipalities() if geo.fold_place_name(m.province) == folded
    )
    if in_province:
        return in_province
    place = geo.resolve_place(text)
    return (place.name,) if place else None


@dataclass(frozen=True)
class QueuePage:
    run: AnalysisRun
    items: list[QueueRow]
    total: int
    page: int
    pages: int
    filters: QueueFilter = field(default_factory=QueueFilter)


def _run_resource(run: AnalysisRun) -> Resource:
    return Resource("analysis_run", str(run.id), organisation_id=run.organisation_id)


def queue(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    filters: QueueFilter,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    ip: str | None,
    audit_filters: dict[str, str] | None = None,
) -> QueuePage:
    """One page of the queue of ``run`` (audited with the ids shown)."""
    if not allowed(actor, Action.VIEW_TRIAGE, _run_resource(run)):
        raise PermissionDenied("triage.view not allowed on this run")
    page = max(page, 1)
    items, total = rows.queue_page(
        db,
        run.id,
        run.organisation_id,
        filters,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    pages = max((total + page_size - 1) // page_size, 1)
    audit.record(
        db,
        audit.TriageViewed(
            run_id=run.id,
            kind=filters.kind,
            filters=audit_filters or {},
            shown=tuple(item.item_id for item in items),
        ),
        actor=actor,
        ip=ip,
    )
    return QueuePage(run, items, total, page, pages, filters)


def sites(db: Session, actor: Actor, run: AnalysisRun) -> list[str]:
    """The sites of the run's ads: the choices of the site filter."""
    if not allowed(actor, Action.VIEW_TRIAGE, _run_resource(run)):
        raise PermissionDenied("triage.view not allowed on this run")
    return rows.sites_of_run(db, run.id)


def may_decide(role: str) -> bool:
    definition = roles().get(role)
    return definition is not None and Action.DECIDE_TRIAGE in definition.actions


def colleagues(db: Session, actor: Actor) -> list[User]:
    """The active users of the actor's organisation an item can be assigned to (none for an
    actor who may not decide)."""
    if not allowed(actor, Action.DECIDE_TRIAGE):
        return []
    users = db.scalars(
        select(User)
        .where(User.organisation_id == actor.organisation_id, User.is_active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return [user for user in users if may_decide(user.role)]


def assignees(db: Session, actor: Actor, run: AnalysisRun, ids: Sequence[int]) -> dict[int, User]:
    """The assignees of the items of ``run`` a page shows (users of the run's organisation)."""
    if not allowed(actor, Action.VIEW_TRIAGE, _run_resource(run)):
        raise PermissionDenied("triage.view not allowed on this run")
    if not ids:
        return {}
    found = db.scalars(
        select(User).where(User.organisation_id == run.organisation_id, User.id.in_(set(ids)))
    )
    return {user.id: user for user in found}


def item_resource(run: AnalysisRun, kind: str, item_id: str) -> Resource:
    return Resource(kind, item_id, organisation_id=run.organisation_id)


def _escalate(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    kind: ItemKind,
    item_id: str,
    reason: str,
    *,
    pseudonym_key: str,
    ip: str | None,
    now: datetime,
) -> int:
    """Register the signal of an escalation; returns its id."""
    if not allowed(actor, Action.CREATE_SIGNALS):
        raise PermissionDenied("escalating needs signals.create")
    if kind == "persona":
        detail = analysis.persona_detail(db, run.id, item_id)
        assert detail is not None  # checked by the caller
        places, score = detail.persona.municipalities, detail.persona.risk_score
        personas = [(run.id, item_id)]
        what = f"persona {item_id}"
    else:
        network = analysis.network_detail(db, run.id, item_id)
        assert network is not None
        places, score = network.municipalities, network.risk_score
        members = analysis.top_personas(db, run.id, limit=signals.MAX_PERSONAS, network_id=item_id)
        personas = [(run.id, p.persona_id) for p in members]
        what = f"netwerk {item_id}"
    if not places:
        raise FieldErrors({"decision": "the item has no municipality to register a signal in"})
    text = f"Geëscaleerd uit de triagelijst van de advertentiemonitor: {what}, risico {score}."
    if reason:
        text += f"\n{reason}"
    signal = signals.register(
        db,
        actor,
        signals.SignalDraft(
            category="ad_indicators",
            municipality=places[-1],  # where it was advertised last
            observed_at=now,
            text=text,
            source="ad_monitor",
            personas=personas,
        ),
        pseudonym_key=pseudonym_key,
        ip=ip,
        now=now,
    )
    return signal.id


def decide(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    kind: ItemKind,
    item_id: str,
    decision: str,
    *,
    assignee_id: int | None = None,
    reason: str = "",
    pseudonym_key: str,
    ip: str | None,
    now: datetime | None = None,
) -> TriageItem:
    """Take ``decision`` on a persona or network of ``run``; FieldErrors before anything is
    written when a value is wrong."""
    if not allowed(actor, Action.DECIDE_TRIAGE, item_resource(run, kind, item_id)):
        raise PermissionDenied("triage.decide not allowed on this item")
    if not rows.item_in_run(db, run.id, kind, item_id):
        raise NotFoundError(f"{kind} {item_id} not in run {run.id}")
    now = now or utcnow()
    problems: dict[str, str] = {}
    if decision not in DECISIONS:
        problems["decision"] = "unknown decision"
    cleaned = signals.clean_text(reason, MAX_REASON)
    if cleaned is None:
        problems["reason"] = f"at most {MAX_REASON} characters, no control characters"
    elif decision == "dismiss" and not cleaned:
        problems["reason"] = "required"
    assignee: User | None = None
    if decision == "assign":
        assignee = db.get(User, assignee_id) if assignee_id else None
        if (
            assignee is None
            or assignee.organisation_id != run.organisation_id
            or not assignee.is_active
            or not may_decide(assignee.role)
        ):
            problems["assignee"] = "not a colleague who works on the triage queue"
    item = rows.find_item(db, run.organisation_id, kind, item_id)
    if decision == "escalate" and item is not None and item.signal_id is not None:
        problems["decision"] = "already escalated"
    if problems:
        raise FieldErrors(problems)
    reason = cleaned or ""
    signal_id = (
        _escalate(
            db, actor, run, kind, item_id, reason, pseudonym_key=pseudonym_key, ip=ip, now=now
        )
        if decision == "escalate"
        else None
    )
    if item is None:
        item = TriageItem(organisation_id=run.organisation_id, kind=kind, item_id=item_id)
        db.add(item)
    item.status = STATUS_OF[decision]
    if assignee is not None:
        item.assigned_to_user_id = assignee.id
    if signal_id is not None:
        item.signal_id = signal_id
    item.updated_at = now
    item.updated_by_user_id = actor.user_id
    db.flush()
    db.add(
        TriageDecision(
            organisation_id=run.organisation_id,
            triage_item_id=item.id,
            run_id=run.id,
            decision=decision,
            label=LABEL_OF.get(decision),
            reason=reason,
            assigned_to_user_id=assignee.id if assignee else None,
            signal_id=signal_id,
            at=now,
            user_id=actor.user_id,
        )
    )
    db.flush()
    audit.record(
        db,
        audit.TriageDecided(
            run_id=run.id,
            kind=kind,
            item_id=item_id,
            decision=decision,
            assigned_to_user_id=assignee.id if assignee else None,
            signal_id=signal_id,
        ),
        actor=actor,
        ip=ip,
    )
    return item


def latest_decisions(
    db: Session, actor: Actor, run: AnalysisRun, kind: ItemKind, item_ids: Sequence[str]
) -> dict[str, TriageDecision]:
    """The newest decision on each item a page of ``run`` shows (of the run's organisation)."""
    if not allowed(actor, Action.VIEW_TRIAGE, _run_resource(run)):
        raise PermissionDenied("triage.view not allowed on this run")
    return rows.latest_decisions(db, run.organisation_id, kind, item_ids)


def history(db: Session, actor: Actor, run: AnalysisRun, item: TriageItem) -> list[TriageDecision]:
    """The decisions on an item of the actor's organisation, newest first."""
    if not allowed(actor, Action.VIEW_TRIAGE, item_resource(run, item.kind, item.item_id)):
        raise PermissionDenied("triage.view not allowed on this item")
    return rows.decisions_of(db, item)


@dataclass(frozen=True)
class LabelExport:
    text: str  # JSON Lines: ad_id, controlled, kind, item_id
    n_decisions: int
    n_ads: int
    n_without_ads: int  # decisions whose run has been purged
    sha256: str


def export_labels(db: Session, actor: Actor, organisation_id: int) -> LabelExport:
    """The latest labelled decision of every item of ``organisation_id`` as the ``--truth`` file
    of ``signaal calibrate``: one line per ad of the item in the run it was decided on. A
    persona's own decision wins over the decision on its network."""
    owner = Resource("organisation", str(organisation_id), organisation_id=organisation_id)
    if not allowed(actor, Action.EXPORT_TRIAGE_LABELS, owner):
        raise PermissionDenied("triage.export_labels not allowed")
    decided = rows.labelled_decisions(db, organisation_id)
    # Networks first, so that a persona's decision overwrites its network's for its ads.
    decided.sort(key=lambda entry: (entry[0].kind != "network", entry[0].id))
    labels: dict[str, tuple[bool, str, str]] = {}
    without = 0
    for item, run_id, label in decided:
        kind: ItemKind = "network" if item.kind == "network" else "persona"
        ads = rows.ad_ids_of(db, run_id, kind, item.item_id)
        if not ads:
            without += 1
        for ad_id in ads:
            labels[ad_id] = (label, item.kind, item.item_id)
    text = "".join(
        json.dumps(
            {"ad_id": ad_id, LABEL_FIELD: label, "kind": kind, "item_id": item_id},
            ensure_ascii=False,
        )
        + "\n"
        for ad_id, (label, kind, item_id) in sorted(labels.items())
    )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    audit.record(
        db,
        audit.TriageLabelsExported(
            organisation_id=organisation_id,
            n_decisions=len(decided),
            n_ads=len(labels),
            sha256=digest,
        ),
        actor=actor,
        ip=None,
    )
    return LabelExport(text, len(decided), len(labels), without, digest)
