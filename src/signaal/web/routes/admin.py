"""Administration: the users of the administrator's organisation, and the audit log.

Which users and audit events an administrator sees is decided per record by ``allowed()`` (an
organisation administrator sees their own organisation's, a platform administrator every one).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from signaal import audit
from signaal.chain import accounts, sessions
from signaal.chain.authz import Action, Resource, may_assign_role, roles
from signaal.errors import ConflictError, FieldError, InputError, NotFoundError
from signaal.store.models import AuditEvent, User
from signaal.web.app import web_state
from signaal.web.context import RequestContext, guard
from signaal.web.forms import FormCheck
from signaal.web.i18n import N_, Message

router = APIRouter(prefix="/beheer")

# Records of no organisation (anonymous login attempts, system work, unknown ids) belong to the
# whole deployment: only a platform-wide role may act on them. No organisation has id 0.
DEPLOYMENT_WIDE = 0

UserAdmin = Annotated[RequestContext, guard(Action.MANAGE_USERS)]


def managed_user(request: Request, db: Session) -> Resource:
    """The user of the path, with the organisation it belongs to (which ``allowed()`` checks).
    An unknown id belongs to no organisation of anyone's: only a platform role gets its 404."""
    raw = str(request.path_params["user_id"])
    user = db.get(User, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    return Resource("user", raw, organisation_id=user.organisation_id if user else DEPLOYMENT_WIDE)


ManagedUser = Annotated[RequestContext, guard(Action.MANAGE_USERS, managed_user)]
AuditReader = Annotated[RequestContext, guard(Action.VIEW_AUDIT)]

AUDIT_PAGE_SIZE = 100

FIELD_MESSAGES: dict[str, str] = {
    "email": N_("Enter an e-mail address like name@example.nl."),
    "display_name": N_("Fill in a name of at most 200 characters, without special characters."),
    "role": N_("Choose a role that fits your organisation."),
    "password": N_("The temporary password could not be used; try again."),
}
TEMPORARY_PASSWORD_BYTES = 12

# How a row of the audit chain failed verification (signaal.audit.ProblemKind).
PROBLEM_LABELS: dict[str, str] = {
    "changed": N_("changed after it was written"),
    "removed": N_("removed"),
    "inserted": N_("slipped in"),
    "reordered": N_("moved"),
}

# What each audit action means, for the audit page (the code itself is shown too).
ACTION_LABELS: dict[str, str] = {
    "login.succeeded": N_("Password accepted"),
    "login.failed": N_("Login refused"),
    "login.rate_limited": N_("Login paused after too many attempts"),
    "login.second_factor_passed": N_("Verification code accepted"),
    "login.second_factor_failed": N_("Verification code refused"),
    "account.second_factor_enrolled": N_("Two-factor authentication set up"),
    "logout": N_("Logged out"),
    "organisation.created": N_("Organisation created"),
    "user.created": N_("User created"),
    "user.changed": N_("User changed"),
    "analysis.stored": N_("Analysis stored"),
    "analysis.purged": N_("Expired analyses deleted"),
    "analysis.viewed": N_("Analysis viewed"),
    "analysis.network_viewed": N_("Network viewed"),
    "analysis.persona_viewed": N_("Persona viewed"),
    "contact_point.revealed": N_("Contact point shown"),
    "audit.viewed": N_("Audit log viewed"),
    "access.denied": N_("Access refused"),
}


def _role_options(ctx: RequestContext) -> list[tuple[str, str]]:
    assert ctx.user is not None
    kind = ctx.user.organisation.kind
    return [
        (name, definition.label_for(ctx.locale))
        for name, definition in roles().items()
        if definition.fits(kind) and may_assign_role(ctx.actor, name)
    ]


def _visible_users(ctx: RequestContext) -> list[User]:
    users = ctx.db.scalars(select(User).order_by(User.organisation_id, User.display_name))
    return [
        user
        for user in users
        if ctx.may(
            Action.MANAGE_USERS,
            Resource("user", str(user.id), organisation_id=user.organisation_id),
        )
    ]


def _users_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, str] | None = None,
    created: User | None = None,
    temporary_password: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    role_labels = {name: definition.label_for(ctx.locale) for name, definition in roles().items()}
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "admin_users.html",
        {
            "users": _visible_users(ctx),
            "role_labels": role_labels,
            "role_options": _role_options(ctx),
            "errors": errors or {},
            "values": values or {"email": "", "display_name": "", "role": ""},
            "created": created,
            "temporary_password": temporary_password,
            "me": ctx.user,
            "problem": problem,
        },
        status_code=status,
    )


@router.get("/gebruikers")
def users(ctx: UserAdmin) -> Response:
    return _users_page(ctx)


@router.post("/gebruikers")
def create_user(ctx: UserAdmin) -> Response:
    """Create a user in the administrator's organisation with a one-time temporary password."""
    assert ctx.user is not None
    check = FormCheck(ctx.form)
    email = check.email()
    display_name = check.text("display_name", max_length=200)
    role = check.choice("role", [name for name, _label in _role_options(ctx)])
    if not check.ok:
        return _users_page(ctx, errors=check.errors, values=check.values, status=422)
    password = secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    try:
        created = accounts.create_user(
            ctx.db,
            email=email,
            password=password,
            display_name=display_name,
            organisation=ctx.user.organisation,
            role=role,
            actor=ctx.actor,
            ip=ctx.ip,
        )
    except FieldError as exc:
        ctx.db.rollback()
        check.errors[exc.field] = FIELD_MESSAGES.get(exc.field, N_("This value is not valid."))
        return _users_page(ctx, errors=check.errors, values=check.values, status=422)
    except ConflictError:
        ctx.db.rollback()
        check.errors["email"] = N_("A user with this e-mail address already exists.")
        return _users_page(ctx, errors=check.errors, values=check.values, status=409)
    return _users_page(ctx, created=created, temporary_password=password, status=201)


@router.post("/gebruikers/{user_id}/status")
def change_status(ctx: ManagedUser, user_id: str) -> Response:
    """Deactivate a user (their sessions end at once) or activate them again."""
    assert ctx.user is not None
    target = ctx.db.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if target is None:
        raise NotFoundError(f"user {user_id}")
    choice = ctx.form.get("actief")
    if choice not in ("ja", "nee"):
        raise InputError("actief: choose ja or nee")
    if target.id == ctx.user.id:
        return _users_page(ctx, problem=N_("You cannot deactivate your own account."), status=409)
    active = choice == "ja"
    accounts.set_user_active(ctx.db, target, active, actor=ctx.actor, ip=ctx.ip)
    if not active:
        sessions.revoke_all_sessions(ctx.db, target)
    return RedirectResponse("/beheer/gebruikers", status_code=303)


@router.get("/audit")
def audit_log(ctx: AuditReader) -> Response:
    rows = ctx.db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1000))
    events = [
        row
        for row in rows
        if ctx.may(
            Action.VIEW_AUDIT,
            Resource(
                "audit_event",
                str(row.seq),
                organisation_id=row.organisation_id
                if row.organisation_id is not None
                else DEPLOYMENT_WIDE,
            ),
        )
    ][:AUDIT_PAGE_SIZE]
    report = audit.verify(ctx.db)
    assert ctx.user is not None
    audit.record(
        ctx.db,
        audit.AuditViewed(organisation_id=ctx.user.organisation_id),
        actor=ctx.actor,
        ip=ctx.ip,
    )
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "admin_audit.html",
        {
            "events": events,
            "report": report,
            "action_labels": ACTION_LABELS,
            "problem_labels": PROBLEM_LABELS,
        },
    )
