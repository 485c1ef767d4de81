"""The case-work JSON API under ``/api/v1``: cases, tasks and shelters.

Same guard and sessions as the pages; every body and answer is a Pydantic model, so the OpenAPI
document describes them. Lists answer ``{"items": [...], "next": cursor-or-null}`` with
``limit`` and ``cursor`` (the cursor is opaque to callers: pass back what ``next`` said). A
record the caller may not see answers 404 exactly like one that does not exist. Tasks and
shelter places are of the caller's own organisation only; the shelter directory holds no data
about persons. Contact points never appear here in the clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from signaal.chain import cases, shelters, tasks
from signaal.chain.authz import Action
from signaal.chain.catalogue import VULNERABILITY_FACTORS
from signaal.errors import FieldError, NotFoundError
from signaal.store.models import Case, Shelter, Subject, Task
from signaal.web.context import RequestContext, chain_resource, guard, own_record_resource
from signaal.web.routes.api_signals import JsonRoute

router = APIRouter(prefix="/api/v1", route_class=JsonRoute)

MAX_LIMIT = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseOut(BaseModel):
    id: int
    organisation_id: int
    subject_id: int
    subject_alias: str
    stage: str
    owner_user_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    updated_at: datetime


class CaseEventOut(BaseModel):
    at: datetime
    kind: str
    from_stage: str | None
    to_stage: str | None


class AssessmentOut(BaseModel):
    at: datetime
    answers: dict[str, Literal["yes", "no", "unknown"]]


class CaseDetailOut(CaseOut):
    basis: str
    history: list[CaseEventOut]
    assessments: list[AssessmentOut]


class CaseList(BaseModel):
    items: list[CaseOut]
    next: str | None


class CaseIn(_Strict):
    subject_id: int = Field(ge=1, le=2**31 - 1)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    signal_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class StageIn(_Strict):
    to_stage: str = Field(max_length=32)
    reason: str = Field(default="", max_length=4000)


class TaskOut(BaseModel):
    id: int
    title: str
    kind: str
    status: str
    due_at: datetime
    owner_user_id: int | None
    case_id: int | None
    subject_id: int | None
    contact_id: int | None


class TaskList(BaseModel):
    items: list[TaskOut]
    next: str | None


class TaskIn(_Strict):
    title: str = Field(max_length=200)
    due_at: datetime
    kind: str = Field(default="follow_up", max_length=32)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    case_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    notes: str = Field(default="", max_length=4000)


class ShelterOut(BaseModel):
    id: int
    organisation_id: int
    name: str
    municipality: str | None
    capacity: int
    available_places: int
    accepts_minors: bool
    updated_at: datetime


class ShelterList(BaseModel):
    items: list[ShelterOut]
    next: str | None


class PlacesIn(_Strict):
    available_places: int = Field(ge=0, le=10_000)


def _cursor(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise FieldError("cursor", "not a cursor this list gave (pass back its 'next')")
    return int(raw)


def _case_out(case: Case, subject: Subject) -> CaseOut:
    return CaseOut(
        id=case.id,
        organisation_id=case.organisation_id,
        subject_id=case.subject_id,
        subject_alias=subject.alias,
        stage=case.stage,
        owner_user_id=case.owner_user_id,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        updated_at=case.updated_at,
    )


def _task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        title=task.title,
        kind=task.kind,
        status=task.status,
        due_at=task.due_at,
        owner_user_id=task.owner_user_id,
        case_id=task.case_id,
        subject_id=task.subject_id,
        contact_id=task.contact_id,
    )


def _shelter_out(shelter: Shelter) -> ShelterOut:
    return ShelterOut(
        id=shelter.id,
        organisation_id=shelter.organisation_id,
        name=shelter.name,
        municipality=shelter.municipality,
        capacity=shelter.capacity,
        available_places=shelter.available_places,
        accepts_minors=shelter.accepts_minors,
        updated_at=shelter.updated_at,
    )


def _task_owner(db: Session, task_id: int) -> int | None:
    task = db.get(Task, task_id)
    return task.organisation_id if task is not None else None


def _shelter_owner(db: Session, shelter_id: int) -> int | None:
    shelter = db.get(Shelter, shelter_id)
    return shelter.organisation_id if shelter is not None else None


ViewCases = Annotated[RequestContext, guard(Action.VIEW_CASES)]
ManageCases = Annotated[RequestContext, guard(Action.MANAGE_CASES)]
OneCase = Annotated[RequestContext, guard(Action.VIEW_CASES, chain_resource("case", "case_id"))]
MoveCase = Annotated[RequestContext, guard(Action.MANAGE_CASES, chain_resource("case", "case_id"))]
Tasks = Annotated[RequestContext, guard(Action.MANAGE_TASKS)]
OneTask = Annotated[
    RequestContext, guard(Action.MANAGE_TASKS, own_record_resource("task", "task_id", _task_owner))
]
Shelters = Annotated[RequestContext, guard(Action.VIEW_SHELTERS)]
OwnShelter = Annotated[
    RequestContext,
    guard(Action.MANAGE_SHELTERS, own_record_resource("shelter", "shelter_id", _shelter_owner)),
]


@router.get("/cases")
def list_cases(
    ctx: ViewCases,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=12)] = None,
    stage: Annotated[str | None, Query(max_length=32)] = None,
) -> CaseList:
    """The cases the caller's organisation may see, newest first."""
    page = cases.list_cases(
        ctx.db, ctx.acting, stage=stage, limit=limit, after=_cursor(cursor), ip=ctx.ip
    )
    return CaseList(
        items=[_case_out(case, subject) for case, subject in page.items],
        next=str(page.next) if page.next is not None else None,
    )


@router.post("/cases", status_code=201)
def create_case(ctx: ManageCases, body: CaseIn) -> CaseOut:
    """Open a case for a subject (409 when the organisation has an open one for her)."""
    case = cases.open_case(
        ctx.db,
        ctx.acting,
        subject_id=body.subject_id,
        owner_user_id=body.owner_user_id,
        signal_id=body.signal_id,
        ip=ctx.ip,
    )
    subject = ctx.db.get(Subject, case.subject_id)
    assert subject is not None
    return _case_out(case, subject)


def _detail(ctx: RequestContext, case: Case) -> CaseDetailOut:
    detail = cases.case_detail(ctx.db, ctx.acting, case, ip=ctx.ip)
    base = _case_out(case, detail.subject)
    return CaseDetailOut(
        **base.model_dump(),
        basis=detail.basis,
        history=[
            CaseEventOut(at=e.at, kind=e.kind, from_stage=e.from_stage, to_stage=e.to_stage)
            for e in detail.events
        ],
        assessments=[
            AssessmentOut(
                at=a.at,
                answers={
                    factor: cases.answer_code(getattr(a, factor))  # type: ignore[misc]
                    for factor in VULNERABILITY_FACTORS
                },
            )
            for a in detail.assessments
        ],
    )


@router.get("/cases/{case_id}")
def case_detail(ctx: OneCase, case_id: str) -> CaseDetailOut:
    """One case with its history and assessments (a timeline, never a score)."""
    return _detail(ctx, ctx.chain_record(Case))


@router.post("/cases/{case_id}/stage")
def case_stage(ctx: MoveCase, case_id: str, body: StageIn) -> CaseDetailOut:
    """Move the case to another stage (forward or back; closing needs a reason)."""
    case = ctx.chain_record(Case)
    cases.move_stage(
        ctx.db, ctx.acting, case, to_stage=body.to_stage, reason=body.reason, ip=ctx.ip
    )
    return _detail(ctx, case)


@router.get("/tasks")
def list_tasks(
    ctx: Tasks,
    view: Literal["mine", "team", "overdue"] = "mine",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=12)] = None,
) -> TaskList:
    """Open tasks of the caller's organisation: mine, the team's or the overdue ones."""
    page = tasks.list_tasks(
        ctx.db, ctx.acting, view=view, limit=limit, after=_cursor(cursor), ip=ctx.ip
    )
    return TaskList(
        items=[_task_out(task) for task in page.items],
        next=str(page.next) if page.next is not None else None,
    )


@router.post("/tasks", status_code=201)
def create_task(ctx: Tasks, body: TaskIn) -> TaskOut:
    """A new task (a due time in the past is refused with a field error)."""
    task = tasks.create_task(
        ctx.db,
        ctx.acting,
        title=body.title,
        kind=body.kind,
        due_at=body.due_at,
        owner_user_id=body.owner_user_id,
        case_id=body.case_id,
        notes=body.notes,
        ip=ctx.ip,
    )
    return _task_out(task)


def _own_task(ctx: RequestContext, task_id: str) -> Task:
    task = tasks.task_of_actor(ctx.db, ctx.acting, int(task_id))
    if task is None:
        raise NotFoundError("no such task")
    return task


@router.get("/tasks/{task_id}")
def task_detail(ctx: OneTask, task_id: str) -> TaskOut:
    return _task_out(tasks.task_detail(ctx.db, ctx.acting, _own_task(ctx, task_id), ip=ctx.ip))


@router.post("/tasks/{task_id}/done")
def task_done(ctx: OneTask, task_id: str) -> TaskOut:
    """Mark an open task done. Idempotent: a task that is done already stays done (200); a
    cancelled task cannot be done (409)."""
    task = _own_task(ctx, task_id)
    if task.status != "done":
        tasks.finish_task(ctx.db, ctx.acting, task, ip=ctx.ip)
    return _task_out(task)


@router.get("/shelters")
def list_shelters(
    ctx: Shelters,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=12)] = None,
) -> ShelterList:
    """The shelter directory (free places first): no data about persons."""
    rows = shelters.directory(ctx.db, ctx.acting)
    start = _cursor(cursor) or 0
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return ShelterList(
        items=[_shelter_out(s) for s in page], next=str(start + limit) if more else None
    )


@router.get("/shelters/{shelter_id}")
def shelter_detail(ctx: Shelters, shelter_id: str) -> ShelterOut:
    if not shelter_id.isascii() or not shelter_id.isdigit() or len(shelter_id) > 9:
        raise NotFoundError("no such shelter")
    return _shelter_out(shelters.shelter_of(ctx.db, int(shelter_id)))


@router.post("/shelters/{shelter_id}/places")
def shelter_places(ctx: OwnShelter, shelter_id: str, body: PlacesIn) -> ShelterOut:
    """The shelter's own staff sets its free places (0..capacity)."""
    shelter = shelters.shelter_of(ctx.db, int(shelter_id))
    shelters.update_places(
        ctx.db, ctx.acting, shelter, available_places=body.available_places, ip=ctx.ip
    )
    return _shelter_out(shelter)
