"""The one dependency every route goes through: :func:`guard`.

``guard(action, resource=...)`` opens the request's database session, reads the login session
from the signed cookie, checks the CSRF token of state-changing requests (against the signed
cookies before their form is parsed: :func:`checked_submission`), picks the language and asks
:func:`signaal.chain.authz.allowed` whether the actor may perform ``action`` on the resource.
Handlers receive a :class:`RequestContext` and never check roles or ownership themselves.

Transactions: the session is committed when the handler returns and rolled back when it raises,
so a failed request writes nothing half. Audit events that must survive a refusal (access denied)
are written in their own transaction.

System integrations call the API with ``Authorization: Bearer <token>`` instead of a login
session (:mod:`signaal.chain.api_tokens`): only on ``/api/`` paths (a page refuses it with 400),
never together with a login cookie, and a token that is unknown, revoked or expired is a 401 in
the API's one error shape. The token's actor has no account (``Actor.token_id``; ``user_id`` is
the negative token id). A bearer request that carries no cookie at all needs no CSRF token: a
browser never sends the header by itself. Every use is audited (``api_token.event``, change
``used``, with method and path), in its own transaction, so that a failed request is logged too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from signaal import audit
from signaal.chain import api_tokens, authz, visibility
from signaal.chain.authz import Action, Actor, Resource
from signaal.chain.sessions import load_session
from signaal.errors import NotFoundError, PermissionDenied
from signaal.store import analysis
from signaal.store.db import transaction
from signaal.store.models import (
    ApiToken,
    Case,
    JointControl,
    LoginSession,
    Organisation,
    Placement,
    Referral,
    Signal,
    Subject,
    User,
    utcnow,
)
from signaal.web.errors import CsrfFailure, LoginRequired
from signaal.web.forms import (
    SAFE_METHODS,
    URLENCODED,
    is_api_path,
    media_type,
    parse_urlencoded,
    read_body,
    refuse_unexpected_api_body,
    refuse_unexpected_body,
    urlencoded_field,
)
from signaal.web.i18n import N_, normalise_locale
from signaal.web.security import CSRF_FORM_FIELD, CSRF_HEADER, LOCALE_COOKIE

# Builds the resource of a request (from its path parameters, reading the store if needed).
# The actor of the request, if any, is ``request_actor(request)``.
ResourceLoader = Callable[[Request, Session], Resource | None]

ChainModel = TypeVar("ChainModel", Signal, Subject, Case, Referral, JointControl, Placement)
CHAIN_MODELS: dict[str, type[Signal | Subject | Case | Referral | JointControl | Placement]] = {
    "signal": Signal,
    "subject": Subject,
    "case": Case,
    "referral": Referral,
    "joint_control": JointControl,
    "placement": Placement,
}
MAX_RECORD_ID = 2**31 - 1
# Records that only their organisation sees and whose loaders give their real owner (tasks,
# outreach contacts, shelters): refused like chain records, with the same 404.
OWN_RECORD_KINDS = frozenset(
    {
        "task",
        "outreach_contact",
        "shelter",
        "contact_request",
        "protective_watch",
        "watchlist_watch",
    }
)

# No path parameter of any route is longer (the longest stored id, an ad id, has 200).
MAX_PATH_PARAMETER_LENGTH = 200


@dataclass
class RequestContext:
    """What a handler knows about the request after the guard let it through."""

    request: Request
    db: Session
    action: Action
    resource: Resource | None
    locale: str
    ip: str | None
    csrf_token: str
    form: FormData
    login_session: LoginSession | None = None
    session_token: str | None = None
    user: User | None = None  # set only when the login is complete (second factor done)
    actor: Actor | None = None
    record: object | None = None  # the chain record a chain_resource loader found
    api_token: ApiToken | None = None  # set when an integration called with a bearer token

    def chain_record(self, model: type[ChainModel]) -> ChainModel:
        """The chain record of the route (loaded once by :func:`chain_resource`)."""
        if not isinstance(self.record, model):
            raise NotFoundError("no such record")
        return self.record

    @property
    def pending_user(self) -> User | None:
        """The user of a login session that still waits for its second factor."""
        if self.login_session is not None and not self.login_session.second_factor_done:
            return self.login_session.user
        return None

    @property
    def acting(self) -> Actor:
        """The logged-in actor, for handlers of routes that need one (services take an actor,
        never None: None would not be asked)."""
        if self.actor is None:
            raise PermissionDenied("this needs a complete login")
        return self.actor

    def may(self, action: Action, resource: Resource | None = None) -> bool:
        return authz.allowed(self.actor, action, resource)


@dataclass(frozen=True)
class Viewer:
    """Who is logged in, as the page header shows it (no database object)."""

    display_name: str
    organisation_name: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.display_name, user.organisation.name)


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    action: Action


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def negotiate_locale(request: Request, user: User | None = None) -> str:
    """Cookie choice, then the user's saved language, then the deployment default (Dutch)."""
    from signaal.web.app import web_state

    chosen = normalise_locale(request.cookies.get(LOCALE_COOKIE))
    if chosen:
        return chosen
    if user is not None:
        saved = normalise_locale(user.locale)
        if saved:
            return saved
    return normalise_locale(web_state(request).settings.default_locale) or "nl"


def database(request: Request) -> Iterator[Session]:
    """The request's database session: committed on success, rolled back on any error."""
    from signaal.web.app import web_state

    session = web_state(request).sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Database = Annotated[Session, Depends(database, scope="function")]


def _nav(actor: Actor | None) -> list[NavItem]:
    items = [
        NavItem("/dashboard", N_("Overview"), Action.VIEW_DASHBOARD),
        NavItem("/analyse", N_("Analysis"), Action.VIEW_ANALYSIS),
        NavItem("/analyse/triage", N_("Triage"), Action.VIEW_TRIAGE),
        NavItem("/volglijst", N_("Watchlist"), Action.WATCH_ITEMS),
        NavItem("/mijn-gemeente", N_("My municipality"), Action.VIEW_LOCAL_PICTURE),
        NavItem("/signalen", N_("Signals"), Action.VIEW_SIGNALS),
        NavItem("/coordinatie", N_("Coordination"), Action.ROUTE_SIGNALS),
        NavItem("/verwijzingen", N_("Referrals"), Action.DECIDE_REFERRALS),
        NavItem("/afspraken", N_("Agreements"), Action.VIEW_AGREEMENTS),
        NavItem("/contactverzoeken", N_("Contact requests"), Action.SEND_CONTACT_REQUESTS),
        NavItem("/bescherming", N_("Protective watch"), Action.MANAGE_WATCHES),
        NavItem("/contact/nieuw", N_("Log contact"), Action.MANAGE_CASES),
        NavItem("/taken", N_("Tasks"), Action.MANAGE_TASKS),
        NavItem("/dossiers", N_("Cases"), Action.VIEW_CASES),
        NavItem("/opvang", N_("Shelters"), Action.VIEW_SHELTERS),
        NavItem("/controles", N_("Joint controls"), Action.MANAGE_CONTROLS),
        NavItem("/coordinatie/dashboard", N_("Chain dashboard"), Action.VIEW_CHAIN_DASHBOARD),
        NavItem("/beheer/gebruikers", N_("Users"), Action.MANAGE_USERS),
        NavItem("/beheer/organisatie", N_("Own organisation"), Action.MANAGE_CONTACT_ROUTE),
        NavItem("/beheer/audit", N_("Audit log"), Action.VIEW_AUDIT),
    ]
    return [item for item in items if authz.allowed(actor, item.action, None)]


@dataclass(frozen=True)
class Submission:
    """The form of a request, read only after its CSRF token checked out.

    ``csrf_kinds`` holds the kinds of token that matched (``"session"`` for the session cookie's
    token, ``"pre"`` for the pre-session nonce's); the guard then requires the kind that fits
    the login state it finds in the store.
    """

    form: FormData
    csrf_kinds: frozenset[str]


def _csrf_seeds(request: Request) -> list[tuple[str, str]]:
    """The (seed, kind) pairs that a CSRF token may be derived from: the signed session
    cookie's token and the signed pre-session nonce. Signature checks only, no store."""
    from signaal.web.app import web_state

    state = web_state(request)
    seeds: list[tuple[str, str]] = []
    session_cookie = request.cookies.get(state.cookies.session_cookie)
    token = state.signer.unsign_session(session_cookie) if session_cookie else None
    if token:
        seeds.append((token, "session"))
    pre_cookie = request.cookies.get(state.cookies.pre_session_cookie)
    nonce = state.signer.unsign_pre_session(pre_cookie) if pre_cookie else None
    if nonce:
        seeds.append((nonce, "pre"))
    return seeds


async def checked_submission(request: Request) -> Submission:
    """Check the CSRF token of a state-changing request before its form is parsed.

    In this order: uploads and declared oversize bodies are refused unread; a request without a
    signed session or pre-session cookie is refused before its body is read; a token in the
    ``X-CSRF-Token`` header is checked before the body is read, one in the urlencoded body's
    ``csrf_token`` field after reading the (size-limited) raw body but before parsing the other
    fields. An async dependency, so that the guard and the handlers can stay plain functions
    that FastAPI runs in its thread pool (hashing and database work never block the event loop).
    """
    if request.method in SAFE_METHODS:
        return Submission(FormData(), frozenset())
    from signaal.web.app import web_state

    signer = web_state(request).signer
    refuse_unexpected_body(request)
    refuse_unexpected_api_body(request)
    if bearer_without_cookies(request):
        # No browser sends an Authorization header by itself, and without any cookie there is
        # no login a forged request could ride on: the token is the proof (checked by the guard).
        return Submission(FormData(), frozenset({"bearer"}))
    seeds = _csrf_seeds(request)
    if not seeds:
        raise CsrfFailure()

    def matching(candidate: str | None) -> frozenset[str]:
        if not candidate:
            return frozenset()
        return frozenset(
            kind
            for seed, kind in seeds
            if signer.csrf_matches(seed, kind=kind, candidate=candidate)
        )

    is_form = media_type(request) == URLENCODED
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        kinds = matching(header)
        if not kinds:
            raise CsrfFailure()
        body = await read_body(request) if is_form else b""
    else:
        body = await read_body(request) if is_form else b""
        kinds = matching(urlencoded_field(body, CSRF_FORM_FIELD))
        if not kinds:
            raise CsrfFailure()
    return Submission(parse_urlencoded(body) if body else FormData(), kinds)


class Guard:
    """The dependency of one route: ``action`` on the resource that ``resource`` loads."""

    def __init__(
        self, action: Action, resource: ResourceLoader | None = None, *, audit_denial: bool
    ) -> None:
        self.action = action
        self.resource = resource
        self.audit_denial = audit_denial

    def __call__(
        self,
        request: Request,
        db: Database,
        submission: Annotated[Submission, Depends(checked_submission)],
    ) -> RequestContext:
        ip = client_ip(request)
        secret = bearer_secret(request)
        if secret is not None:
            return self._as_integration(request, db, secret, submission, ip)
        login_session, token, lost = self._load_login(request, db)
        user = None
        if login_session is not None and login_session.second_factor_done:
            user = login_session.user
        actor = authz.actor_for(user) if user is not None else None

        locale = negotiate_locale(request, user or (login_session.user if login_session else None))
        csrf_token = self._csrf_token(request, token)
        request.state.locale = locale
        request.state.csrf_token = csrf_token
        request.state.viewer = Viewer.of(user) if user is not None else None
        request.state.nav = _nav(actor)
        request.state.signed_in = login_session is not None
        request.state.actor = actor

        # The token was checked against the signed cookies before the form was parsed
        # (checked_submission); here it must be of the kind that the login state calls for.
        if request.method not in SAFE_METHODS:
            expected = "session" if token else "pre"
            if expected not in submission.csrf_kinds:
                raise CsrfFailure()
        form = submission.form

        resource = self._load_resource(request, db)
        context = RequestContext(
            request=request,
            db=db,
            action=self.action,
            resource=resource,
            locale=locale,
            ip=ip,
            csrf_token=csrf_token,
            form=form,
            login_session=login_session,
            session_token=token,
            user=user,
            actor=actor,
        )
        context.record = getattr(request.state, "chain_record", None)
        if authz.allowed(actor, self.action, resource):
            return context
        if actor is None:
            if login_session is not None:
                raise LoginRequired("second_factor")
            raise LoginRequired(lost or "required")
        self._refuse(request, actor, resource, ip)

    def _refuse(
        self, request: Request, actor: Actor, resource: Resource | None, ip: str | None
    ) -> NoReturn:
        """Answer an actor whose action ``allowed()`` refused: 404 for a chain record she may
        not see, else 403; audited (unless the route says otherwise)."""
        from signaal.web.app import web_state

        state = web_state(request)
        # A chain record the actor may not see answers exactly as one that does not exist (404),
        # once her role may do the action at all; the attempt is audited either way.
        hidden = (
            resource is not None
            and (resource.kind in CHAIN_MODELS or resource.kind in OWN_RECORD_KINDS)
            and resource.id is not None
            and authz.allowed(actor, self.action, None)
        )
        if self.audit_denial:
            state.record_audit(
                audit.AccessDenied(
                    attempted=f"{request.method} {request.url.path} ({self.action})",
                    resource_kind=resource.kind if resource else None,
                    resource_id=resource.id if resource else None,
                ),
                actor=actor,
                ip=ip,
            )
        if hidden:
            raise NotFoundError("no such record")
        raise PermissionDenied(f"{self.action} not allowed")

    def _as_integration(
        self,
        request: Request,
        db: Session,
        secret: str,
        submission: Submission,
        ip: str | None,
    ) -> RequestContext:
        """The guard for a request with a bearer token (an integration; see the module doc)."""
        from signaal.web.app import web_state

        state = web_state(request)
        request.state.locale = negotiate_locale(request)
        request.state.csrf_token = ""
        request.state.viewer = None
        request.state.nav = []
        request.state.signed_in = False
        request.state.actor = None
        if not is_api_path(request.url.path):
            raise BearerOnPage()
        attempted = f"{request.method} {request.url.path}"
        if state.cookies.session_cookie in request.cookies:
            # One request, one identity: a login cookie and a token together are refused.
            raise LoginRequired("invalid")
        if request.method not in SAFE_METHODS and not submission.csrf_kinds & {"bearer"}:
            raise CsrfFailure()  # cookies came along: the token alone proves nothing then
        now = utcnow()
        token = api_tokens.find_token(db, secret)
        if token is None:
            state.record_audit(
                audit.AccessDenied(attempted=f"{attempted} (unknown bearer token)"),
                actor=None,
                ip=ip,
            )
            raise LoginRequired("invalid")
        condition = api_tokens.token_state(token, now)
        organisation = db.get(Organisation, token.organisation_id)
        if condition != "active" or organisation is None:
            state.record_audit(
                audit.ApiTokenEvent(
                    token_id=token.id,
                    change=f"refused_{condition}",
                    organisation_id=token.organisation_id,
                    name=token.name,
                    method=request.method,
                    path=request.url.path,
                ),
                actor=None,
                ip=ip,
            )
            raise LoginRequired("expired")
        actor = api_tokens.token_actor(token, organisation)
        request.state.actor = actor
        self._note_use(request, token, actor, now, ip)
        resource = self._load_resource(request, db)
        context = RequestContext(
            request=request,
            db=db,
            action=self.action,
            resource=resource,
            locale=request.state.locale,
            ip=ip,
            csrf_token="",
            form=submission.form,
            actor=actor,
            api_token=token,
        )
        context.record = getattr(request.state, "chain_record", None)
        if authz.allowed(actor, self.action, resource):
            return context
        self._refuse(request, actor, resource, ip)

    @staticmethod
    def _note_use(
        request: Request, token: ApiToken, actor: Actor, now: datetime, ip: str | None
    ) -> None:
        """Audit this use of the token and, at most once a minute, its ``last_used_at``: in a
        transaction of their own, so that the use is logged whatever the request does next."""
        from signaal.web.app import web_state

        state = web_state(request)
        with transaction(state.sessions) as session:
            audit.record(
                session,
                audit.ApiTokenEvent(
                    token_id=token.id,
                    change="used",
                    organisation_id=token.organisation_id,
                    name=token.name,
                    method=request.method,
                    path=request.url.path,
                ),
                actor=actor,
                ip=ip,
            )
            stored = session.get(ApiToken, token.id)
            if stored is not None and api_tokens.note_use(stored, now):
                token.last_used_at = stored.last_used_at

    def _load_resource(self, request: Request, db: Session) -> Resource | None:
        """The resource of the request; a path parameter no record can have is a 404 before
        any loader or query sees it (a NUL byte is an error on PostgreSQL, not a miss)."""
        for value in request.path_params.values():
            if isinstance(value, str) and not plausible_path_parameter(value):
                raise NotFoundError("no such page")
        return self.resource(request, db) if self.resource else None

    def _load_login(
        self, request: Request, db: Session
    ) -> tuple[LoginSession | None, str | None, str | None]:
        """(login session, raw token, why a cookie that was sent is not accepted: "expired"
        for an ended session, "invalid" for a cookie we did not sign, else None)."""
        from signaal.web.app import web_state

        state = web_state(request)
        cookie = request.cookies.get(state.cookies.session_cookie)
        if not cookie:
            return None, None, None
        token = state.signer.unsign_session(cookie)
        if token is None:  # tampered or signed with another key
            state.forget_session_cookie(request)
            return None, None, "invalid"
        login_session = load_session(db, token, settings=state.settings)
        if login_session is None or not login_session.user.is_active:
            state.forget_session_cookie(request)
            return None, None, "expired"
        return login_session, token, None

    def _pre_session(self, request: Request) -> str:
        from signaal.web.app import web_state

        state = web_state(request)
        cookie = request.cookies.get(state.cookies.pre_session_cookie)
        nonce = state.signer.unsign_pre_session(cookie) if cookie else None
        return nonce or ""

    def _csrf_token(self, request: Request, token: str | None) -> str:
        from signaal.web.app import web_state

        state = web_state(request)
        if token:
            return state.signer.csrf_token(token, kind="session")
        nonce = self._pre_session(request)
        if not nonce:
            nonce, signed = state.signer.new_pre_session()
            state.queue_cookie(request, state.cookies.pre_session_cookie, signed, max_age=None)
        return state.signer.csrf_token(nonce, kind="pre")


class BearerOnPage(PermissionDenied):
    """A bearer token sent to a page: tokens are for the API only (answered 400)."""

    code = "bearer_not_accepted"
    http_status = 400

    def __init__(self) -> None:
        super().__init__("bearer tokens are accepted on /api/ paths only")


BEARER_SCHEME = "bearer"


def bearer_secret(request: Request) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header ("" for a malformed one, so
    that it is refused rather than ignored), or None when the request carries no such header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != BEARER_SCHEME:
        return ""
    return value.strip()


def bearer_without_cookies(request: Request) -> bool:
    """An API request with an Authorization header and no cookie at all."""
    return (
        is_api_path(request.url.path)
        and request.headers.get("authorization") is not None
        and "cookie" not in request.headers
    )


def guard(
    action: Action, resource: ResourceLoader | None = None, *, audit_denial: bool = True
) -> Any:
    """The dependency that every route declares (``ctx: Ctx = guard(Action.X)``)."""
    return Depends(Guard(action, resource, audit_denial=audit_denial))


def plausible_path_parameter(value: str) -> bool:
    """Whether ``value`` could name a record: not empty, not too long, no control characters
    (NUL included) and no unpaired surrogates."""
    if not value or len(value) > MAX_PATH_PARAMETER_LENGTH:
        return False
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def request_actor(request: Request) -> Actor | None:
    """The actor of a request, for resource loaders (set by the guard before it loads)."""
    actor = getattr(request.state, "actor", None)
    return actor if isinstance(actor, Actor) else None


def path_resource(kind: str, parameter: str) -> ResourceLoader:
    """A loader for a resource named by a path parameter (e.g. ``persona_id``), without an owner
    (for records that are not in the store)."""

    def load(request: Request, db: Session) -> Resource:
        return Resource(kind=kind, id=str(request.path_params[parameter]))

    load.__name__ = f"{kind}_from_{parameter}"
    return load


def analysis_resource(kind: Literal["persona", "network"], parameter: str) -> ResourceLoader:
    """A loader for a persona or network named by a path parameter, with the organisation that
    owns it in the store (see :func:`signaal.store.analysis.owning_organisation`), so that
    ``allowed()`` decides. An id that no run holds belongs to no organisation, and ``allowed()``
    refuses it like a record of another organisation: the answer (403, audited) never tells
    whether an id exists elsewhere."""

    def load(request: Request, db: Session) -> Resource:
        record_id = str(request.path_params[parameter])
        actor = request_actor(request)
        if actor is None:  # asked to log in first; nothing to look up
            return Resource(kind=kind, id=record_id)
        owner = analysis.owning_organisation(db, kind, record_id, prefer=actor.organisation_id)
        return Resource(kind=kind, id=record_id, organisation_id=owner)

    load.__name__ = f"{kind}_from_{parameter}"
    return load


def own_record_resource(
    kind: str, parameter: str, owner_of: Callable[[Session, int], int | None]
) -> ResourceLoader:
    """A loader for a record that only its organisation sees (``kind`` of
    :data:`OWN_RECORD_KINDS`), named by a numeric path parameter: ``owner_of`` gives its
    organisation (None: no such record, refused and answered 404 like another's record)."""

    def load(request: Request, db: Session) -> Resource:
        raw = str(request.path_params[parameter])
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_RECORD_ID:
            raise NotFoundError("no such record")
        if request_actor(request) is None:
            return Resource(kind=kind, id=raw)
        return Resource(kind=kind, id=raw, organisation_id=owner_of(db, int(raw)))

    load.__name__ = f"{kind}_from_{parameter}"
    return load


def chain_resource(kind: str, parameter: str) -> ResourceLoader:
    """A loader for a chain record (``kind`` of :data:`CHAIN_MODELS`) named by a numeric path
    parameter: its owner, the organisations it is shared with and the actor's emergency access
    (:func:`signaal.chain.visibility.resource_for`), so that ``allowed()`` decides. An id that
    is not a positive number, or names no record, gets a resource without an owner, which
    ``allowed()`` refuses; the guard then answers 404 for it exactly as for a record of another
    organisation. The record is handed to the handler as ``ctx.record``."""
    model = CHAIN_MODELS[kind]

    def load(request: Request, db: Session) -> Resource:
        raw = str(request.path_params[parameter])
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_RECORD_ID:
            raise NotFoundError("no such record")
        record_id = int(raw)
        actor = request_actor(request)
        if actor is None:  # asked to log in first; nothing to look up
            return Resource(kind=kind, id=str(record_id))
        record = db.get(model, record_id)
        if not isinstance(record, model):
            return Resource(kind=kind, id=str(record_id))
        request.state.chain_record = record
        return visibility.resource_for(db, actor, record)

    load.__name__ = f"{kind}_from_{parameter}"
    return load


__all__ = [
    "CHAIN_MODELS",
    "Database",
    "Guard",
    "NavItem",
    "RequestContext",
    "Submission",
    "analysis_resource",
    "bearer_secret",
    "chain_resource",
    "checked_submission",
    "client_ip",
    "guard",
    "negotiate_locale",
    "own_record_resource",
    "path_resource",
    "plausible_path_parameter",
    "request_actor",
]
