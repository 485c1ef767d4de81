"""Administration: the users of the administrator's organisation, and the audit log.

Which users and audit events an administrator sees is decided per record by ``allowed()`` (an
organisation administrator sees their own organisation's, a platform administrator every one).
Which roles she may give and which accounts she may change is decided by
``may_assign_role``/``may_manage_user`` inside the account services; a refusal there is shown on
the users page and audited like a refusal of the guard.

Nobody sees another person's password: a new account (or a reset) gets a one-time enrolment link,
shown once to the administrator to hand over out of band, with which the user sets her own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from signaal import audit
from signaal.chain import accounts
from signaal.chain.authz import Action, Resource, may_assign_role, may_manage_user, roles
from signaal.errors import ConflictError, FieldError, InputError, NotFoundError, PermissionDenied
from signaal.store.models import User
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
}
NOT_YOURS = N_("You cannot change this account: it is your own, or it has a role you may not give.")

# How a row of the audit chain failed verification (signaal.audit.ProblemKind).
PROBLEM_LABELS: dict[str, str] = {
    "changed": N_("changed after it was written"),
    "removed": N_("removed"),
    "inserted": N_("slipped in"),
    "reordered": N_("moved"),
    "forged": N_("written without the audit key"),
    "checkpoint": N_("checkpoint not made by Signaal"),
    "anchor": N_("does not match the exported anchor"),
}

# What each audit action means, for the audit page (the code itself is shown too).
ACTION_LABELS: dict[str, str] = {
    "login.succeeded": N_("Password accepted"),
    "login.failed": N_("Login refused"),
    "login.rate_limited": N_("Login paused after too many attempts"),
    "login.second_factor_passed": N_("Verification code accepted"),
    "login.second_factor_failed": N_("Verification code refused"),
    "account.second_factor_enrolled": N_("Two-factor authentication set up"),
    "account.enrolment_issued": N_("Activation link made"),
    "account.enrolment_completed": N_("Own password set with an activation link"),
    "account.password_changed": N_("Own password changed"),
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
    "evidence.exported": N_("Evidence report exported"),
    "triage.viewed": N_("Triage queue viewed"),
    "triage.decided": N_("Triage decision"),
    "triage.labels_exported": N_("Triage decisions exported as labels"),
    "local_picture.viewed": N_("My municipality viewed"),
    "local_picture.exported": N_("My municipality table downloaded"),
    "joint_control.visit_list_exported": N_("Visit list of a joint control downloaded"),
    "audit.viewed": N_("Audit log viewed"),
    "access.denied": N_("Access refused"),
    "watchlist.watch_created": N_("Watch started"),
    "watchlist.watch_ended": N_("Watch stopped"),
    "watchlist.viewed": N_("Watchlist viewed"),
    "watchlist.checked": N_("Analysis compared with the watchlists"),
    "watchlist.alert_mailed": N_("Watchlist alert mailed"),
}


def _role_options(ctx: RequestContext) -> list[tuple[str, str]]:
    """The roles the administrator may give in her own organisation (where she adds users)."""
    assert ctx.user is not None
    kind = ctx.user.organisation.kind
    return [
        (name, definition.label_for(ctx.locale))
        for name, definition in roles().items()
        if may_assign_role(ctx.actor, name, kind)
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
    link_for: User | None = None,
    link: accounts.EnrolmentLink | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    role_labels = {name: definition.label_for(ctx.locale) for name, definition in roles().items()}
    users = _visible_users(ctx)
    settings = web_state(ctx.request).settings
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "admin_users.html",
        {
            "users": users,
            "manageable": {user.id for user in users if may_manage_user(ctx.actor, user)},
            "awaiting": accounts.awaiting_activation(ctx.db, [user.id for user in users]),
            "role_labels": role_labels,
            "role_options": _role_options(ctx),
            "errors": errors or {},
            "values": values or {"email": "", "display_name": "", "role": ""},
            "link_for": link_for,
            "link_url": link.url(settings) if link is not None else None,
            "link_expires": link.expires_at.strftime("%Y-%m-%d %H:%M UTC") if link else None,
            "link_purpose": link.purpose if link is not None else None,
            "me": ctx.user,
            "problem": problem,
        },
        status_code=status,
    )


def _refused(ctx: RequestContext, exc: PermissionDenied, attempted: str) -> Response:
    """A refusal of the account services: audited (in its own transaction, like the guard's)
    and shown on the users page."""
    resource = ctx.resource
    web_state(ctx.request).record_audit(
        audit.AccessDenied(
            attempted=f"{ctx.request.method} {ctx.request.url.path} ({attempted}: {exc.message})",
            resource_kind=resource.kind if resource else None,
            resource_id=resource.id if resource else None,
        ),
        actor=ctx.actor,
        ip=ctx.ip,
    )
    return _users_page(ctx, problem=NOT_YOURS, status=403)


def _target(ctx: RequestContext, user_id: str) -> User:
    target = ctx.db.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 10 else None
    if target is None:
        raise NotFoundError(f"user {user_id}")
    return target


@router.get("/gebruikers")
def users(ctx: UserAdmin) -> Response:
    return _users_page(ctx)


@router.post("/gebruikers")
def create_user(ctx: UserAdmin) -> Response:
    """Create a user in the administrator's organisation, without a password, and show its
    one-time enrolment link once."""
    assert ctx.user is not None
    check = FormCheck(ctx.form)
    email = check.email()
    display_name = check.text("display_name", max_length=200)
    role = check.choice("role", [name for name, _label in _role_options(ctx)])
    if not check.ok:
        return _users_page(ctx, errors=check.errors, values=check.values, status=422)
    try:
        created = accounts.create_user(
            ctx.db,
            email=email,
            display_name=display_name,
            organisation=ctx.user.organisation,
            role=role,
            actor=ctx.acting,
            ip=ctx.ip,
        )
        link = accounts.issue_enrolment_link(
            ctx.db,
            created,
            purpose="enrol",
            actor=ctx.acting,
            ip=ctx.ip,
            settings=web_state(ctx.request).settings,
        )
    except FieldError as exc:
        ctx.db.rollback()
        check.errors[exc.field] = FIELD_MESSAGES.get(exc.field, N_("This value is not valid."))
        return _users_page(ctx, errors=check.errors, values=check.values, status=422)
    except ConflictError:
        ctx.db.rollback()
        check.errors["email"] = N_("A user with this e-mail address already exists.")
        return _users_page(ctx, errors=check.errors, values=check.values, status=409)
    except PermissionDenied as exc:
        ctx.db.rollback()
        return _refused(ctx, exc, "create user")
    return _users_page(ctx, link_for=created, link=link, status=201)


@router.post("/gebruikers/{user_id}/status")
def change_status(ctx: ManagedUser, user_id: str) -> Response:
    """Deactivate a user (their sessions end at once) or activate them again."""
    target = _target(ctx, user_id)
    choice = ctx.form.get("actief")
    if choice not in ("ja", "nee"):
        raise InputError("actief: choose ja or nee")
    try:
        accounts.set_user_active(ctx.db, target, choice == "ja", actor=ctx.acting, ip=ctx.ip)
    except PermissionDenied as exc:
        return _refused(ctx, exc, "change status")
    return RedirectResponse("/beheer/gebruikers", status_code=303)


@router.post("/gebruikers/{user_id}/rol")
def change_role(ctx: ManagedUser, user_id: str) -> Response:
    """Give a user of the administrator's organisation another role she may give."""
    target = _target(ctx, user_id)
    check = FormCheck(ctx.form)
    role = check.choice("role", list(roles()))
    if not check.ok:
        raise InputError("role: choose one of the roles")
    try:
        accounts.set_role(ctx.db, target, role, actor=ctx.acting, ip=ctx.ip)
    except FieldError:
        ctx.db.rollback()
        return _users_page(ctx, problem=FIELD_MESSAGES["role"], status=422)
    except PermissionDenied as exc:
        return _refused(ctx, exc, "change role")
    return RedirectResponse("/beheer/gebruikers", status_code=303)


@router.post("/gebruikers/{user_id}/activeringslink")
def new_link(ctx: ManagedUser, user_id: str) -> Response:
    """Reset a user's password: the old one and older links stop working, her sessions end, and
    a new one-time link is shown once."""
    target = _target(ctx, user_id)
    if ctx.form.get("bevestig") != "ja":
        raise InputError("bevestig: confirm with ja")
    try:
        link = accounts.issue_enrolment_link(
            ctx.db,
            target,
            purpose="reset",
            actor=ctx.acting,
            ip=ctx.ip,
            settings=web_state(ctx.request).settings,
        )
    except PermissionDenied as exc:
        return _refused(ctx, exc, "new activation link")
    except ConflictError:
        return _users_page(
            ctx, problem=N_("Activate the account first, then make a new link."), status=409
        )
    return _users_page(ctx, link_for=target, link=link)


def _page_key(value: str | None, name: str) -> int | None:
    """A page link's sequence number (``?voor=`` / ``?na=``); anything else is bad input."""
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InputError(f"{name}: expected the sequence number of an audit event")
    return int(value)


@router.get("/audit")
def audit_log(ctx: AuditReader, voor: str | None = None, na: str | None = None) -> Response:
    """A page of the audit events the reader may see, newest first, filtered in SQL: every
    event for a platform-wide reader, else the events of the reader's organisation. The chain
    is verified from the last checkpoint on (``signaal audit verify --full`` walks all of it)."""
    assert ctx.user is not None
    before_seq, after_seq = _page_key(voor, "voor"), _page_key(na, "na")
    # A reader who may read the deployment's own events (anonymous logins, system work) may read
    # every organisation's: no filter. Anyone else reads their own organisation's.
    platform_wide = ctx.may(
        Action.VIEW_AUDIT, Resource("audit_event", None, organisation_id=DEPLOYMENT_WIDE)
    )
    page = audit.page_events(
        ctx.db,
        organisation_id=None if platform_wide else ctx.user.organisation_id,
        before_seq=before_seq,
        after_seq=after_seq,
        size=AUDIT_PAGE_SIZE,
    )
    report = audit.verify(ctx.db, full=False)
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
            "events": page.events,
            "older_before": page.older_before,
            "newer_after": page.newer_after,
            "paged": before_seq is not None or after_seq is not None,
            "report": report,
            "action_labels": ACTION_LABELS,
            "problem_labels": PROBLEM_LABELS,
        },
    )
