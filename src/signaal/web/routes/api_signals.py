"""The chain's JSON API: signals, subjects, referrals and agreements under ``/api/v1``.

Same guard and sessions as the pages (and API tokens, once the guard takes them); a POST with a
session cookie needs the ``X-CSRF-Token`` header. A record the caller may not see answers exactly
as one that does not exist (404). Bad fields answer 422 with ``error.fields`` (field -> reason),
nothing changed. Lists page with ``limit`` and ``cursor`` (``next`` of the previous page).
Contact points are never in an answer in the clear: subjects carry their masked phones.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from signaal.chain import matching, referrals, remote_matching, sharing, signals, subjects
from signaal.chain.authz import Action, Resource, allowed
from signaal.errors import FieldErrors, NotFoundError
from signaal.privacy import deidentifier, deidentify
from signaal.store.models import Agreement, Referral, Signal, Subject, utcnow
from signaal.web.app import web_state
from signaal.web.context import RequestContext, chain_resource, guard, request_actor
from signaal.web.forms import refuse_unexpected_body


class JsonRoute(APIRoute):
    """A route whose body FastAPI reads (as JSON) *before* the guard runs: an upload (multipart)
    is refused unread (415), a declared oversize body too (413), before FastAPI touches the
    stream, as :func:`signaal.web.context.checked_submission` does for the pages. A JSON body
    within the size limit is read before the login and CSRF checks (then refused by them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def refuse_then_handle(request: Request) -> Response:
            refuse_unexpected_body(request)
            return await handler(request)

        return refuse_then_handle


router = APIRouter(prefix="/api/v1", route_class=JsonRoute)

MAX_LIMIT = 200
Cursor = Annotated[str | None, Query(max_length=12, pattern=r"^[0-9]{1,10}$")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonaLink(_Model):
    run_id: int = Field(ge=1, le=2**31 - 1)
    persona_id: str = Field(min_length=1, max_length=100)


class SignalIn(_Model):
    """A signal to register. ``municipality`` is a Dutch municipality or place (resolved);
    ``phones`` are kept only as keyed pseudonyms."""

    category: str = Field(max_length=48, description="A code of the signal categories.")
    municipality: str = Field(max_length=100)
    observed_at: datetime = Field(description="When it was seen, with a time zone.")
    text: str = Field(default="", max_length=signals.MAX_TEXT)
    source: str = Field(default="api", max_length=32)
    subject_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    phones: list[str] = Field(default_factory=list, max_length=signals.MAX_PHONES)
    personas: list[PersonaLink] = Field(default_factory=list, max_length=signals.MAX_PERSONAS)


class SignalOut(_Model):
    id: int
    organisation_id: int
    category: str
    source: str
    status: str
    municipality: str | None
    region: str | None
    observed_at: datetime
    text: str
    subject_id: int | None
    suggested_subject_id: int | None
    n_contact_points: int
    created_at: datetime


class SignalPage(_Model):
    items: list[SignalOut]
    next: str | None = Field(description="Cursor of the next page, null on the last.")


class SubjectIn(_Model):
    alias: str = Field(max_length=subjects.MAX_ALIAS)
    birth_year_from: int | None = Field(default=None, ge=1000, le=9999)
    birth_year_to: int | None = Field(default=None, ge=1000, le=9999)
    phones: list[str] = Field(default_factory=list, max_length=signals.MAX_PHONES)
    first_name: str = Field(
        default="",
        max_length=subjects.MAX_NAME,
        description="Encoded for hit/no-hit (with surname and birth date), never stored.",
    )
    surname: str = Field(
        default="", max_length=subjects.MAX_NAME, description="Encoded, never stored."
    )
    birth_date: date | None = Field(default=None, description="Encoded, never stored.")


class HitOut(_Model):
    organisation: str = Field(description="The other organisation's name.")
    contact_route: str | None = Field(description="How to reach it; null when not given.")
    organisation_id: int | None = Field(
        description="The other organisation, to ask it to get in touch (POST "
        "/api/v1/contact-requests); never a record of it. Null for a hit in another "
        "deployment (from the match service): reach it through its contact route."
    )


class SubjectOut(_Model):
    id: int
    organisation_id: int
    alias: str
    birth_year_from: int | None
    birth_year_to: int | None
    phones: list[str] = Field(description="Masked (06-•••••89), never in the clear.")
    created_at: datetime


class SubjectCreatedOut(SubjectOut):
    hits: list[HitOut] = Field(
        description="Other organisations that hold the same person under an agreement that "
        "covers hit/no-hit: their name and contact route only."
    )


class IdentifierOut(_Model):
    category: str = Field(
        description="person, address, birth_date, phone, email, handle, url, bsn, id or "
        "institution."
    )
    start: int = Field(description="Offset of the first character in the stored text.")
    end: int = Field(description="Offset after the last character in the stored text.")


class SignalCreatedOut(SignalOut):
    hits: list[HitOut] = Field(
        description="As for a new subject, for the signal's subject when it has an encoding."
    )
    identifiers_found: list[IdentifierOut] = Field(
        default_factory=list,
        description="Identifying spans found in the stored text (names, phone numbers, "
        "addresses, dates of birth, BSNs, ...), by category and offsets, never the value; the "
        "text is stored as sent. A client may offer its user to pseudonymise them.",
    )


class SubjectPage(_Model):
    items: list[SubjectOut]
    next: str | None


class ReferralIn(_Model):
    """A referral (or transfer) of one own signal, subject or case, or, with kind "routing", the
    care coordinator's routing of a signal of her inbox. ``basis``: consent | legal_basis."""

    kind: str = Field(default="referral", max_length=16)
    to_organisation_id: int = Field(ge=1, le=2**31 - 1)
    signal_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    subject_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    question: str = Field(max_length=referrals.MAX_QUESTION)
    basis: str = Field(max_length=16)
    legal_basis: str = Field(default="", max_length=referrals.MAX_LEGAL_BASIS)
    purpose: str = Field(max_length=referrals.MAX_PURPOSE)
    due_at: datetime | None = None


class ReferralEventOut(_Model):
    at: datetime
    from_state: str | None
    to_state: str
    organisation_id: int


class ReferralOut(_Model):
    id: int
    kind: str
    state: str
    organisation_id: int
    to_organisation_id: int
    signal_id: int | None
    subject_id: int | None
    case_id: int | None
    question: str
    basis: str
    legal_basis: str
    purpose: str
    reason: str
    due_at: datetime | None
    created_at: datetime
    events: list[ReferralEventOut] = Field(default_factory=list)


class ReferralPage(_Model):
    items: list[ReferralOut]
    next: str | None


class TransitionIn(_Model):
    to_state: str = Field(max_length=16)
    reason: str = Field(default="", max_length=referrals.MAX_REASON)


class AgreementIn(_Model):
    name: str = Field(max_length=sharing.MAX_NAME)
    parties: list[int] = Field(max_length=sharing.MAX_PARTIES)
    categories: list[str] = Field(max_length=50)
    purpose: str = Field(max_length=sharing.MAX_TEXT)
    legal_basis: str = Field(max_length=sharing.MAX_TEXT)
    valid_from: datetime
    valid_until: datetime | None = None
    hit_no_hit: bool = Field(
        default=False, description="The parties learn of each other's records on one person."
    )


class AgreementOut(_Model):
    id: int
    organisation_id: int
    name: str
    parties: list[int]
    categories: list[str]
    purpose: str
    legal_basis: str
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    in_force: bool
    hit_no_hit: bool


class AgreementList(_Model):
    items: list[AgreementOut]


# ----------------------------------------------------------------------------------------------


def _hits_out(hits: list[matching.Hit]) -> list[HitOut]:
    return [
        HitOut(
            organisation=h.organisation,
            contact_route=h.contact_route,
            organisation_id=h.organisation_id,
        )
        for h in hits
    ]


def _signal_out(signal: Signal) -> SignalOut:
    return SignalOut(
        id=signal.id,
        organisation_id=signal.organisation_id,
        category=signal.category,
        source=signal.source,
        status=signal.status,
        municipality=signal.municipality,
        region=signal.region,
        observed_at=signal.observed_at,
        text=signal.text,
        subject_id=signal.subject_id,
        suggested_subject_id=signal.suggested_subject_id,
        n_contact_points=len(signals.pseudonyms_of(signal)),
        created_at=signal.created_at,
    )


def _subject_out(db: Session, subject: Subject) -> SubjectOut:
    return SubjectOut(
        id=subject.id,
        organisation_id=subject.organisation_id,
        alias=subject.alias,
        birth_year_from=subject.birth_year_from,
        birth_year_to=subject.birth_year_to,
        phones=[c.masked for c in subjects.contacts_of(db, subject)],
        created_at=subject.created_at,
    )


def _referral_out(db: Session, referral: Referral, *, events: bool = False) -> ReferralOut:
    return ReferralOut(
        id=referral.id,
        kind=referral.kind,
        state=referral.state,
        organisation_id=referral.organisation_id,
        to_organisation_id=referral.to_organisation_id,
        signal_id=referral.signal_id,
        subject_id=referral.subject_id,
        case_id=referral.case_id,
        question=referral.question,
        basis=referral.basis,
        legal_basis=referral.legal_basis,
        purpose=referral.purpose,
        reason=referral.reason,
        due_at=referral.due_at,
        created_at=referral.created_at,
        events=[
            ReferralEventOut(
                at=e.at,
                from_state=e.from_state,
                to_state=e.to_state,
                organisation_id=e.organisation_id,
            )
            for e in referrals.events_of(db, referral)
        ]
        if events
        else [],
    )


def _agreement_out(db: Session, agreement: Agreement) -> AgreementOut:
    return AgreementOut(
        id=agreement.id,
        organisation_id=agreement.organisation_id,
        name=agreement.name,
        parties=sharing.parties_of(db, agreement),
        categories=[c for c in agreement.categories.split(",") if c],
        purpose=agreement.purpose,
        legal_basis=agreement.legal_basis,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        revoked_at=agreement.revoked_at,
        in_force=sharing.in_force(agreement, utcnow()),
        hit_no_hit=agreement.hit_no_hit,
    )


def _next(rows: list[Signal] | list[Subject] | list[Referral], limit: int) -> str | None:
    return str(rows[-1].id) if len(rows) == limit and rows else None


def _before(cursor: str | None) -> int | None:
    return int(cursor) if cursor else None


def agreement_of_path(request: Request, db: Session) -> Resource:
    """The agreement of the path as ``allowed()`` sees it; an unknown id, or one the caller's
    organisation is no party to, is a 404 (the same answer)."""
    raw = str(request.path_params["agreement_id"])
    actor = request_actor(request)
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise NotFoundError("no such agreement")
    if actor is None or not allowed(actor, Action.VIEW_AGREEMENTS):
        # Asked to log in, or refused (403) whatever the id: nothing to look up.
        return Resource("agreement", raw)
    agreement = db.get(Agreement, int(raw))
    if agreement is None:
        raise NotFoundError("no such agreement")
    resource = sharing.agreement_resource(db, agreement)
    if actor.organisation_id not in resource.shared_with | {agreement.organisation_id}:
        raise NotFoundError("no such agreement")
    request.state.agreement = agreement
    return resource


# ----------------------------------------------------------------------------------------------
# Signals


@router.get("/signals")
def list_signals(
    ctx: Annotated[RequestContext, guard(Action.VIEW_SIGNALS)],
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    category: Annotated[str | None, Query(max_length=48)] = None,
) -> SignalPage:
    """The signals the caller's organisation may see (own, agreement, share, referral),
    newest first."""
    rows = signals.visible_signals(
        ctx.db,
        ctx.acting,
        filters=signals.SignalFilter(status=status, category=category),
        limit=limit,
        before_id=_before(cursor),
        ip=ctx.ip,
        view="api list",
    )
    return SignalPage(items=[_signal_out(s) for s in rows], next=_next(rows, limit))


@router.post("/signals", status_code=201)
def create_signal(
    ctx: Annotated[RequestContext, guard(Action.CREATE_SIGNALS)], body: SignalIn
) -> SignalCreatedOut:
    """Register a signal of the caller's organisation; ``hits`` as for a subject, from the
    encoding of the signal's subject when it has one."""
    signal = signals.register(
        ctx.db,
        ctx.acting,
        signals.SignalDraft(
            category=body.category,
            municipality=body.municipality,
            observed_at=body.observed_at,
            text=body.text,
            source=body.source,
            subject_id=body.subject_id,
            phones=body.phones,
            personas=[(p.run_id, p.persona_id) for p in body.personas],
        ),
        pseudonym_key=web_state(ctx.request).settings.pseudonym_key,
        ip=ctx.ip,
    )
    subject = ctx.db.get(Subject, signal.subject_id) if signal.subject_id is not None else None
    hits = (
        matching.hits_of_subject(ctx.db, ctx.acting, subject, ip=ctx.ip, now=utcnow())
        if subject is not None
        else []
    )
    settings = web_state(ctx.request).settings
    found = deidentify.find_identifiers(
        signal.text, deidentifier.shared_annotator(settings.data_dir)
    )
    return SignalCreatedOut(
        **_signal_out(signal).model_dump(),
        hits=_hits_out(hits),
        identifiers_found=[
            IdentifierOut(category=i.category.value, start=i.start, end=i.end) for i in found
        ],
    )


@router.get("/signals/{signal_id}")
def get_signal(
    ctx: Annotated[
        RequestContext, guard(Action.VIEW_SIGNALS, chain_resource("signal", "signal_id"))
    ],
    signal_id: str,
) -> SignalOut:
    signal = signals.open_signal(ctx.db, ctx.acting, ctx.chain_record(Signal), ip=ctx.ip)
    return _signal_out(signal)


# ----------------------------------------------------------------------------------------------
# Subjects


@router.get("/subjects")
def list_subjects(
    ctx: Annotated[RequestContext, guard(Action.VIEW_SUBJECTS)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SubjectPage:
    rows = subjects.visible_subjects(
        ctx.db, ctx.acting, limit=limit, before_id=_before(cursor), ip=ctx.ip
    )
    return SubjectPage(items=[_subject_out(ctx.db, s) for s in rows], next=_next(rows, limit))


@router.post("/subjects", status_code=201)
def create_subject(
    ctx: Annotated[RequestContext, guard(Action.MANAGE_SUBJECTS)], body: SubjectIn
) -> SubjectCreatedOut:
    settings = web_state(ctx.request).settings
    subject, hits = subjects.register_subject(
        ctx.db,
        ctx.acting,
        subjects.SubjectDraft(
            alias=body.alias,
            birth_year_from=body.birth_year_from,
            birth_year_to=body.birth_year_to,
            phones=body.phones,
            first_name=body.first_name,
            surname=body.surname,
            birth_date=body.birth_date,
        ),
        pseudonym_key=settings.pseudonym_key,
        contact_key=settings.contact_key,
        remote=remote_matching.RemoteMatching.from_settings(settings),
        ip=ctx.ip,
    )
    return SubjectCreatedOut(**_subject_out(ctx.db, subject).model_dump(), hits=_hits_out(hits))


@router.get("/subjects/{subject_id}")
def get_subject(
    ctx: Annotated[
        RequestContext, guard(Action.VIEW_SUBJECTS, chain_resource("subject", "subject_id"))
    ],
    subject_id: str,
) -> SubjectOut:
    subject = subjects.open_subject(ctx.db, ctx.acting, ctx.chain_record(Subject), ip=ctx.ip)
    return _subject_out(ctx.db, subject)


# ----------------------------------------------------------------------------------------------
# Referrals


@router.get("/referrals")
def list_referrals(
    ctx: Annotated[RequestContext, guard(Action.DECIDE_REFERRALS)],
    direction: Annotated[str, Query(pattern="^(in|out)$")] = "in",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReferralPage:
    """Referrals sent to (``in``) or by (``out``) the caller's organisation, newest first."""
    rows = referrals.referrals_for(
        ctx.db, ctx.acting, direction=direction, limit=limit, before_id=_before(cursor), ip=ctx.ip
    )
    return ReferralPage(items=[_referral_out(ctx.db, r) for r in rows], next=_next(rows, limit))


@router.post("/referrals", status_code=201)
def create_referral(
    ctx: Annotated[RequestContext, guard(Action.DECIDE_REFERRALS)], body: ReferralIn
) -> ReferralOut:
    """Refer an own signal or subject, or (kind "routing") route a signal of the inbox."""
    actor = ctx.acting
    if (body.signal_id is None) == (body.subject_id is None):
        raise FieldErrors({"signal_id": "name one signal or one subject"})
    draft = referrals.ReferralDraft(
        to_organisation_id=body.to_organisation_id,
        question=body.question,
        basis=body.basis,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        kind=body.kind,
        due_at=body.due_at,
    )
    if body.signal_id is not None:
        signal = signals.find_signal(ctx.db, actor, body.signal_id)
        if body.kind == "routing":
            referral = referrals.route_signal(ctx.db, actor, signal, draft, ip=ctx.ip)
        else:
            referral = referrals.refer(ctx.db, actor, draft, signal=signal, ip=ctx.ip)
    else:
        assert body.subject_id is not None
        subject = subjects.find_subject(ctx.db, actor, body.subject_id)
        referral = referrals.refer(ctx.db, actor, draft, subject=subject, ip=ctx.ip)
    return _referral_out(ctx.db, referral, events=True)


ReferralCtx = Annotated[
    RequestContext, guard(Action.DECIDE_REFERRALS, chain_resource("referral", "referral_id"))
]


@router.get("/referrals/{referral_id}")
def get_referral(ctx: ReferralCtx, referral_id: str) -> ReferralOut:
    referral = referrals.open_referral(ctx.db, ctx.acting, ctx.chain_record(Referral), ip=ctx.ip)
    return _referral_out(ctx.db, referral, events=True)


@router.post("/referrals/{referral_id}/transitions")
def transition_referral(ctx: ReferralCtx, referral_id: str, body: TransitionIn) -> ReferralOut:
    """Accept, return (rejected, with a reason), mark done (the receiver) or revoke (the sender,
    with a reason). A transition the state machine does not have answers 409, nothing changed."""
    referral = referrals.transition(
        ctx.db, ctx.acting, ctx.chain_record(Referral), body.to_state, body.reason, ip=ctx.ip
    )
    return _referral_out(ctx.db, referral, events=True)


# ----------------------------------------------------------------------------------------------
# Agreements


@router.get("/agreements")
def list_agreements(ctx: Annotated[RequestContext, guard(Action.VIEW_AGREEMENTS)]) -> AgreementList:
    """The sharing agreements the caller's organisation is party to."""
    rows = sharing.visible_agreements(ctx.db, ctx.acting)
    return AgreementList(items=[_agreement_out(ctx.db, a) for a in rows])


@router.post("/agreements", status_code=201)
def create_agreement(
    ctx: Annotated[RequestContext, guard(Action.MANAGE_AGREEMENTS)], body: AgreementIn
) -> AgreementOut:
    agreement = sharing.create_agreement(
        ctx.db,
        ctx.acting,
        sharing.AgreementDraft(
            name=body.name,
            parties=body.parties,
            categories=body.categories,
            purpose=body.purpose,
            legal_basis=body.legal_basis,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            hit_no_hit=body.hit_no_hit,
        ),
        ip=ctx.ip,
    )
    return _agreement_out(ctx.db, agreement)


@router.get("/agreements/{agreement_id}")
def get_agreement(
    ctx: Annotated[RequestContext, guard(Action.VIEW_AGREEMENTS, agreement_of_path)],
    agreement_id: str,
) -> AgreementOut:
    agreement = sharing.find_agreement(ctx.db, ctx.acting, int(agreement_id))
    return _agreement_out(ctx.db, agreement)
