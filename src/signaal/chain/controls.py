"""Joint controls: a visit planned by the police with an outreach partner organisation.

The shared part (when, where, shared notes) lives on :class:`JointControl` and is seen and kept
by both organisations (``controls.manage`` is a shared action: the partner is in the control's
``shared_with``). Each organisation's own part (:class:`JointControlPart`) is seen only by that
organisation: the police's investigative notes never reach the outreach partner, and the other
way round. Contacts logged during a control link to it (``OutreachContact.joint_control_id``) and
stay with the organisation that logged them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signaal.chain import journal, visibility
from signaal.chain.authz import Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    aware,
    clean_text,
    require,
)
from signaal.errors import FieldErrors, NotFoundError
from signaal.geo import resolve_place
from signaal.store.models import (
    JointControl,
    JointControlPart,
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
