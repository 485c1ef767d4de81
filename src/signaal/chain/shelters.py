"""Safe places (opvang): shelters, their free places, offers and placements.

A shelter organisation keeps its shelters and their free places up to date (``shelters.manage``);
every role with ``shelters.view`` sees the directory (names, municipality, capacity, free places,
whether minors are accepted: no data about persons). A partner with ``placements.manage`` offers
someone a place in a shelter and places her (:data:`PLACEMENT_TRANSITIONS`). Placing takes a free
place with one conditional UPDATE (``available_places > 0``), so two placements at night cannot
both take the last place; a shelter without a free place refuses with a field error and nothing
changes. Ending a placement frees its place again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signaal.chain import cases, journal, visibility
from signaal.chain.authz import Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    changed_rows,
    clean_text,
    own_resource,
    require,
)
from signaal.chain.catalogue import PLACEMENT_TRANSITIONS
from signaal.errors import ConflictError, FieldErrors, NotFoundError
from signaal.geo import resolve_place
from signaal.store.models import Case, Placement, Shelter, utcnow

MAX_CAPACITY = 10_000
NO_FREE_PLACE = "this shelter has no free place"


def _count(errors: dict[str, str], name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = "a whole number"
        return 0
    if not 0 <= value <= MAX_CAPACITY:
        errors[name] = f"between 0 and {MAX_CAPACITY}"
    return value


def create_shelter(
    db: Session,
    actor: Actor,
    *,
    name: object,
    municipality: object = None,
    capacity: object,
    available_places: object,
    accepts_minors: bool = False,
    notes: object = "",
    ip: str | None = None,
) -> Shelter:
    require(actor, Action.MANAGE_SHELTERS)
    errors: dict[str, str] = {}
    title = clean_text(errors, "name", name, limit=MAX_SHORT, required=True)
    place = None
    if municipality not in (None, ""):
        found = resolve_place(municipality) if isinstance(municipality, str) else None
        if found is None:
            errors["municipality"] = "unknown municipality"
        else:
            place = found.name
    total = _count(errors, "capacity", capacity)
    free = _count(errors, "available_places", available_places)
    if "capacity" not in errors and "available_places" not in errors and free > total:
        errors["available_places"] = "at most the capacity"
    text = clean_text(errors, "notes", notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    shelter = Shelter(
        organisation_id=actor.organisation_id,
        name=title,
        municipality=place,
        capacity=total,
        available_places=free,
        accepts_minors=bool(accepts_minors),
        notes=text,
        updated_at=utcnow(),
        updated_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(shelter)
    db.flush()
    journal.written(
        db,
        actor,
        "shelter",
        shelter.id,
        "created",
        fields={"capacity": total, "available_places": free},
        ip=ip,
    )
    return shelter


def update_places(
    db: Session,
    actor: Actor,
    shelter: Shelter,
    *,
    available_places: object,
    capacity: object = None,
    ip: str | None = None,
) -> Shelter:
    """The shelter's own staff sets its free places (0..capacity) and, optionally, capacity."""
    require(
        actor, Action.MANAGE_SHELTERS, own_resource("shelter", shelter.id, shelter.organisation_id)
    )
    errors: dict[str, str] = {}
    total = shelter.capacity if capacity in (None, "") else _count(errors, "capacity", capacity)
    free = _count(errors, "available_places", available_places)
    if not errors and free > total:
        errors["available_places"] = f"at most the capacity ({total})"
    if errors:
        raise FieldErrors(errors)
    before = [shelter.capacity, shelter.available_places]
    shelter.capacity = total
    shelter.available_places = free
    shelter.updated_at = utcnow()
    shelter.updated_by_user_id = None if actor.is_system else actor.user_id
    journal.written(
        db,
        actor,
        "shelter",
        shelter.id,
        "places",
        fields={"capacity": [before[0], total], "available_places": [before[1], free]},
        ip=ip,
    )
    return shelter


def directory(db: Session, actor: Actor, *, minors: bool | None = None) -> list[Shelter]:
    """Every shelter, those with free places first (no data about persons: not audited as a
    read of a person's record)."""
    require(actor, Action.VIEW_SHELTERS)
    query = select(Shelter)
    if minors is not None:
        query = query.where(Shelter.accepts_minors == minors)
    rows = list(db.scalars(query.order_by(Shelter.name, Shelter.id)))
    return sorted(rows, key=lambda s: s.available_places == 0)


def own_shelters(db: Session, actor: Actor) -> list[Shelter]:
    require(actor, Action.MANAGE_SHELTERS)
    return list(
        db.scalars(
            select(Shelter)
            .where(Shelter.organisation_id == actor.organisation_id)
            .order_by(Shelter.name, Shelter.id)
        )
    )


def offer_place(
    db: Session,
    actor: Actor,
    *,
    shelter_id: object,
    case_id: object,
    notes: object = "",
    ip: str | None = None,
) -> Placement:
    """Offer the subject of one of the organisation's cases a place in a shelter."""
    require(actor, Action.MANAGE_PLACEMENTS)
    errors: dict[str, str] = {}
    shelter = db.get(Shelter, shelter_id) if isinstance(shelter_id, int) else None
    if shelter is None:
        errors["shelter_id"] = "unknown shelter"
    case = cases.case_of_actor(db, actor, case_id)
    if case is None:
        errors["case_id"] = "unknown case"
    elif case.stage == cases.CLOSED:
        errors["case_id"] = "the case is closed"
    text = clean_text(errors, "notes", notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert shelter is not None
    assert case is not None
    placement = Placement(
        organisation_id=actor.organisation_id,
        shelter_id=shelter.id,
        case_id=case.id,
        subject_id=case.subject_id,
        state="offered",
        offered_at=utcnow(),
        notes=text,
        created_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(placement)
    db.flush()
    cases.record_event(
        db, actor, case, "placement", details={"placement_id": placement.id, "state": "offered"}
    )
    journal.written(
        db,
        actor,
        "placement",
        placement.id,
        "created",
        subject_id=case.subject_id,
        fields={"shelter_id": shelter.id, "case_id": case.id, "state": "offered"},
        ip=ip,
    )
    return placement


def _take_place(db: Session, shelter_id: int) -> bool:
    taken = changed_rows(
        db.execute(
            update(Shelter)
            .where(Shelter.id == shelter_id, Shelter.available_places > 0)
            .values(available_places=Shelter.available_places - 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    return taken == 1


def _free_place(db: Session, shelter_id: int) -> None:
    db.execute(
        update(Shelter)
        .where(Shelter.id == shelter_id, Shelter.available_places < Shelter.capacity)
        .values(available_places=Shelter.available_places + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def transition(
    db: Session, actor: Actor, placement: Placement, *, to_state: object, ip: str | None = None
) -> Placement:
    """Move a placement: offered → placed (takes a free place) or declined; placed → ended
    (frees it). A refused move changes nothing."""
    require(actor, Action.MANAGE_PLACEMENTS, visibility.resource_for(db, actor, placement))
    current = placement.state
    target = to_state if isinstance(to_state, str) else ""
    if target not in PLACEMENT_TRANSITIONS.get(current, frozenset()):
        raise FieldErrors({"to_state": f"a placement that is {current} cannot become {target}"})
    now = utcnow()
    if target == "placed" and not _take_place(db, placement.shelter_id):
        raise FieldErrors({"shelter_id": NO_FREE_PLACE})
    values: dict[str, object] = {"state": target}
    if target == "placed":
        values["placed_at"] = now
    if target == "ended":
        values["ended_at"] = now
    moved = changed_rows(
        db.execute(
            update(Placement)
            .where(Placement.id == placement.id, Placement.state == current)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    )
    if moved != 1:
        raise ConflictError("the placement was changed meanwhile: reload it")
    if target == "ended":
        _free_place(db, placement.shelter_id)
    db.refresh(placement)
    shelter = db.get(Shelter, placement.shelter_id)
    if shelter is not None:
        db.refresh(shelter)
    case = db.get(Case, placement.case_id) if placement.case_id else None
    if case is not None:
        cases.record_event(
            db, actor, case, "placement", details={"placement_id": placement.id, "state": target}
        )
    journal.written(
        db,
        actor,
        "placement",
        placement.id,
        "transition",
        subject_id=placement.subject_id,
        fields={"state": [current, target]},
        ip=ip,
    )
    return placement


def place_now(
    db: Session,
    actor: Actor,
    *,
    shelter_id: object,
    case_id: object,
    notes: object = "",
    ip: str | None = None,
) -> Placement:
    """The short night flow: offer and place at once. Without a free place nothing is written
    (the caller's transaction is rolled back by the web layer; here the offer is undone too)."""
    shelter = db.get(Shelter, shelter_id) if isinstance(shelter_id, int) else None
    if shelter is not None:
        db.refresh(shelter)
        if shelter.available_places <= 0:
            raise FieldErrors({"shelter_id": NO_FREE_PLACE})
    savepoint = db.begin_nested()
    try:
        placement = offer_place(
            db, actor, shelter_id=shelter_id, case_id=case_id, notes=notes, ip=ip
        )
        transition(db, actor, placement, to_state="placed", ip=ip)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return placement


@dataclass(frozen=True)
class ShelterView:
    shelter: Shelter
    placements: list[Placement]  # of the actor's own organisation in this shelter


def shelter_of(db: Session, shelter_id: int) -> Shelter:
    shelter = db.get(Shelter, shelter_id)
    if shelter is None:
        raise NotFoundError("no such shelter")
    return shelter


def own_placements(db: Session, actor: Actor, shelter: Shelter) -> list[Placement]:
    """Placements of the actor's organisation in this shelter (the offerer's own records)."""
    require(actor, Action.MANAGE_PLACEMENTS)
    return list(
        db.scalars(
            select(Placement)
            .where(
                Placement.shelter_id == shelter.id,
                Placement.organisation_id == actor.organisation_id,
            )
            .order_by(Placement.id.desc())
        )
    )
