"""Logging in and out: password, then TOTP (enrolment with a QR code the first time).

Flow: ``POST /login`` checks the password (:func:`signaal.chain.accounts.authenticate`, which also
rate-limits and uses a dummy hash for unknown accounts) and starts a login session. Demo accounts
are done; every other account goes on to ``/login/tweede-factor`` (or, without a second factor
yet, to the enrolment at ``/account/tweede-factor``) and only a correct code completes the session.

A new account starts at its one-time link ``/account/activeren/{token}``: the user sets her own
password there and goes on to the same second-factor steps as after a login. ``/account/wachtwoord``
changes the own password with the current one and the second factor; every session of the user
ends and this browser gets a new one.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

import pyotp
from fastapi import APIRouter
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from signaal.chain import accounts, sessions
from signaal.chain.authz import Action
from signaal.errors import AuthenticationError, FieldError, PermissionDenied, TooManyAttempts
from signaal.store.models import User
from signaal.web.app import WebState, web_state
from signaal.web.context import RequestContext, guard
from signaal.web.forms import FormCheck, safe_next_path
from signaal.web.i18n import LOCALES, N_, Message, normalise_locale
from signaal.web.security import LOCALE_COOKIE

router = APIRouter()

Public = Annotated[RequestContext, guard(Action.PUBLIC_VIEW)]
OwnAccount = Annotated[RequestContext, guard(Action.MANAGE_OWN_ACCOUNT)]

LOGIN_NOTICES = {
    "required": N_("Please log in to continue."),
    "expired": N_("Your session has expired. Please log in again."),
    "invalid": N_("Your login could not be checked (the cookie was changed). Please log in again."),
    "uitgelogd": N_("You have been logged out."),
    "second_factor": N_("Please finish logging in with your verification code."),
}
WRONG_CREDENTIALS = N_("The e-mail address or password is not correct.")
RATE_LIMITED = N_(
    "Too many failed attempts. For your safety, logging in is paused for a while for this "
    "account or address. Try again in %(minutes)d min."
)
WRONG_CODE = N_(
    "This code is not correct or has already been used. Check that the time on your phone is "
    "right and enter the new code."
)
LOCALE_COOKIE_AGE = 365 * 24 * 3600
PASSWORD_RULES = N_(
    "At least 12 characters, at least 4 different characters, not your e-mail address. A "
    "sentence of a few words is easy to remember."
)
PASSWORD_MESSAGES: dict[str, str] = {
    "password": N_(
        "This password is not allowed: use at least 12 characters, at least 4 different "
        "characters, and not your e-mail address."
    ),
    "new_password": N_(
        "This password is not allowed: use at least 12 characters, at least 4 different "
        "characters, not your e-mail address, and not your current password."
    ),
    "current_password": N_("The current password or the code is not correct."),
}
MADE_BY_YOU = N_(
    "You made this link for someone else: only that person may set the password. Give the link "
    "to them."
)
PASSWORDS_DIFFER = N_("The two passwords are not the same.")
LINK_INVALID = N_(
    "This link is unknown, has expired or was already used. Ask your administrator for a new link."
)


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _signed_in_redirect(
    state: WebState, target: str, token: str, *, end_pre_session: bool = False
) -> Response:
    """A redirect to ``target`` that carries the (new) login session's signed cookie; after a
    login the pre-session cookie of the login form is dropped too."""
    response = _see_other(target)
    state.cookies.set(
        response,
        state.cookies.session_cookie,
        state.signer.sign_session(token),
        max_age=state.settings.session_absolute_max_age_seconds,
    )
    if end_pre_session:
        state.cookies.delete(response, state.cookies.pre_session_cookie)
    return response


def _rate_limited(exc: AuthenticationError) -> Message | None:
    """The message for a refusal because of too many attempts (None for other refusals)."""
    if not isinstance(exc, TooManyAttempts):
        return None
    return Message(RATE_LIMITED, {"minutes": max(1, math.ceil(exc.retry_after / 60))})


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI of the user's (pending) TOTP secret, as the enrolment gave it."""
    assert user.totp_secret is not None
    return pyotp.TOTP(user.totp_secret, interval=accounts.TOTP_INTERVAL).provisioning_uri(
        name=user.email, issuer_name=accounts.TOTP_ISSUER
    )


@router.get("/login")
def login_page(ctx: Public, reden: str = "", volgende: str = "/dashboard") -> Response:
    if ctx.user is not None:
        return _see_other("/dashboard")
    renderer = web_state(ctx.request).renderer
    return renderer.page(
        ctx.request,
        "login.html",
        {
            "errors": {},
            "email": "",
            "info": LOGIN_NOTICES.get(reden),
            "next_path": safe_next_path(volgende),
        },
    )


@router.post("/login")
def login(ctx: Public) -> Response:
    request = ctx.request
    state = web_state(request)
    check = FormCheck(ctx.form)
    email = check.email()
    password = check.text(
        "password", max_length=1024, strip=False, missing=N_("Fill in your password.")
    )
    next_path = safe_next_path(check.form.get("volgende"))
    if check.ok:
        try:
            user = accounts.authenticate(
                ctx.db, email=email, password=password, ip=ctx.ip or "", settings=state.settings
            )
        except AuthenticationError as exc:
            # authenticate() has committed the failed attempt and its audit event itself.
            limited = _rate_limited(exc)
            check.errors["_form"] = limited or WRONG_CREDENTIALS
            return _login_form(ctx, check, email, next_path, 429 if limited else 401)
    else:
        return _login_form(ctx, check, check.values.get("email", ""), next_path, 422)

    if ctx.session_token:  # a new login replaces whatever session this browser had
        sessions.revoke_session(ctx.db, ctx.session_token, ip=ctx.ip)
    second_factor = accounts.needs_second_factor(user)
    token = sessions.create_session(
        ctx.db,
        user,
        ip=ctx.ip or "",
        user_agent=request.headers.get("user-agent", "")[:400],
        second_factor_done=not second_factor,
        settings=state.settings,
    )
    if user.locale is None:
        accounts.set_locale(ctx.db, user, ctx.locale)
    if not second_factor:
        target = next_path
    elif user.totp_enabled:
        target = f"/login/tweede-factor?volgende={quote(next_path, safe='/')}"
    else:
        target = "/account/tweede-factor"
    return _signed_in_redirect(state, target, token, end_pre_session=True)


def _login_form(
    ctx: RequestContext, check: FormCheck, email: str, next_path: str, status: int
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "login.html",
        {"errors": check.errors, "email": email, "info": None, "next_path": next_path},
        status_code=status,
    )


@router.get("/login/tweede-factor")
def second_factor_page(ctx: Public, volgende: str = "/dashboard") -> Response:
    redirect = _second_factor_redirect(ctx)
    if redirect is not None:
        return redirect
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "second_factor.html",
        {"errors": {}, "next_path": safe_next_path(volgende)},
    )


@router.post("/login/tweede-factor")
def second_factor(ctx: Public) -> Response:
    redirect = _second_factor_redirect(ctx)
    if redirect is not None:
        return redirect
    user = ctx.pending_user
    assert user is not None
    assert ctx.login_session is not None
    check = FormCheck(ctx.form)
    code = check.totp_code()
    next_path = safe_next_path(check.form.get("volgende"))
    status = 422
    if check.ok:
        settings = web_state(ctx.request).settings
        try:
            if accounts.verify_totp(ctx.db, user, code, ip=ctx.ip, settings=settings):
                return _complete_login(ctx, next_path)
            check.errors["code"] = WRONG_CODE
            status = 401
        except TooManyAttempts as exc:
            check.errors["code"] = _rate_limited(exc) or WRONG_CODE
            status = 429
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "second_factor.html",
        {"errors": check.errors, "next_path": next_path},
        status_code=status,
    )


def _complete_login(ctx: RequestContext, next_path: str) -> Response:
    """The second factor is done: the session gains its rights under a new token, so that a
    token seen before this moment (session fixation) is worth nothing."""
    assert ctx.login_session is not None
    sessions.complete_second_factor(ctx.db, ctx.login_session)
    token = sessions.rotate_session(ctx.db, ctx.login_session)
    state = web_state(ctx.request)
    return _signed_in_redirect(state, next_path, token)


def _second_factor_redirect(ctx: RequestContext) -> Response | None:
    """Where to go instead when this browser is not half-way a login with a second factor."""
    if ctx.user is not None:
        return _see_other("/dashboard")
    user = ctx.pending_user
    if user is None:
        return _see_other("/login?reden=required")
    if not user.totp_enabled:
        return _see_other("/account/tweede-factor")
    return None


@router.get("/account/tweede-factor")
def enrolment_page(ctx: Public) -> Response:
    user = ctx.user or ctx.pending_user
    if user is None:
        return _see_other("/login?reden=required")
    if user.totp_enabled:
        if ctx.user is None:
            return _see_other("/login/tweede-factor")
        return _enrolment(ctx, enabled=True)
    if user.totp_secret:  # enrolment already begun: show the same secret, it may be scanned
        return _enrolment(ctx, secret=user.totp_secret, uri=provisioning_uri(user))
    secret, uri = accounts.begin_totp_enrolment(ctx.db, user)
    return _enrolment(ctx, secret=secret, uri=uri)


@router.post("/account/tweede-factor")
def enrol(ctx: Public) -> Response:
    user = ctx.user or ctx.pending_user
    if user is None:
        return _see_other("/login?reden=required")
    if user.totp_enabled:
        return _see_other("/dashboard" if ctx.user else "/login/tweede-factor")
    if not user.totp_secret:
        return _see_other("/account/tweede-factor")
    check = FormCheck(ctx.form)
    code = check.totp_code()
    status = 422
    if check.ok:
        try:
            accounts.confirm_totp_enrolment(
                ctx.db, user, code, ip=ctx.ip, settings=web_state(ctx.request).settings
            )
        except AuthenticationError as exc:
            limited = _rate_limited(exc)
            check.errors["code"] = limited or WRONG_CODE
            status = 429 if limited else 401
        else:
            if ctx.login_session is not None and not ctx.login_session.second_factor_done:
                return _complete_login(ctx, "/dashboard")
            return _see_other("/dashboard")
    # Show the same secret again: the user may have scanned it already.
    return _enrolment(
        ctx,
        secret=user.totp_secret,
        uri=provisioning_uri(user),
        errors=check.errors,
        status=status,
    )


def _enrolment(
    ctx: RequestContext,
    *,
    enabled: bool = False,
    secret: str = "",
    uri: str = "",
    errors: dict[str, str | Message] | None = None,
    status: int = 200,
) -> Response:
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "enrol.html",
        {
            "enabled": enabled,
            "secret": secret,
            "secret_grouped": grouped,
            # The SVG comes from our own QR generator, not from user input.
            "qr_svg": Markup(accounts.totp_qr_svg(uri)) if uri else "",  # noqa: S704
            "errors": errors or {},
        },
        status_code=status,
    )


@router.post("/logout")
def logout(ctx: Public) -> Response:
    state = web_state(ctx.request)
    if ctx.session_token is not None:
        sessions.revoke_session(ctx.db, ctx.session_token, ip=ctx.ip)  # records the logout
    response = _see_other("/login?reden=uitgelogd")
    state.cookies.delete(response, state.cookies.session_cookie)
    return response


@router.post("/taal")
def switch_language(ctx: Public) -> Response:
    """Switch the interface language (kept in a cookie, and saved with the user's account)."""
    form = ctx.form
    locale = normalise_locale(str(form.get("taal", "")))
    next_path = safe_next_path(form.get("volgende"), default="/", allow_login_pages=True)
    if locale is None or locale not in LOCALES:
        return _see_other(next_path)
    if ctx.user is not None:
        accounts.set_locale(ctx.db, ctx.user, locale)
    response = _see_other(next_path)
    web_state(ctx.request).cookies.set(response, LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_AGE)
    return response


# ----------------------------------------------------------------------------------------------
# Activation link and password change


def _link_invalid(ctx: RequestContext) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request, "activate.html", {"invalid": True, "errors": {}}, status_code=404
    )


def _activation_form(
    ctx: RequestContext,
    user: User,
    token: str,
    *,
    errors: dict[str, str | Message] | None = None,
    status: int = 200,
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "activate.html",
        {
            "invalid": False,
            "account": user,
            "token": token,
            "rules": PASSWORD_RULES,
            "errors": errors or {},
        },
        status_code=status,
    )


@router.get("/account/activeren/{token}")
def activation_page(ctx: Public, token: str) -> Response:
    enrolment = accounts.find_enrolment(ctx.db, token)
    if enrolment is None:
        return _link_invalid(ctx)
    user = ctx.db.get(User, enrolment.user_id)
    assert user is not None
    return _activation_form(ctx, user, token)


@router.post("/account/activeren/{token}")
def activate(ctx: Public, token: str) -> Response:
    """Set the own password through the one-time link, then go on to the second factor (set
    up for a new account, entered for an account that has one)."""
    enrolment = accounts.find_enrolment(ctx.db, token)
    if enrolment is None:
        return _link_invalid(ctx)
    user = ctx.db.get(User, enrolment.user_id)
    assert user is not None
    check = FormCheck(ctx.form)
    password = check.text("password", max_length=1024, strip=False)
    repeat = check.text("password_repeat", max_length=1024, strip=False)
    if check.ok and password != repeat:
        check.errors["password_repeat"] = PASSWORDS_DIFFER
    if not check.ok:
        return _activation_form(ctx, user, token, errors=check.errors, status=422)
    try:
        user = accounts.complete_enrolment(ctx.db, token, password, ip=ctx.ip, opened_by=ctx.actor)
    except PermissionDenied:
        return _activation_form(ctx, user, token, errors={"_form": MADE_BY_YOU}, status=403)
    except FieldError as exc:
        errors: dict[str, str | Message] = {"password": PASSWORD_MESSAGES["password"]}
        if exc.field != "password":
            errors = {exc.field: N_("This value is not valid.")}
        return _activation_form(ctx, user, token, errors=errors, status=422)
    except AuthenticationError:
        return _link_invalid(ctx)
    # A session of someone else in this browser ends (the user's own ended with the change).
    if ctx.session_token and ctx.login_session is not None and ctx.login_session.user_id != user.id:
        sessions.revoke_session(ctx.db, ctx.session_token, ip=ctx.ip)
    state = web_state(ctx.request)
    second_factor = accounts.needs_second_factor(user)
    new_token = sessions.create_session(
        ctx.db,
        user,
        ip=ctx.ip or "",
        user_agent=ctx.request.headers.get("user-agent", "")[:400],
        second_factor_done=not second_factor,
        settings=state.settings,
    )
    if not second_factor:
        target = "/dashboard"
    elif user.totp_enabled:
        target = "/login/tweede-factor"
    else:
        target = "/account/tweede-factor"
    return _signed_in_redirect(state, target, new_token, end_pre_session=True)


def _password_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    changed: bool = False,
    status: int = 200,
) -> Response:
    assert ctx.user is not None
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "password.html",
        {
            "errors": errors or {},
            "changed": changed,
            "needs_code": accounts.needs_second_factor(ctx.user),
            "rules": PASSWORD_RULES,
        },
        status_code=status,
    )


@router.get("/account/wachtwoord")
def password_page(ctx: OwnAccount, gewijzigd: str = "") -> Response:
    return _password_page(ctx, changed=gewijzigd == "ja")


@router.post("/account/wachtwoord")
def change_password(ctx: OwnAccount) -> Response:
    """Change the own password: the current one and (for accounts with TOTP) a current code are
    needed; wrong ones count as failed logins. Every session ends; this browser gets a new one."""
    user = ctx.user
    assert user is not None
    state = web_state(ctx.request)
    check = FormCheck(ctx.form)
    current = check.text(
        "current_password", max_length=1024, strip=False, missing=N_("Fill in your password.")
    )
    new = check.text("new_password", max_length=1024, strip=False)
    repeat = check.text("new_password_repeat", max_length=1024, strip=False)
    code = check.totp_code() if accounts.needs_second_factor(user) else ""
    if check.ok and new != repeat:
        check.errors["new_password_repeat"] = PASSWORDS_DIFFER
    if not check.ok:
        return _password_page(ctx, errors=check.errors, status=422)
    try:
        accounts.change_password(
            ctx.db, user, current=current, new=new, code=code, ip=ctx.ip, settings=state.settings
        )
    except FieldError as exc:
        message = PASSWORD_MESSAGES.get(exc.field, N_("This value is not valid."))
        return _password_page(ctx, errors={exc.field: message}, status=422)
    except AuthenticationError as exc:
        # The failure and its audit event are committed already; say not which one was wrong.
        limited = _rate_limited(exc)
        errors: dict[str, str | Message] = {
            "_form": limited or PASSWORD_MESSAGES["current_password"]
        }
        return _password_page(ctx, errors=errors, status=429 if limited else 401)
    new_token = sessions.create_session(
        ctx.db,
        user,
        ip=ctx.ip or "",
        user_agent=ctx.request.headers.get("user-agent", "")[:400],
        second_factor_done=True,
        settings=state.settings,
    )
    return _signed_in_redirect(state, "/account/wachtwoord?gewijzigd=ja", new_token)
