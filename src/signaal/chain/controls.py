"""Joint controls: a visit planned by the police with an outreach partner organisation.

The shared part (when, where, shared notes) lives on :class:`JointControl` and is seen and kept
by both organisations (``controls.manage`` is a shared action: the partner is in the control's
``shared_with``). Each organisation's own part (:class:`JointControlPart`) is seen only by that
organisation: the police's investigative notes never reach the outreach partner, and the other
way round. Contacts logged during a control link to it (``OutreachContact.joint_control_id``) and
stay with the organisation that logged them.

The visit list (:class:`JointControlPersona`): the planner selects personas of its own latest
analysis run (``add_persona`` checks that the id names one there; another organisation's or an
unknown id is a field error). Only the planner adds and removes them: the personas are its
analysis. Both organisations see the list's practical part (municipality where last advertised,
when, the languages of the ads as ``signaal.ads.normalise.detect_language`` reads the stored
texts, since the store keeps no language, and the risk score); contact points are not part of
the shared control: the partner gets none from :func:`visit_list`, the planner gets the
pseudonyms, revealed only through the audited reveal flow (``contacts.reveal`` on the run's own
organisation). The outcome of a visit (a code of :data:`VISIT_OUTCOMES`) is shared with the
partner; its note only with the organisation that recorded it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signaal.ads.normalise import detect_language
from signaal.chain import journal, visibility
from signaal.chain.authz import Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    aware,
    clean_text,
    require,
)
from signaal.errors import ConflictError, FieldErrors, NotFoundError
from signaal.geo import resolve_place
from signaal.store import analysis
from signaal.store.models import (
    JointControl,
    JointControlPart,
    JointControlPersona,
    Organisation,
    OrganisationKind,
    OutreachContact,
    utcnow,
)

# Who a control is planned with: organisations that do outreach.
PARTNER_KINDS = frozenset(
    {OrganisationKind.OUTREACH, OrganisationKind.GGD, OrganisationKind.CARE_COORDINATION}
)
MAX_AHEAD = timedelta(days=366)


def _planning(
    db: Session, actor: Actor, errors: dict[str, str], planned_at: object, municipality: object
) -> tuple[datetime | None, str | None]:
    when = None
    if not isinstance(planned_at, datetime):
        errors["planned_at"] = "required"
    elif aware(planned_at) > utcnow() + MAX_AHEAD:
        errors["planned_at"] = "more than a year ahead"
    else:
        when = aware(planned_at)
    place = None
    if municipality not in (None, ""):
        found = resolve_place(municipality) if isinstance(municipality, str) else None
        if found is None:
            errors["municipality"] = "unknown municipality"
        else:
            place = found.name
    return when, place


def partner_organisations(db: Session, actor: Actor) -> list[Organisation]:
    require(actor, Action.MANAGE_CONTROLS)
    return list(
        db.scalars(
            select(Organisation)
            .where(
                Organisation.id != actor.organisation_id,
                Organisation.kind.in_([k.value for k in PARTNER_KINDS]),
            )
            .order_by(Organisation.name)
        )
    )


def plan_control(
    db: Session,
    actor: Actor,
    *,
    partner_organisation_id: object,
    planned_at: object,
    municipality: object = None,
    location: object = "",
    shared_notes: object = "",
    ip: str | None = None,
) -> JointControl:
    require(actor, Action.MANAGE_CONTROLS)
    errors: dict[str, str] = {}
    partner = (
        db.get(Organisation, partner_organisation_id)
        if isinstance(partner_organisation_id, int)
        and not isinstance(partner_organisation_id, bool)
        else None
    )
    if partner is None or partner.id == actor.organisation_id or partner.kind not in PARTNER_KINDS:
        errors["partner_organisation_id"] = "choose an outreach partner"
    when, place = _planning(db, actor, errors, planned_at, municipality)
    where = clean_text(errors, "location", location, limit=MAX_SHORT)
    notes = clean_text(errors, "shared_notes", shared_notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert partner is not None
    assert when is not None
    control = JointControl(
        organisation_id=actor.organisation_id,
        partner_organisation_id=partner.id,
        planned_at=when,
        municipality=place,
        location=where,
        shared_notes=notes,
        created_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(control)
    db.flush()
    journal.written(
        db,
        actor,
        "joint_control",
        control.id,
        "created",
        fields={"partner_organisation_id": partner.id, "municipality": place},
        ip=ip,
    )
    return control


def _require(db: Session, actor: Actor, control: JointControl) -> None:
    require(actor, Action.MANAGE_CONTROLS, visibility.resource_for(db, actor, control))


def update_shared(
    db: Session,
    actor: Actor,
    control: JointControl,
    *,
    planned_at: object,
    municipality: object = None,
    location: object = "",
    shared_notes: object = "",
    ip: str | None = None,
) -> JointControl:
    """Change the shared part (either organisation of the control)."""
    _require(db, actor, control)
    errors: dict[str, str] = {}
    when, place = _planning(db, actor, errors, planned_at, municipality)
    where = clean_text(errors, "location", location, limit=MAX_SHORT)
    notes = clean_text(errors, "shared_notes", shared_notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert when is not None
    control.planned_at = when
    control.municipality = place
    control.location = where
    control.shared_notes = notes
    journal.written(
        db,
        actor,
        "joint_control",
        control.id,
        "shared_part",
        fields={"fields": ["planned_at", "municipality", "location", "shared_notes"]},
        ip=ip,
    )
    return control


def save_own_part(
    db: Session, actor: Actor, control: JointControl, *, notes: object, ip: str | None = None
) -> JointControlPart:
    """The actor's organisation's own notes on the control (only it sees them)."""
    _require(db, actor, control)
    errors: dict[str, str] = {}
    text = clean_text(errors, "notes", notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    part = db.get(JointControlPart, (control.id, actor.organisation_id))
    if part is None:
        part = JointControlPart(control_id=control.id, organisation_id=actor.organisation_id)
        db.add(part)
    part.notes = text
    part.updated_at = utcnow()
    part.updated_by_user_id = None if actor.is_system else actor.user_id
    db.flush()
    journal.written(db, actor, "joint_control", control.id, "own_part", fields={}, ip=ip)
    return part


@dataclass(frozen=True)
class ControlDetail:
    control: JointControl
    planner: Organisation
    partner: Organisation
    own_part: JointControlPart | None
    contacts: list[OutreachContact]  # logged by the actor's organisation during the control


def control_detail(
    db: Session, actor: Actor, control: JointControl, *, ip: str | None = None
) -> ControlDetail:
    _require(db, actor, control)
    ground = visibility.basis(db, actor, control)
    if ground is None:
        raise NotFoundError("no such control")
    planner = db.get(Organisation, control.organisation_id)
    partner = db.get(Organisation, control.partner_organisation_id)
    assert planner is not None
    assert partner is not None
    contacts = list(
        db.scalars(
            select(OutreachContact)
            .where(
                OutreachContact.joint_control_id == control.id,
                OutreachContact.organisation_id == actor.organisation_id,
            )
            .order_by(OutreachContact.at)
        )
    )
    journal.record_read(
        db,
        actor,
        kind="joint_control",
        key=control.id,
        subject_id=None,
        basis=ground.kind,
        purpose=ground.describe(),
        ip=ip,
    )
    return ControlDetail(
        control,
        planner,
        partner,
        db.get(JointControlPart, (control.id, actor.organisation_id)),
        contacts,
    )


def list_controls(db: Session, actor: Actor) -> list[JointControl]:
    """The controls the actor's organisation plans or takes part in, soonest first."""
    require(actor, Action.MANAGE_CONTROLS)
    org = actor.organisation_id
    return list(
        db.scalars(
            select(JointControl)
            .where(
                or_(
                    JointControl.organisation_id == org, JointControl.partner_organisation_id == org
                )
            )
            .order_by(JointControl.planned_at.desc(), JointControl.id.desc())
            .limit(200)
        )
    )


VISIT_OUTCOMES = (
    "met",
    "not_present",
    "refused_contact",
    "concerns_confirmed",
    "no_concerns",
    "referred_to_care",
)
MAX_PERSONAS = 200


# A control stays open for new personas until this long after its planned time (an evening
# visit planned for this morning's list is still today's control).
OPEN_AFTER = timedelta(hours=12)


def open_controls(db: Session, actor: Actor) -> list[JointControl]:
    """The controls the actor's organisation plans that have not passed (see
    :data:`OPEN_AFTER`), soonest first: the ones a persona can be put on."""
    require(actor, Action.MANAGE_CONTROLS)
    return list(
        db.scalars(
            select(JointControl)
            .where(
                JointControl.organisation_id == actor.organisation_id,
                JointControl.planned_at >= utcnow() - OPEN_AFTER,
            )
            .order_by(JointControl.planned_at, JointControl.id)
            .limit(50)
        )
    )


def controls_with_persona(db: Session, actor: Actor, persona_id: str) -> list[JointControl]:
    """The controls of the actor's organisation whose visit list holds ``persona_id``."""
    require(actor, Action.MANAGE_CONTROLS)
    return list(
        db.scalars(
            select(JointControl)
            .join(JointControlPersona, JointControlPersona.control_id == JointControl.id)
            .where(
                JointControl.organisation_id == actor.organisation_id,
                JointControlPersona.persona_id == persona_id,
            )
            .order_by(JointControl.planned_at.desc(), JointControl.id.desc())
            .limit(20)
        )
    )


def add_persona_to_open_control(
    db: Session, actor: Actor, control_id: object, persona_id: object, *, ip: str | None = None
) -> JointControlPersona:
    """:func:`add_persona` on the control that ``control_id`` names among the actor's
    :func:`open_controls` (a form's choice); any other id is a field error, whether it names
    another organisation's control, a past one or none at all."""
    chosen = next(
        (c for c in open_controls(db, actor) if isinstance(control_id, int) and c.id == control_id),
        None,
    )
    if chosen is None:
        raise FieldErrors({"control_id": "choose a planned control"})
    return add_persona(db, actor, chosen, persona_id, ip=ip)


def _require_planner(db: Session, actor: Actor, control: JointControl) -> None:
    _require(db, actor, control)
    if control.organisation_id != actor.organisation_id:
        raise NotFoundError("only the planning organisation selects personas")


def add_persona(
    db: Session, actor: Actor, control: JointControl, persona_id: object, *, ip: str | None = None
) -> JointControlPersona:
    """Put a persona of the planner's latest run on the control's visit list."""
    _require_planner(db, actor, control)
    run = analysis.latest_run(db, control.organisation_id)
    name = persona_id.strip() if isinstance(persona_id, str) else ""
    if not name or len(name) > 100:
        raise FieldErrors({"persona_id": "required"})
    on_list = db.scalars(
        select(JointControlPersona.persona_id).where(JointControlPersona.control_id == control.id)
    ).all()
    if len(on_list) >= MAX_PERSONAS:
        raise ConflictError(f"a visit list holds at most {MAX_PERSONAS} personas")
    if run is None or analysis.persona_detail(db, run.id, name) is None:
        raise FieldErrors({"persona_id": "not a persona of your latest analysis"})
    if db.get(JointControlPersona, (control.id, name)) is not None:
        raise ConflictError("persona already on the visit list")
    row = JointControlPersona(
        control_id=control.id,
        persona_id=name,
        run_id=run.id,
        added_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(row)
    db.flush()
    journal.written(
        db, actor, "joint_control", control.id, "persona_added", fields={"persona_id": name}, ip=ip
    )
    return row


def remove_persona(
    db: Session, actor: Actor, control: JointControl, persona_id: str, *, ip: str | None = None
) -> None:
    """Take a persona off the list; refused once a visit outcome is recorded (it is kept)."""
    _require_planner(db, actor, control)
    row = db.get(JointControlPersona, (control.id, persona_id))
    if row is None:
        raise NotFoundError("persona not on the visit list")
    if row.outcome is not None:
        raise ConflictError("the visit has an outcome: it stays on the list")
    db.delete(row)
    db.flush()
    journal.written(
        db,
        actor,
        "joint_control",
        control.id,
        "persona_removed",
        fields={"persona_id": persona_id},
        ip=ip,
    )


@dataclass(frozen=True)
class Visit:
    persona_id: str
    municipality: str | None  # where last advertised
    last_advertised: datetime | None
    languages: tuple[str, ...]
    risk_score: int | None  # None: no longer in the planner's latest run
    contact_points: tuple[str, ...]  # pseudonyms, for the planner only
    outcome: str | None
    outcome_at: datetime | None
    note: str | None  # only for the organisation that recorded it


# A pseudonym as the store writes it into an ad's title and text (``[phone:3f9a…]``).
_PSEUDONYM_MARKER = re.compile(r"\[((?:phone|email|handle|website):[0-9a-f]{8,64})\]")


def _pseudonyms_in(texts: list[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for text in texts:
        for match in _PSEUDONYM_MARKER.finditer(text):
            found.setdefault(match.group(1), None)
    return tuple(found)


def _languages(texts: list[str]) -> tuple[str, ...]:
    found: set[str] = set()
    for text in texts:
        language = detect_language(text.lower())
        if language == "mixed":
            found |= {"nl", "en"}
        elif language != "unknown":
            found.add(language)
    return tuple(sorted(found))


def visit_list(db: Session, actor: Actor, control: JointControl) -> list[Visit]:
    """The control's visit list as the actor's organisation may see it (module docstring)."""
    _require(db, actor, control)
    planner = control.organisation_id == actor.organisation_id
    run = analysis.latest_run(db, control.organisation_id)
    rows = db.scalars(
        select(JointControlPersona)
        .where(JointControlPersona.control_id == control.id)
        .order_by(JointControlPersona.added_at, JointControlPersona.persona_id)
    )
    visits = []
    for row in rows:
        detail = analysis.persona_detail(db, run.id, row.persona_id) if run else None
        ads = detail.ads if detail else []
        last = ads[0] if ads else None
        texts = [f"{ad.title or ''} {ad.text or ''}" for ad in ads]
        visits.append(
            Visit(
                persona_id=row.persona_id,
                municipality=last.municipality if last else None,
                last_advertised=last.posted_at if last else None,
                languages=_languages(texts),
                risk_score=detail.persona.risk_score if detail else None,
                contact_points=_pseudonyms_in(texts) if planner else (),
                outcome=row.outcome,
                outcome_at=row.outcome_at,
                note=row.outcome_note
                if row.outcome_organisation_id == actor.organisation_id
                else None,
            )
        )
    return visits


def record_outcome(
    db: Session,
    actor: Actor,
    control: JointControl,
    persona_id: str,
    *,
    outcome: object,
    note: object = "",
    ip: str | None = None,
) -> JointControlPersona:
    """Record how the visit went (either organisation of the control); audited without the note."""
    _require(db, actor, control)
    row = db.get(JointControlPersona, (control.id, persona_id))
    if row is None:
        raise NotFoundError("persona not on the visit list")
    errors: dict[str, str] = {}
    if outcome not in VISIT_OUTCOMES:
        errors["outcome"] = "choose an outcome"
    text = clean_text(errors, "note", note, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert isinstance(outcome, str)
    if row.outcome_note and row.outcome_organisation_id != actor.organisation_id:
        # The note is the other organisation's own: a new outcome would take it from them.
        raise ConflictError(
            "the other organisation recorded this visit with a note; agree on the outcome "
            "with them, or keep your notes in your own part of the control"
        )
    row.outcome = outcome
    row.outcome_note = text
    row.outcome_organisation_id = actor.organisation_id
    row.outcome_by_user_id = None if actor.is_system else actor.user_id
    row.outcome_at = utcnow()
    db.flush()
    journal.written(
        db,
        actor,
        "joint_control",
        control.id,
        "visit_outcome",
        fields={"persona_id": persona_id, "outcome": outcome, "note": bool(text)},
        ip=ip,
    )
    return row
