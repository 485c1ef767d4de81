"""Cases: the coordinated follow-up of one organisation for one subject.

A case is opened for a subject the organisation may see (one open case per subject per
organisation), moves over :data:`signaal.chain.catalogue.CASE_STAGES` forward or back to an
earlier stage, is closed with a reason and reopened to ``assessment``. Every change lands in the
case's history (``case_events``). Vulnerability assessments are a timeline of dated yes/no/unknown
answers with notes: never a score, never a verdict. Aangifte support records who accompanied the
person, when, whether she was present, the police unit and the follow-up.

Only the owning organisation changes a case; another organisation reads it when it is shared
(``visibility``). Contacts and tasks of a case are shown to the owning organisation only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signaal.chain import journal, visibility
from signaal.chain.authz import Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    aware,
    changed_rows,
    clean_text,
    require,
    user_of_organisation,
)
from signaal.chain.catalogue import AANGIFTE_PRESENCE, CASE_STAGE_ORDER, VULNERABILITY_FACTORS
from signaal.errors import ConflictError, FieldErrors, NotFoundError
from signaal.store.models import (
    AangifteSupport,
    Case,
    CaseEvent,
    OutreachContact,
    Placement,
    Signal,
    Subject,
    Task,
    VulnerabilityAssessment,
    utcnow,
)

CLOSED = "closed"
REOPEN_STAGE = "assessment"
ANSWERS: dict[str, bool | None] = {"yes": True, "no": False, "unknown": None}
MAX_PAGE = 200


def answer_code(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def stage_change_problem(current: str, target: str, reason: str) -> str | None:
    """Why a case may not go from ``current`` to ``target`` (None: it may). Forward or back
    over the stages; closing needs a reason; a closed case only reopens to assessment."""
    if target not in CASE_STAGE_ORDER:
        return "unknown stage"
    if target == current:
        return "the case is already in this stage"
    if current == CLOSED and target != REOPEN_STAGE:
        return "a closed case reopens to assessment"
    if target == CLOSED and not reason:
        return "closing needs a reason"
    return None


def _event(
    db: Session,
    actor: Actor,
    case: Case,
    kind: str,
    *,
    from_stage: str | None = None,
    to_stage: str | None = None,
    text: str = "",
    details: dict[str, object] | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        organisation_id=case.organisation_id,
        at=now or utcnow(),
        user_id=None if actor.is_system else actor.user_id,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        text=text,
        details=json.dumps(details or {}, sort_keys=True),
    )
    db.add(event)
    return event


def record_event(
    db: Session, actor: Actor, case: Case, kind: str, *, details: dict[str, object] | None = None
) -> None:
    """A history line of another service (a contact, a placement) on a case of the actor's
    organisation; the caller checked the permission."""
    _event(db, actor, case, kind, details=details)
    case.updated_at = utcnow()


def open_case(
    db: Session,
    actor: Actor,
    *,
    subject_id: object,
    owner_user_id: object = None,
    signal_id: object = None,
    ip: str | None = None,
) -> Case:
    """Open a case for a subject the actor's organisation may see; ConflictError when it has an
    open case for that subject already."""
    require(actor, Action.MANAGE_CASES)
    errors: dict[str, str] = {}
    subject = None
    if isinstance(subject_id, int) and not isinstance(subject_id, bool):
        subject = db.get(Subject, subject_id)
        if subject is not None and visibility.basis(db, actor, subject) is None:
            subject = None
    if subject is None:
        errors["subject_id"] = "unknown subject"
    owner = user_of_organisation(db, errors, "owner_user_id", owner_user_id, actor.organisation_id)
    signal = None
    if signal_id not in (None, ""):
        if isinstance(signal_id, int) and not isinstance(signal_id, bool):
            signal = db.get(Signal, signal_id)
            if signal is not None and visibility.basis(db, actor, signal) is None:
                signal = None
        if signal is None:
            errors["signal_id"] = "unknown signal"
    if errors:
        raise FieldErrors(errors)
    assert subject is not None
    existing = db.scalars(
        select(Case.id).where(
            Case.subject_id == subject.id,
            Case.organisation_id == actor.organisation_id,
            Case.stage != CLOSED,
        )
    ).first()
    if existing is not None:
        raise ConflictError(f"the organisation has an open case for this subject: #{existing}")
    now = utcnow()
    case = Case(
        organisation_id=actor.organisation_id,
        subject_id=subject.id,
        stage=CASE_STAGE_ORDER[0],
        owner_user_id=owner.id if owner else (None if actor.is_system else actor.user_id),
        opened_at=now,
        signal_id=signal.id if signal else None,
        created_by_user_id=None if actor.is_system else actor.user_id,
        updated_at=now,
    )
    db.add(case)
    db.flush()
    _event(db, actor, case, "opened", to_stage=case.stage, now=now)
    journal.written(
        db,
        actor,
        "case",
        case.id,
        "created",
        subject_id=subject.id,
        fields={"stage": case.stage, "owner_user_id": case.owner_user_id},
        ip=ip,
    )
    return case


def _require_change(db: Session, actor: Actor, case: Case) -> None:
    require(actor, Action.MANAGE_CASES, visibility.resource_for(db, actor, case))


def move_stage(
    db: Session,
    actor: Actor,
    case: Case,
    *,
    to_stage: object,
    reason: object = "",
    ip: str | None = None,
) -> Case:
    """Move the case to another stage (forward or back); close with a reason; reopen a closed
    case to assessment. A refused move changes nothing."""
    _require_change(db, actor, case)
    errors: dict[str, str] = {}
    text = clean_text(errors, "reason", reason, limit=MAX_TEXT)
    target = to_stage if isinstance(to_stage, str) else ""
    problem = stage_change_problem(case.stage, target, text)
    if problem is not None:
        errors["reason" if problem == "closing needs a reason" else "to_stage"] = problem
    if errors:
        raise FieldErrors(errors)
    now = utcnow()
    previous = case.stage
    # Conditional on the stage read: two people moving the same case at once cannot both win.
    moved = changed_rows(
        db.execute(
            update(Case)
            .where(Case.id == case.id, Case.stage == previous)
            .values(
                stage=target,
                updated_at=now,
                closed_at=now if target == CLOSED else None,
                closed_reason=text if target == CLOSED else None,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if moved != 1:
        raise ConflictError("the case was changed meanwhile: reload it")
    db.refresh(case)
    kind = "reopened" if previous == CLOSED else ("closed" if target == CLOSED else "stage")
    _event(db, actor, case, kind, from_stage=previous, to_stage=target, text=text, now=now)
    journal.written(
        db,
        actor,
        "case",
        case.id,
        "stage",
        subject_id=case.subject_id,
        fields={"stage": [previous, target]},
        ip=ip,
    )
    return case


def set_owner(
    db: Session, actor: Actor, case: Case, *, owner_user_id: object, ip: str | None = None
) -> Case:
    _require_change(db, actor, case)
    errors: dict[str, str] = {}
    owner = user_of_organisation(db, errors, "owner_user_id", owner_user_id, case.organisation_id)
    if owner is None and "owner_user_id" not in errors:
        errors["owner_user_id"] = "required"
    if errors:
        raise FieldErrors(errors)
    assert owner is not None
    previous = case.owner_user_id
    case.owner_user_id = owner.id
    case.updated_at = utcnow()
    _event(db, actor, case, "owner", details={"owner_user_id": [previous, owner.id]})
    journal.written(
        db,
        actor,
        "case",
        case.id,
        "owner",
        subject_id=case.subject_id,
        fields={"owner_user_id": [previous, owner.id]},
        ip=ip,
    )
    return case


def record_assessment(
    db: Session,
    actor: Actor,
    case: Case,
    *,
    answers: dict[str, object],
    notes: object = "",
    ip: str | None = None,
) -> VulnerabilityAssessment:
    """A dated assessment of the six vulnerability factors (yes, no, unknown) with notes."""
    _require_change(db, actor, case)
    errors: dict[str, str] = {}
    values: dict[str, bool | None] = {}
    for factor in VULNERABILITY_FACTORS:
        raw = answers.get(factor, "unknown")
        if raw not in ANSWERS:
            errors[factor] = "choose yes, no or unknown"
        else:
            values[factor] = ANSWERS[str(raw)]
    unknown = sorted(set(answers) - set(VULNERABILITY_FACTORS))
    if unknown:
        errors[unknown[0]] = "unknown factor"
    text = clean_text(errors, "notes", notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assessment = VulnerabilityAssessment(
        case_id=case.id,
        organisation_id=case.organisation_id,
        at=utcnow(),
        user_id=None if actor.is_system else actor.user_id,
        notes=text,
        **values,
    )
    db.add(assessment)
    db.flush()
    codes = {factor: answer_code(value) for factor, value in values.items()}
    _event(db, actor, case, "assessment", details={"assessment_id": assessment.id, **codes})
    case.updated_at = utcnow()
    journal.written(
        db,
        actor,
        "vulnerability_assessment",
        assessment.id,
        "created",
        subject_id=case.subject_id,
        # Which fields were written, never the answers: they are health and vulnerability
        # data, and the audit log is kept longer than the case and is not encrypted.
        fields={"case_id": case.id, "fields": [*VULNERABILITY_FACTORS, "notes"]},
        ip=ip,
    )
    return assessment


def record_aangifte_support(
    db: Session,
    actor: Actor,
    case: Case,
    *,
    at: object,
    presence: object,
    accompanied_by_user_id: object = None,
    accompanied_by: object = "",
    police_unit: object = "",
    follow_up: object = "",
    ip: str | None = None,
) -> AangifteSupport:
    """Who accompanied the person filing a report (a user of the organisation or a name), when,
    whether present in the interview, the police unit and the follow-up."""
    _require_change(db, actor, case)
    errors: dict[str, str] = {}
    when = at if isinstance(at, datetime) else None
    if when is None:
        errors["at"] = "required"
    if presence not in AANGIFTE_PRESENCE:
        errors["presence"] = "choose one of " + ", ".join(AANGIFTE_PRESENCE)
    companion = user_of_organisation(
        db, errors, "accompanied_by_user_id", accompanied_by_user_id, case.organisation_id
    )
    name = clean_text(errors, "accompanied_by", accompanied_by, limit=MAX_SHORT)
    if companion is None and not name and "accompanied_by_user_id" not in errors:
        errors["accompanied_by"] = "name a colleague or who accompanied her"
    unit = clean_text(errors, "police_unit", police_unit, limit=MAX_SHORT)
    follow = clean_text(errors, "follow_up", follow_up, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert when is not None
    support = AangifteSupport(
        organisation_id=case.organisation_id,
        case_id=case.id,
        at=aware(when),
        accompanied_by_user_id=companion.id if companion else None,
        accompanied_by=name,
        presence=str(presence),
        police_unit=unit,
        follow_up=follow,
        created_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(support)
    db.flush()
    _event(
        db,
        actor,
        case,
        "aangifte_support",
        details={"aangifte_support_id": support.id, "presence": support.presence},
    )
    case.updated_at = utcnow()
    journal.written(
        db,
        actor,
        "aangifte_support",
        support.id,
        "created",
        subject_id=case.subject_id,
        fields={"case_id": case.id, "presence": support.presence},
        ip=ip,
    )
    return support


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    subject: Subject
    basis: str
    events: list[CaseEvent]
    assessments: list[VulnerabilityAssessment]
    aangifte: list[AangifteSupport]
    placements: list[Placement]
    contacts: list[OutreachContact]  # of the own organisation only
    tasks: list[Task]  # of the own organisation only


def case_detail(db: Session, actor: Actor, case: Case, *, ip: str | None = None) -> CaseDetail:
    """The case with its history, assessments (oldest first: a timeline), aangifte support,
    placements and (own organisation only) contacts and tasks; the read is audited."""
    require(actor, Action.VIEW_CASES, visibility.resource_for(db, actor, case))
    ground = visibility.basis(db, actor, case)
    if ground is None:
        raise NotFoundError("no such case")
    subject = db.get(Subject, case.subject_id)
    assert subject is not None
    events = list(
        db.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )
    assessments = list(
        db.scalars(
            select(VulnerabilityAssessment)
            .where(VulnerabilityAssessment.case_id == case.id)
            .order_by(VulnerabilityAssessment.at, VulnerabilityAssessment.id)
        )
    )
    aangifte = list(
        db.scalars(
            select(AangifteSupport)
            .where(AangifteSupport.case_id == case.id)
            .order_by(AangifteSupport.at, AangifteSupport.id)
        )
    )
    placements = list(
        db.scalars(select(Placement).where(Placement.case_id == case.id).order_by(Placement.id))
    )
    own = case.organisation_id == actor.organisation_id
    contacts: list[OutreachContact] = []
    tasks: list[Task] = []
    if own:
        contacts = list(
            db.scalars(
                select(OutreachContact)
                .where(
                    OutreachContact.case_id == case.id,
                    OutreachContact.organisation_id == actor.organisation_id,
                )
                .order_by(OutreachContact.at.desc(), OutreachContact.id.desc())
            )
        )
        tasks = list(
            db.scalars(
                select(Task)
                .where(Task.case_id == case.id, Task.organisation_id == actor.organisation_id)
                .order_by(Task.due_at, Task.id)
            )
        )
    journal.record_read(
        db,
        actor,
        kind="case",
        key=case.id,
        subject_id=case.subject_id,
        basis=ground.kind,
        purpose=ground.describe(),
        ip=ip,
    )
    return CaseDetail(
        case, subject, ground.kind, events, assessments, aangifte, placements, contacts, tasks
    )


@dataclass(frozen=True)
class CasePage:
    items: list[tuple[Case, Subject]]
    next: int | None  # the cursor of the next page (the last id shown)


def list_cases(
    db: Session,
    actor: Actor,
    *,
    stage: str | None = None,
    mine: bool = False,
    limit: int = 50,
    after: int | None = None,
    ip: str | None = None,
) -> CasePage:
    """The cases the actor may see (newest first), one page; the ids shown are audited."""
    require(actor, Action.VIEW_CASES)
    limit = max(1, min(limit, MAX_PAGE))
    query = (
        select(Case, Subject)
        .join(Subject, Subject.id == Case.subject_id)
        .where(visibility.visible_clause(actor, Case))
    )
    if stage:
        query = query.where(Case.stage == stage)
    if mine:
        query = query.where(Case.owner_user_id == actor.user_id)
    if after is not None:
        query = query.where(Case.id < after)
    rows = db.execute(query.order_by(Case.id.desc()).limit(limit + 1)).all()
    items = [(row[0], row[1]) for row in rows[:limit]]
    if items:
        journal.record_read(
            db,
            actor,
            kind="case",
            key=None,
            subject_id=None,
            basis="list",
            purpose="case list",
            ip=ip,
            view="list",
            shown=tuple(case.id for case, _ in items),
        )
    return CasePage(items, items[-1][0].id if len(rows) > limit else None)


def case_of_actor(db: Session, actor: Actor, case_id: object) -> Case | None:
    """A case of the actor's own organisation (for links from contacts and tasks)."""
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        return None
    case = db.get(Case, case_id)
    return case if case is not None and case.organisation_id == actor.organisation_id else None
