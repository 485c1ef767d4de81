"""Tasks: follow-ups with an owner and a due date, and their reminders.

A task belongs to one organisation and is seen by that organisation only (its team's to-do list
is nobody else's business, also not when a case is shared). Its owner is a user of that
organisation; a new task never gets a due date in the past. ``mine`` lists the user's open tasks,
``team`` the organisation's, ``overdue`` those past their due time.

:func:`send_reminders` is the job behind ``signaal chain remind``: once per task (``reminded_at``,
set with a conditional UPDATE so that two runs never remind twice) it writes an in-app
notification for the owner and an e-mail to the outbox, then sends the outbox through the SMTP
server of the settings, if one is named. A mail names no person, subject or task title (free
text may hold a name): it says that a task is due and links to the task list.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from signaal.chain import journal
from signaal.chain.authz import SYSTEM, Action, Actor
from signaal.chain.casework import (
    MAX_SHORT,
    MAX_TEXT,
    aware,
    changed_rows,
    clean_text,
    own_resource,
    require,
    user_of_organisation,
)
from signaal.chain.catalogue import TASK_KINDS
from signaal.chain.mail import message, smtp_connection
from signaal.errors import ConflictError, FieldErrors
from signaal.settings import Settings
from signaal.store.models import Case as CaseRow
from signaal.store.models import (
    Notification,
    OutboxMail,
    OutreachContact,
    Subject,
    Task,
    User,
    utcnow,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CALL_BACK_HOUR = time(10, 0)  # "tomorrow" means tomorrow morning, local time
OPEN = "open"
FINAL_STATUSES = frozenset({"done", "cancelled"})
MAX_MAIL_ATTEMPTS = 5
MAX_PAGE = 200
Views = ("mine", "team", "overdue")


def tomorrow_morning(now: datetime) -> datetime:
    """Ten o'clock tomorrow in Amsterdam (across daylight saving), as an aware UTC time."""
    local = aware(now).astimezone(AMSTERDAM)
    day = local.date() + timedelta(days=1)
    return datetime.combine(day, CALL_BACK_HOUR, tzinfo=AMSTERDAM).astimezone(aware(now).tzinfo)


def _own_record_id(db: Session, kind: str, value: object, organisation_id: int) -> int | None:
    """The id of a case, subject or contact of ``organisation_id`` (None: none such)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    row: CaseRow | Subject | OutreachContact | None
    if kind == "case":
        row = db.get(CaseRow, value)
    elif kind == "subject":
        row = db.get(Subject, value)
    else:
        row = db.get(OutreachContact, value)
    return row.id if row is not None and row.organisation_id == organisation_id else None


def create_task(
    db: Session,
    actor: Actor,
    *,
    title: object,
    due_at: object,
    kind: object = "follow_up",
    owner_user_id: object = None,
    case_id: object = None,
    subject_id: object = None,
    contact_id: object = None,
    notes: object = "",
    now: datetime | None = None,
    ip: str | None = None,
) -> Task:
    """A new open task of the actor's organisation (owner: the given colleague or the actor)."""
    require(actor, Action.MANAGE_TASKS)
    now = aware(now or utcnow())
    errors: dict[str, str] = {}
    text = clean_text(errors, "title", title, limit=MAX_SHORT, required=True)
    if kind not in TASK_KINDS:
        errors["kind"] = "choose one of " + ", ".join(TASK_KINDS)
    due = due_at if isinstance(due_at, datetime) else None
    if due is None:
        errors["due_at"] = "required"
    elif aware(due) < now - timedelta(minutes=1):
        errors["due_at"] = "lies in the past"
    owner = user_of_organisation(db, errors, "owner_user_id", owner_user_id, actor.organisation_id)
    org = actor.organisation_id
    links: dict[str, int | None] = {}
    for name, model, value in (
        ("case_id", "case", case_id),
        ("subject_id", "subject", subject_id),
        ("contact_id", "contact", contact_id),
    ):
        links[name] = None
        if value in (None, ""):
            continue
        found = _own_record_id(db, model, value, org)
        if found is None:
            errors[name] = "unknown record"
        links[name] = found
    body = clean_text(errors, "notes", notes, limit=MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    assert due is not None
    task = Task(
        organisation_id=org,
        title=text,
        kind=str(kind),
        due_at=aware(due),
        owner_user_id=owner.id if owner else (None if actor.is_system else actor.user_id),
        status=OPEN,
        case_id=links["case_id"],
        subject_id=links["subject_id"],
        contact_id=links["contact_id"],
        notes=body,
        created_at=now,
        created_by_user_id=None if actor.is_system else actor.user_id,
    )
    db.add(task)
    db.flush()
    journal.written(
        db,
        actor,
        "task",
        task.id,
        "created",
        subject_id=task.subject_id,
        fields={"kind": task.kind, "owner_user_id": task.owner_user_id, **links},
        ip=ip,
    )
    return task


def finish_task(
    db: Session, actor: Actor, task: Task, *, status: str = "done", ip: str | None = None
) -> Task:
    """Mark an open task done or cancelled (a finished task stays finished)."""
    require(actor, Action.MANAGE_TASKS, own_resource("task", task.id, task.organisation_id))
    if status not in FINAL_STATUSES:
        raise FieldErrors({"status": "choose one of done, cancelled"})
    if task.status != OPEN:
        raise ConflictError("the task is finished already")
    task.status = status
    task.done_at = utcnow()
    journal.written(
        db,
        actor,
        "task",
        task.id,
        status,
        subject_id=task.subject_id,
        fields={"status": [OPEN, status]},
        ip=ip,
    )
    return task


def task_detail(db: Session, actor: Actor, task: Task, *, ip: str | None = None) -> Task:
    require(actor, Action.MANAGE_TASKS, own_resource("task", task.id, task.organisation_id))
    journal.record_read(
        db,
        actor,
        kind="task",
        key=task.id,
        subject_id=task.subject_id,
        basis="own",
        purpose="own",
        ip=ip,
    )
    return task


def _view_clause(actor: Actor, view: str, now: datetime) -> ColumnElement[bool]:
    if view == "mine":
        return Task.owner_user_id == actor.user_id
    if view == "overdue":
        return Task.due_at < now
    return Task.organisation_id == actor.organisation_id


@dataclass(frozen=True)
class TaskPage:
    items: list[Task]
    next: int | None


def list_tasks(
    db: Session,
    actor: Actor,
    *,
    view: str = "mine",
    limit: int = 50,
    after: int | None = None,
    now: datetime | None = None,
    ip: str | None = None,
) -> TaskPage:
    """Open tasks of the actor's organisation: ``mine``, the ``team``'s, or ``overdue``; earliest
    due first (the cursor is the position after the last task shown)."""
    require(actor, Action.MANAGE_TASKS)
    if view not in Views:
        raise FieldErrors({"view": "choose mine, team or overdue"})
    now = aware(now or utcnow())
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Task).where(
        Task.organisation_id == actor.organisation_id,
        Task.status == OPEN,
        _view_clause(actor, view, now),
    )
    rows = list(db.scalars(query.order_by(Task.due_at, Task.id)))
    start = 0
    if after is not None:
        ids = [task.id for task in rows]
        start = ids.index(after) + 1 if after in ids else len(rows)
    items = rows[start : start + limit]
    more = start + limit < len(rows)
    if items:
        journal.record_read(
            db,
            actor,
            kind="task",
            key=None,
            subject_id=None,
            basis="own",
            purpose=f"task list: {view}",
            ip=ip,
            view="list",
            shown=tuple(task.id for task in items),
        )
    return TaskPage(items, items[-1].id if more and items else None)


def task_of_actor(db: Session, actor: Actor, task_id: int) -> Task | None:
    task = db.get(Task, task_id)
    return task if task is not None and task.organisation_id == actor.organisation_id else None


# --- Reminders ---------------------------------------------------------------------------------


@dataclass
class ReminderSummary:
    reminded: int = 0  # tasks reminded now (notifications written)
    queued: int = 0  # mails put in the outbox now
    sent: int = 0
    failed: int = 0
    pending: int = 0  # mails still waiting after this run
    smtp: bool = False  # whether an SMTP server was named
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (
            f"{self.reminded} tasks reminded, {self.queued} mails queued, {self.sent} sent, "
            f"{self.failed} failed, {self.pending} waiting"
        )
        if not self.smtp:
            text += " (no SMTP host set: mails stay queued)"
        return text


def _remind_due_tasks(db: Session, now: datetime, settings: Settings) -> tuple[int, int]:
    due = list(
        db.scalars(
            select(Task)
            .where(Task.status == OPEN, Task.due_at <= now, Task.reminded_at.is_(None))
            .order_by(Task.due_at, Task.id)
        )
    )
    reminded = queued = 0
    link = settings.public_url.rstrip("/") + "/taken"
    for task in due:
        claimed = changed_rows(
            db.execute(
                update(Task)
                .where(Task.id == task.id, Task.reminded_at.is_(None), Task.status == OPEN)
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        if claimed != 1:
            continue  # another run reminded it meanwhile
        reminded += 1
        db.add(
            Notification(
                organisation_id=task.organisation_id,
                user_id=task.owner_user_id,
                kind="task_due",
                text=task.title,
                record_type="task",
                record_id=task.id,
                created_at=now,
            )
        )
        owner = db.get(User, task.owner_user_id) if task.owner_user_id else None
        if owner is not None and owner.is_active:
            db.add(
                OutboxMail(
                    organisation_id=task.organisation_id,
                    to_address=owner.email,
                    subject="Signaal: een taak staat klaar / a task is due",
                    body=(
                        f"Een taak (#{task.id}) staat voor je klaar in Signaal.\n"
                        f"A task (#{task.id}) is due in Signaal.\n\n{link}\n"
                    ),
                    created_at=now,
                )
            )
            queued += 1
    return reminded, queued


def _send_outbox(db: Session, now: datetime, settings: Settings, summary: ReminderSummary) -> None:
    pending = list(
        db.scalars(
            select(OutboxMail)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.attempts < MAX_MAIL_ATTEMPTS)
            .order_by(OutboxMail.id)
        )
    )
    if not settings.smtp_host or not pending:
        summary.pending = len(pending)
        return
    try:
        with smtp_connection(settings) as smtp:
            for mail in pending:
                mail.attempts += 1
                try:
                    smtp.send_message(message(settings, mail.to_address, mail.subject, mail.body))
                except smtplib.SMTPException as exc:
                    mail.last_error = str(exc)[:500]
                    summary.failed += 1
                    continue
                mail.sent_at = now
                mail.last_error = None
                summary.sent += 1
    except OSError as exc:
        summary.errors.append(f"SMTP server {settings.smtp_host}:{settings.smtp_port}: {exc}")
    summary.pending = len(pending) - summary.sent


def send_reminders(db: Session, now: datetime, settings: Settings) -> ReminderSummary:
    """Remind every open task that is due and was not reminded yet (a notification for its
    owner, a mail in the outbox), then send the outbox when ``settings.smtp_host`` is set.
    Runs as the system actor; the caller commits."""
    require(SYSTEM, Action.REMIND_TASKS)
    now = aware(now)
    summary = ReminderSummary(smtp=bool(settings.smtp_host))
    summary.reminded, summary.queued = _remind_due_tasks(db, now, settings)
    db.flush()
    _send_outbox(db, now, settings, summary)
    return summary


# --- Notifications (in the app) ----------------------------------------------------------------


def notifications_of(db: Session, actor: Actor, *, limit: int = 50) -> list[Notification]:
    """The actor's own notifications (and her organisation's for her role), newest first."""
    return list(
        db.scalars(
            select(Notification)
            .where(
                Notification.organisation_id == actor.organisation_id,
                or_(
                    Notification.user_id == actor.user_id,
                    (Notification.user_id.is_(None)) & (Notification.role == actor.role),
                ),
            )
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_read(db: Session, actor: Actor, notification_id: int) -> bool:
    """Mark one of the actor's own notifications read (False when it is not hers)."""
    done = changed_rows(
        db.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.user_id == actor.user_id,
                Notification.organisation_id == actor.organisation_id,
                Notification.read_at.is_(None),
            )
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    return bool(done)
