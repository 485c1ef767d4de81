"""Field work on a phone: log a contact (and "call back tomorrow" in one tap), tasks, and the
user's notifications.

``/contact/nieuw`` is built for one hand and under a minute: the kind is a row of big buttons,
everything else is optional, and the second submit button ("Morgen terugbellen") stores the
contact together with a call-back task for ten o'clock tomorrow. The number a person gave is
shown masked; the clear number only to a role with ``contacts.reveal``, after a purpose.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from signaal.chain import outreach, tasks
from signaal.chain.authz import Action
from signaal.chain.catalogue import CONTACT_KINDS, TASK_KINDS, label
from signaal.errors import FieldErrors, NotFoundError
from signaal.store.models import OutreachContact, Task, utcnow
from signaal.web.app import web_state
from signaal.web.casework_forms import field_messages, local_time, number, text
from signaal.web.context import RequestContext, guard, own_record_resource
from signaal.web.i18n import N_

router = APIRouter()

REVEAL_PURPOSES: dict[str, str] = {
    "call_back": N_("Calling or messaging the person back (outreach)"),
    "protection": N_("Protection or investigation"),
    "partner_question": N_("Answering a partner's question about this contact point"),
}
TASK_VIEWS: dict[str, str] = {
    "mine": N_("My tasks"),
    "team": N_("Team"),
    "overdue": N_("Overdue"),
}


def keys_of(ctx: RequestContext) -> outreach.Keys:
    settings = web_state(ctx.request).settings
    return outreach.Keys(pseudonym_key=settings.pseudonym_key, contact_key=settings.contact_key)


def _contact_owner(db: Session, contact_id: int) -> int | None:
    row = db.get(OutreachContact, contact_id)
    return row.organisation_id if row is not None else None


def _task_owner(db: Session, task_id: int) -> int | None:
    row = db.get(Task, task_id)
    return row.organisation_id if row is not None else None


ContactForm = Annotated[RequestContext, guard(Action.MANAGE_CASES)]
RevealNumber = Annotated[
    RequestContext,
    guard(
        Action.REVEAL_CONTACTS,
        own_record_resource("outreach_contact", "contact_id", _contact_owner),
    ),
]
TaskList = Annotated[RequestContext, guard(Action.MANAGE_TASKS)]
OneTask = Annotated[
    RequestContext, guard(Action.MANAGE_TASKS, own_record_resource("task", "task_id", _task_owner))
]
Notifications = Annotated[RequestContext, guard(Action.VIEW_DASHBOARD)]


def _contact_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str],
    values: dict[str, str],
    saved: OutreachContact | None = None,
    task: Task | None = None,
    status_code: int = 200,
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "contact_new.html",
        {
            "errors": errors,
            "values": values,
            "kinds": [(code, label(CONTACT_KINDS, code, ctx.locale)) for code in CONTACT_KINDS],
            "saved": saved,
            "task": task,
            "may_call_back": ctx.may(Action.MANAGE_TASKS),
            "may_reveal": ctx.may(Action.REVEAL_CONTACTS),
            "purposes": REVEAL_PURPOSES,
        },
        status_code=status_code,
    )


@router.get("/contact/nieuw")
def new_contact(ctx: ContactForm) -> Response:
    saved = task = None
    raw = ctx.request.query_params.get("opgeslagen", "")
    if raw.isdigit() and len(raw) < 10:
        saved = outreach.contact_of_actor(ctx.db, ctx.acting, int(raw))
    raw_task = ctx.request.query_params.get("taak", "")
    if raw_task.isdigit() and len(raw_task) < 10:
        task = tasks.task_of_actor(ctx.db, ctx.acting, int(raw_task))
    control = ctx.request.query_params.get("controle", "")[:9]
    case = ctx.request.query_params.get("dossier", "")[:9]
    values = {
        "kind": "street",
        "joint_control_id": control if control.isdigit() else "",
        "case_id": case if case.isdigit() else "",
    }
    if values["joint_control_id"]:
        values["kind"] = "joint_control"
    return _contact_page(ctx, errors={}, values=values, saved=saved, task=task)


@router.post("/contact/nieuw")
def save_contact(ctx: ContactForm) -> Response:
    form = ctx.form
    values = {
        name: text(form, name)[:4000]
        for name in (
            "kind",
            "municipality",
            "location",
            "outcome",
            "phone",
            "next_contact_at",
            "joint_control_id",
            "case_id",
        )
    }
    fields: dict[str, object] = {
        "kind": values["kind"],
        "municipality": values["municipality"],
        "location": values["location"],
        "outcome": values["outcome"],
        "phone": values["phone"],
        "next_contact_at": local_time(form, "next_contact_at"),
        "case_id": number(form, "case_id"),
        "joint_control_id": number(form, "joint_control_id"),
    }
    try:
        if text(form, "actie") == "terugbellen":
            contact, task = outreach.call_back_tomorrow(
                ctx.db,
                ctx.acting,
                keys_of(ctx),
                ip=ctx.ip,
                **fields,  # type: ignore[arg-type]
            )
            return RedirectResponse(
                f"/contact/nieuw?opgeslagen={contact.id}&taak={task.id}", status_code=303
            )
        contact = outreach.log_contact(ctx.db, ctx.acting, keys_of(ctx), ip=ctx.ip, **fields)  # type: ignore[arg-type]
    except FieldErrors as exc:
        ctx.db.rollback()
        return _contact_page(ctx, errors=field_messages(exc.fields), values=values, status_code=422)
    return RedirectResponse(f"/contact/nieuw?opgeslagen={contact.id}", status_code=303)


@router.post("/contact/{contact_id}/nummer")
def reveal_number(ctx: RevealNumber, contact_id: str) -> Response:
    contact = outreach.contact_of_actor(ctx.db, ctx.acting, int(contact_id))
    if contact is None or contact.phone_sealed is None:
        raise NotFoundError("no such contact point")
    purpose = text(ctx.form, "doel")
    value = None
    errors: dict[str, str] = {}
    try:
        value = outreach.reveal_phone(
            ctx.db, ctx.acting, keys_of(ctx), contact, purpose=purpose, ip=ctx.ip
        )
    except FieldErrors as exc:
        errors = field_messages(exc.fields)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "contact_number.html",
        {"contact": contact, "value": value, "errors": errors, "purposes": REVEAL_PURPOSES},
        status_code=422 if errors else 200,
    )


def _tasks_page(
    ctx: RequestContext, *, errors: dict[str, str], values: dict[str, str], status_code: int = 200
) -> Response:
    view = ctx.request.query_params.get("weergave", "mine")
    if view not in TASK_VIEWS:
        view = "mine"
    page = tasks.list_tasks(ctx.db, ctx.acting, view=view, ip=ctx.ip)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "tasks.html",
        {
            "errors": errors,
            "values": values,
            "view": view,
            "views": TASK_VIEWS,
            "tasks": page.items,
            "kinds": {code: label(TASK_KINDS, code, ctx.locale) for code in TASK_KINDS},
            "now": utcnow(),
        },
        status_code=status_code,
    )


@router.get("/taken")
def task_list(ctx: TaskList) -> Response:
    return _tasks_page(ctx, errors={}, values={"kind": "follow_up"})


@router.post("/taken")
def create_task(ctx: TaskList) -> Response:
    form = ctx.form
    values = {name: text(form, name)[:4000] for name in ("title", "kind", "due_at", "notes")}
    try:
        tasks.create_task(
            ctx.db,
            ctx.acting,
            title=values["title"],
            kind=values["kind"],
            due_at=local_time(form, "due_at"),
            notes=values["notes"],
            case_id=number(form, "case_id"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.rollback()
        return _tasks_page(ctx, errors=field_messages(exc.fields), values=values, status_code=422)
    return RedirectResponse("/taken", status_code=303)


@router.post("/taken/{task_id}/klaar")
def finish_task(ctx: OneTask, task_id: str) -> Response:
    task = tasks.task_of_actor(ctx.db, ctx.acting, int(task_id))
    if task is None:
        raise NotFoundError("no such task")
    status = text(ctx.form, "status")
    try:
        tasks.finish_task(ctx.db, ctx.acting, task, status=status, ip=ctx.ip)
    except FieldErrors as exc:
        return _tasks_page(
            ctx, errors=field_messages(exc.fields), values={"kind": "follow_up"}, status_code=422
        )
    return RedirectResponse("/taken", status_code=303)


@router.get("/meldingen")
def notification_list(ctx: Notifications) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "notifications.html",
        {"notifications": tasks.notifications_of(ctx.db, ctx.acting)},
    )


@router.post("/meldingen/{notification_id}/gelezen")
def notification_read(ctx: Notifications, notification_id: str) -> Response:
    if not notification_id.isdigit() or len(notification_id) > 9:
        raise NotFoundError("no such notification")
    if not tasks.mark_read(ctx.db, ctx.acting, int(notification_id)):
        raise NotFoundError("no such notification")
    return RedirectResponse("/meldingen", status_code=303)
