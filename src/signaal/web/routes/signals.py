"""The chain's pages for signals, subjects, routing, referrals, agreements and the emergency
procedure.

Every route declares one guard; the services decide again (defence in depth) and say which field
was wrong (``FieldErrors``), which the form shows next to the field, with nothing saved. The
phone form (``/signalen/nieuw``) asks for four things, has sensible defaults (now, the own
region's municipality list) and sends in one tap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse, RedirectResponse, Response

from signaal import geo
from signaal.chain import (
    catalogue,
    data_requests,
    matching,
    referrals,
    remote_matching,
    retention,
    sharing,
    signals,
    subjects,
)
from signaal.chain.authz import Action, Resource
from signaal.errors import ConflictError, FieldErrors, LegalHoldError, NotFoundError
from signaal.store.models import (
    Agreement,
    Organisation,
    RecordShare,
    Referral,
    Signal,
    Subject,
    utcnow,
)
from signaal.web import free_text
from signaal.web.app import web_state
from signaal.web.casework_forms import positive_int, text
from signaal.web.context import RequestContext, chain_resource, guard
from signaal.web.i18n import N_, Message
from signaal.web.routes.api_signals import agreement_of_path

router = APIRouter()

LOCAL = ZoneInfo("Europe/Amsterdam")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"

# The message a form shows next to a field the service refused (one per field).
FIELD_MESSAGES: dict[str, str] = {
    "category": N_("Choose what you saw."),
    "source": N_("Choose where the signal comes from."),
    "observed_at": N_("Enter when you saw it: not in the future and not more than five years ago."),
    "municipality": N_("Enter a Dutch municipality or place, for example Utrecht."),
    "text": N_("Use at most 4000 characters."),
    "phones": N_("Enter a phone number like 06 12345678 (at most five)."),
    "personas": N_("This persona is not in a stored analysis of your organisation."),
    "subject_id": N_("Choose a person of your own organisation."),
    "suggested_subject_id": N_("There is no suggestion to dismiss."),
    "alias": N_("Enter an alias of at most 120 characters on one line."),
    "birth_year_from": N_("Enter a plausible year of birth."),
    "birth_year_to": N_("Enter a plausible year, not before the first one."),
    "to_organisation_id": N_("Choose another organisation."),
    "question": N_("Write the question for the partner."),
    "basis": N_("Choose consent or a legal basis."),
    "legal_basis": N_("Write down the legal basis (article and law)."),
    "purpose": N_("Write down the purpose."),
    "due_at": N_("Enter a moment in the future."),
    "reason": N_("Give a reason."),
    "to_state": N_("Choose what to do."),
    "kind": N_("Choose a kind of referral."),
    "record": N_("Choose a record."),
    "name": N_("Enter a name of at most 200 characters."),
    "parties": N_("Choose your own organisation and at least one other."),
    "categories": N_("Choose one or more categories."),
    "valid_from": N_("Enter the date from which it applies."),
    "valid_until": N_("Enter a date after the start."),
    "record_type": N_("Choose a signal, person or case."),
    "record_id": N_("There is no record with this number."),
    "first_name": N_("Enter a first name of at most 120 characters on one line."),
    "surname": N_("Enter a surname of at most 120 characters on one line."),
    "birth_date": N_("Enter a plausible date of birth."),
}
EMERGENCY_REASON = N_(
    "Describe the emergency in at least 20 characters: the log administrators of the other "
    "organisation read it."
)
CONFLICT = N_("This is not possible in the current state. Reload the page and try again.")
# The grounds of an erasure (AVG art. 17(1)), by the codes the audit keeps.
ERASURE_REASONS: dict[str, str] = {
    "no_longer_necessary": N_("The data are no longer needed for the purpose (art. 17(1)(a))"),
    "consent_withdrawn": N_("She withdrew her consent (art. 17(1)(b))"),
    "objection": N_("She objected and there is no overriding reason (art. 17(1)(c))"),
    "unlawful": N_("The data were processed unlawfully (art. 17(1)(d))"),
    "legal_obligation": N_("A legal obligation requires erasure (art. 17(1)(e))"),
}
ERASURE_MESSAGES: dict[str, str] = {
    "erase_reason": N_("Choose the ground of the erasure."),
    "erase_confirm": N_("Confirm that everything about this person should be erased."),
}
HOLD_MESSAGES: dict[str, str] = {
    "hold_reason": N_("Give the reason for the legal hold (at most 500 characters)."),
    "hold": N_("Choose whether to put the legal hold on or lift it."),
}
LEGAL_HOLD = N_(
    "This person is under a legal hold: her records cannot be erased. Lift the hold first if "
    "it no longer applies."
)
PARTNER_CASE = N_(
    "A case of another organisation refers to this person. That case is the other "
    "organisation's record: her records can be erased once it is gone (its retention period "
    "after closing)."
)
REVEAL_PURPOSES: dict[str, str] = {
    "call_back": N_("Calling or messaging the person back (outreach)"),
    "protection": N_("Protection or investigation"),
    "check_reading": N_("Checking that a disguised number was read correctly"),
    "partner_question": N_("Answering a partner's question about this contact point"),
}


def _errors(exc: FieldErrors) -> dict[str, str | Message]:
    """The message per refused field; the forms have one phone field ("phone")."""
    return {
        "phone" if name == "phones" else name: FIELD_MESSAGES.get(name, N_("Check this value."))
        for name in exc.fields
    }


def _page(
    ctx: RequestContext, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request, template, {"locale": ctx.locale, **context}, status_code=status
    )


def _see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _local_moment(raw: str) -> datetime | None:
    """A datetime-local value (Dutch time) as an aware UTC datetime; None if it is not one."""
    try:
        naive = datetime.strptime(raw.strip(), LOCAL_FORMAT)
    except ValueError:
        return None
    return naive.replace(tzinfo=LOCAL).astimezone(UTC)


def _local_now() -> str:
    return utcnow().astimezone(LOCAL).strftime(LOCAL_FORMAT)


def _labels(table: Any, locale: str) -> list[tuple[str, str]]:
    return [(code, term.label(locale)) for code, term in table.items()]


def _organisations(ctx: RequestContext) -> dict[int, str]:
    return {o.id: o.name for o in ctx.db.query(Organisation).order_by(Organisation.name)}


def _municipalities() -> list[str]:
    return sorted(m.name for m in geo.municipalities())


def _hits_context(ctx: RequestContext, subject: Subject | None) -> dict[str, Any]:
    """The hits of an own subject with a stored encoding (audited when any), for
    ``partials/hits.html``, to a role that may see subjects; ``hits`` None shows nothing
    (another organisation's subject, one registered without name and date of birth, or a role
    without ``subjects.view``)."""
    actor = ctx.acting
    if subject is None or subject.organisation_id != actor.organisation_id:
        return {"hits": None}
    owned = Resource("subject", str(subject.id), organisation_id=subject.organisation_id)
    # A hit is about the person: only for those who may see her (not a signal reporter who
    # opens her own signal that someone else linked to a person).
    if (
        not ctx.may(Action.VIEW_SUBJECTS, owned)
        or matching.stored_encoding(ctx.db, subject) is None
    ):
        return {"hits": None}
    return {
        "hits": matching.hits_of_subject(ctx.db, actor, subject, ip=ctx.ip, now=utcnow()),
        "hit_subject": subject,
        "may_request_contact": ctx.may(Action.SEND_CONTACT_REQUESTS, owned),
    }


def _birth_date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------
# Signals

SignalList = Annotated[RequestContext, guard(Action.VIEW_SIGNALS)]
SignalNew = Annotated[RequestContext, guard(Action.CREATE_SIGNALS)]
SignalDetail = Annotated[
    RequestContext, guard(Action.VIEW_SIGNALS, chain_resource("signal", "signal_id"))
]
SignalSubject = Annotated[
    RequestContext, guard(Action.MANAGE_SUBJECTS, chain_resource("signal", "signal_id"))
]
SignalShare = Annotated[
    RequestContext, guard(Action.SHARE_RECORDS, chain_resource("signal", "signal_id"))
]
SignalRefer = Annotated[
    RequestContext, guard(Action.DECIDE_REFERRALS, chain_resource("signal", "signal_id"))
]


@router.get("/signalen")
def signal_list(
    ctx: SignalList,
    status: Annotated[str, Query(max_length=16)] = "",
    categorie: Annotated[str, Query(max_length=48)] = "",
    voor: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    filters = signals.SignalFilter(
        status=status if status in catalogue.SIGNAL_STATUSES else None,
        category=categorie if categorie in catalogue.SIGNAL_CATEGORIES else None,
    )
    before = int(voor) if voor.isascii() and voor.isdigit() and 0 < int(voor) < 2**31 else None
    rows = signals.visible_signals(ctx.db, ctx.acting, filters=filters, before_id=before, ip=ctx.ip)
    return _page(
        ctx,
        "signals.html",
        {
            "signals": rows,
            "next": rows[-1].id if len(rows) == signals.LIST_LIMIT else None,
            "status": filters.status or "",
            "category": filters.category or "",
            "statuses": _labels(catalogue.SIGNAL_STATUSES, ctx.locale),
            "categories": _labels(catalogue.SIGNAL_CATEGORIES, ctx.locale),
            "category_labels": dict(_labels(catalogue.SIGNAL_CATEGORIES, ctx.locale)),
            "status_labels": dict(_labels(catalogue.SIGNAL_STATUSES, ctx.locale)),
            "organisations": _organisations(ctx),
            "may_create": ctx.may(Action.CREATE_SIGNALS),
        },
    )


def _new_form(
    ctx: RequestContext,
    values: dict[str, str],
    errors: dict[str, str | Message] | None = None,
    status: int = 200,
    identifiers_found: list[dict[str, str]] | None = None,
) -> Response:
    return _page(
        ctx,
        "signal_new.html",
        {
            "values": values,
            "errors": errors or {},
            "identifiers_found": identifiers_found or [],
            "categories": _labels(catalogue.SIGNAL_CATEGORIES, ctx.locale),
            "sources": _labels(catalogue.SIGNAL_SOURCES, ctx.locale),
            "municipalities": _municipalities(),
        },
        status,
    )


@router.get("/signalen/nieuw")
def signal_new(
    ctx: SignalNew,
    run: Annotated[str, Query(max_length=12)] = "",
    persona: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The phone form; from a persona page (``run`` and ``persona``) it is the ad monitor's
    escalation: source ad monitor, category "signals from ads", the persona linked."""
    values = {"observed_at": _local_now(), "source": "observation", "category": ""}
    if run.isdigit() and persona:
        values.update(
            {"source": "ad_monitor", "category": "ad_indicators", "run": run, "persona": persona}
        )
    return _new_form(ctx, values)


@router.post("/signalen")
def signal_create(ctx: SignalNew) -> Response:
    values = {
        name: text(ctx.form, name, 5000)
        for name in ("category", "source", "observed_at", "municipality", "text", "phone")
    }
    values.update({"run": text(ctx.form, "run", 12), "persona": text(ctx.form, "persona", 100)})
    values.update({name: text(ctx.form, name, 500) for name in ("first_name", "surname")})
    values["birth_date"] = text(ctx.form, "birth_date", 20)
    observed = _local_moment(values["observed_at"])
    run = positive_int(ctx.form, "run")
    personas = [(run, values["persona"])] if run and values["persona"] else []
    checked = free_text.check(web_state(ctx.request).settings, ctx.form, values["text"])
    if checked.offer:
        # Nothing is saved: the form comes back with what was found and the two choices.
        return _new_form(ctx, values, identifiers_found=free_text.offer_context(checked.offer))
    try:
        signal = signals.register(
            ctx.db,
            ctx.acting,
            signals.SignalDraft(
                category=values["category"],
                municipality=values["municipality"],
                observed_at=observed,
                text=checked.text,
                source=values["source"] or "observation",
                phones=[values["phone"]] if values["phone"].strip() else [],
                personas=personas,
            ),
            pseudonym_key=web_state(ctx.request).settings.pseudonym_key,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _new_form(ctx, values, _errors(exc), 422)
    free_text.audit_choice(
        ctx.db,
        ctx.acting,
        checked,
        record_kind="signal",
        record_id=signal.id,
        text_field="text",
        ip=ctx.ip,
    )
    alias = text(ctx.form, "alias", 200).strip()
    values["alias"] = alias
    if alias and ctx.may(Action.MANAGE_SUBJECTS):
        settings = web_state(ctx.request).settings
        born = _birth_date(values["birth_date"]) if values["birth_date"].strip() else None
        try:
            if values["birth_date"].strip() and born is None:
                raise FieldErrors({"birth_date": "not a date"})
            subjects.create_subject(
                ctx.db,
                ctx.acting,
                subjects.SubjectDraft(
                    alias=alias,
                    phones=[values["phone"]] if values["phone"].strip() else [],
                    first_name=values["first_name"],
                    surname=values["surname"],
                    birth_date=born,
                ),
                pseudonym_key=settings.pseudonym_key,
                contact_key=settings.contact_key,
                remote=remote_matching.RemoteMatching.from_settings(settings),
                ip=ctx.ip,
                from_signal=signal,
            )
        except FieldErrors as exc:
            ctx.db.rollback()
            return _new_form(ctx, values, _errors(exc), 422)
    return _see_other(f"/signalen/{signal.id}?gemeld=1")


def _signal_page(
    ctx: RequestContext,
    signal: Signal,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    actor = ctx.acting
    owned = Resource("signal", str(signal.id), organisation_id=signal.organisation_id)
    subject = ctx.db.get(Subject, signal.subject_id) if signal.subject_id else None
    suggested = (
        ctx.db.get(Subject, signal.suggested_subject_id) if signal.suggested_subject_id else None
    )
    own_subjects: list[Subject] = []
    if ctx.may(Action.MANAGE_SUBJECTS, owned):
        own_subjects = list(
            ctx.db.query(Subject)
            .filter(Subject.organisation_id == actor.organisation_id)
            .order_by(Subject.alias)
            .limit(200)
        )
    return _page(
        ctx,
        "signal.html",
        {
            "signal": signal,
            "subject": subject,
            "suggested": suggested,
            "own_subjects": own_subjects,
            "personas": signals.personas_of(ctx.db, signal),
            "shares": sharing.shares_of(ctx.db, signal)
            if signal.organisation_id == actor.organisation_id
            else [],
            "organisations": _organisations(ctx),
            "partners": [(o.id, o.name) for o in referrals.partner_organisations(ctx.db, actor)],
            "category_label": catalogue.label(
                catalogue.SIGNAL_CATEGORIES, signal.category, ctx.locale
            ),
            "source_label": catalogue.label(catalogue.SIGNAL_SOURCES, signal.source, ctx.locale),
            "status_label": catalogue.label(catalogue.SIGNAL_STATUSES, signal.status, ctx.locale),
            "may_link": ctx.may(Action.MANAGE_SUBJECTS, owned),
            "may_share": ctx.may(Action.SHARE_RECORDS, owned),
            "may_refer": ctx.may(Action.DECIDE_REFERRALS, owned),
            "bases": _labels(catalogue.REFERRAL_BASES, ctx.locale),
            "errors": errors or {},
            "values": values or {},
            "problem": problem,
            "registered": ctx.request.query_params.get("gemeld") == "1",
            **_hits_context(ctx, subject),
        },
        status,
    )


@router.get("/signalen/{signal_id}")
def signal_detail(ctx: SignalDetail, signal_id: str) -> Response:
    signal = signals.open_signal(ctx.db, ctx.acting, ctx.chain_record(Signal), ip=ctx.ip)
    return _signal_page(ctx, signal)


@router.post("/signalen/{signal_id}/persoon")
def signal_subject(ctx: SignalSubject, signal_id: str) -> Response:
    """Confirm the suggested subject, dismiss it, link another own subject or create one."""
    signal = ctx.chain_record(Signal)
    action = text(ctx.form, "action", 20)
    settings = web_state(ctx.request).settings
    try:
        if action == "confirm" and signal.suggested_subject_id is not None:
            signals.link_subject(ctx.db, ctx.acting, signal, signal.suggested_subject_id, ip=ctx.ip)
        elif action == "dismiss":
            signals.dismiss_suggestion(ctx.db, ctx.acting, signal, ip=ctx.ip)
        elif action == "link":
            subject_id = positive_int(ctx.form, "subject_id")
            if subject_id is None:
                raise FieldErrors({"subject_id": "choose a subject"})
            signals.link_subject(ctx.db, ctx.acting, signal, subject_id, ip=ctx.ip)
        elif action == "create":
            year_from, year_to = (
                positive_int(ctx.form, "birth_year_from"),
                positive_int(ctx.form, "birth_year_to"),
            )
            problems = {
                name: "not a year"
                for name, parsed in (("birth_year_from", year_from), ("birth_year_to", year_to))
                if text(ctx.form, name, 12).strip() and parsed is None
            }
            born_raw = text(ctx.form, "birth_date", 20)
            born = _birth_date(born_raw) if born_raw.strip() else None
            if born_raw.strip() and born is None:
                problems["birth_date"] = "not a date"
            if problems:
                raise FieldErrors(problems)
            created = subjects.create_subject(
                ctx.db,
                ctx.acting,
                subjects.SubjectDraft(
                    alias=text(ctx.form, "alias", 500),
                    birth_year_from=year_from,
                    birth_year_to=year_to,
                    phones=[text(ctx.form, "phone", 100)],
                    first_name=text(ctx.form, "first_name", 500),
                    surname=text(ctx.form, "surname", 500),
                    birth_date=born,
                ),
                pseudonym_key=settings.pseudonym_key,
                contact_key=settings.contact_key,
                remote=remote_matching.RemoteMatching.from_settings(settings),
                ip=ctx.ip,
                from_signal=signal,
            )
            # Its page shows the hits of the name and date of birth just encoded.
            return _see_other(f"/personen/{created.id}?geregistreerd=1")
        else:
            raise FieldErrors({"action": "choose what to do"})
    except FieldErrors as exc:
        values = {
            k: text(ctx.form, k, 200)
            for k in ("alias", "birth_year_from", "birth_year_to", "first_name", "surname")
        }
        values["birth_date"] = text(ctx.form, "birth_date", 20)
        return _signal_page(ctx, signal, errors=_errors(exc), values=values, status=422)
    return _see_other(f"/signalen/{signal.id}")


@router.post("/signalen/{signal_id}/delen")
def signal_share(ctx: SignalShare, signal_id: str) -> Response:
    """Share the signal with another organisation (with a reason), or end a share."""
    signal = ctx.chain_record(Signal)
    try:
        if text(ctx.form, "action", 20) == "revoke":
            share_id = positive_int(ctx.form, "share_id")
            share = ctx.db.get(RecordShare, share_id) if share_id else None
            if share is None or (share.record_type, share.record_id) != ("signal", signal.id):
                raise NotFoundError("no such share")
            sharing.revoke_share(ctx.db, ctx.acting, share, ip=ctx.ip)
        else:
            sharing.share_record(
                ctx.db,
                ctx.acting,
                signal,
                positive_int(ctx.form, "to_organisation_id"),
                text(ctx.form, "reason", 3000),
                ip=ctx.ip,
            )
    except FieldErrors as exc:
        values = {"share_reason": text(ctx.form, "reason", 3000)}
        errors = {f"share_{k}": v for k, v in _errors(exc).items()}
        return _signal_page(ctx, signal, errors=errors, values=values, status=422)
    except ConflictError:
        return _signal_page(ctx, signal, problem=CONFLICT, status=409)
    return _see_other(f"/signalen/{signal.id}")


@router.post("/signalen/{signal_id}/verwijzen")
def signal_refer(ctx: SignalRefer, signal_id: str) -> Response:
    """Refer an own signal to a partner (consent or a legal basis, and a purpose)."""
    signal = ctx.chain_record(Signal)
    try:
        referrals.refer(ctx.db, ctx.acting, _referral_draft(ctx), signal=signal, ip=ctx.ip)
    except FieldErrors as exc:
        values = {f"refer_{k}": text(ctx.form, k, 3000) for k in _REFERRAL_FIELDS}
        errors = {f"refer_{k}": v for k, v in _errors(exc).items()}
        return _signal_page(ctx, signal, errors=errors, values=values, status=422)
    return _see_other("/verwijzingen?richting=uit")


_REFERRAL_FIELDS = ("to_organisation_id", "question", "basis", "legal_basis", "purpose")


def _referral_draft(ctx: RequestContext, kind: str = "referral") -> referrals.ReferralDraft:
    return referrals.ReferralDraft(
        to_organisation_id=positive_int(ctx.form, "to_organisation_id"),
        question=text(ctx.form, "question", 3000),
        basis=text(ctx.form, "basis", 20),
        purpose=text(ctx.form, "purpose", 1000),
        legal_basis=text(ctx.form, "legal_basis", 1000),
        kind=kind,
    )


# ----------------------------------------------------------------------------------------------
# Subjects

SubjectDetail = Annotated[
    RequestContext, guard(Action.VIEW_SUBJECTS, chain_resource("subject", "subject_id"))
]
SubjectManage = Annotated[
    RequestContext, guard(Action.MANAGE_SUBJECTS, chain_resource("subject", "subject_id"))
]
SubjectReveal = Annotated[
    RequestContext, guard(Action.REVEAL_CONTACTS, chain_resource("subject", "subject_id"))
]
SubjectAccessReport = Annotated[
    RequestContext, guard(Action.REPORT_SUBJECTS, chain_resource("subject", "subject_id"))
]
SubjectErase = Annotated[
    RequestContext, guard(Action.ERASE_SUBJECTS, chain_resource("subject", "subject_id"))
]
SubjectHold = Annotated[
    RequestContext, guard(Action.HOLD_SUBJECTS, chain_resource("subject", "subject_id"))
]


def _subject_page(
    ctx: RequestContext,
    subject: Subject,
    *,
    errors: dict[str, str | Message] | None = None,
    revealed: tuple[str, str, str] | None = None,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    owned = Resource("subject", str(subject.id), organisation_id=subject.organisation_id)
    return _page(
        ctx,
        "subject.html",
        {
            "subject": subject,
            "contacts": subjects.contacts_of(ctx.db, subject),
            "timeline": subjects.timeline(ctx.db, ctx.acting, subject),
            "organisations": _organisations(ctx),
            "category_labels": dict(_labels(catalogue.SIGNAL_CATEGORIES, ctx.locale)),
            "kind_labels": dict(_labels(catalogue.REFERRAL_KINDS, ctx.locale)),
            "may_manage": ctx.may(Action.MANAGE_SUBJECTS, owned),
            "may_reveal": ctx.may(Action.REVEAL_CONTACTS, owned),
            "purposes": REVEAL_PURPOSES,
            "revealed": revealed,
            "may_report": ctx.may(Action.REPORT_SUBJECTS, owned),
            "may_erase": ctx.may(Action.ERASE_SUBJECTS, owned),
            "may_hold": ctx.may(Action.HOLD_SUBJECTS, owned),
            "erasure_reasons": ERASURE_REASONS,
            "problem": problem,
            "errors": errors or {},
            **_hits_context(ctx, subject),
        },
        status,
    )


@router.get("/personen/{subject_id}")
def subject_detail(ctx: SubjectDetail, subject_id: str) -> Response:
    subject = subjects.open_subject(ctx.db, ctx.acting, ctx.chain_record(Subject), ip=ctx.ip)
    return _subject_page(ctx, subject)


@router.post("/personen/{subject_id}")
def subject_update(ctx: SubjectManage, subject_id: str) -> Response:
    subject = ctx.chain_record(Subject)
    settings = web_state(ctx.request).settings
    year_from, year_to = (
        positive_int(ctx.form, "birth_year_from"),
        positive_int(ctx.form, "birth_year_to"),
    )
    try:
        problems = {
            name: "not a year"
            for name, parsed in (("birth_year_from", year_from), ("birth_year_to", year_to))
            if text(ctx.form, name, 12).strip() and parsed is None
        }
        if problems:
            raise FieldErrors(problems)
        subjects.update_subject(
            ctx.db,
            ctx.acting,
            subject,
            subjects.SubjectDraft(
                alias=text(ctx.form, "alias", 500),
                birth_year_from=year_from,
                birth_year_to=year_to,
                phones=[text(ctx.form, "phone", 100)],
            ),
            pseudonym_key=settings.pseudonym_key,
            contact_key=settings.contact_key,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.rollback()
        return _subject_page(
            ctx, ctx.db.get(Subject, subject.id) or subject, errors=_errors(exc), status=422
        )
    return _see_other(f"/personen/{subject.id}")


@router.post("/personen/{subject_id}/telefoon")
def subject_reveal(ctx: SubjectReveal, subject_id: str) -> Response:
    """One phone of the subject in the clear, on this screen, for a chosen purpose (audited)."""
    subject = ctx.chain_record(Subject)
    name = text(ctx.form, "pseudonym", 80)
    purpose = text(ctx.form, "purpose", 40)
    try:
        value = subjects.reveal_phone(
            ctx.db,
            ctx.acting,
            subject,
            name,
            purpose,
            contact_key=web_state(ctx.request).settings.contact_key,
            ip=ctx.ip,
        )
    except FieldErrors:
        errors: dict[str, str | Message] = {"purpose": N_("Choose why you need this number.")}
        return _subject_page(ctx, subject, errors=errors, status=422)
    return _subject_page(ctx, subject, revealed=(name, value, REVEAL_PURPOSES[purpose]))


@router.get("/personen/{subject_id}/inzage")
def subject_access_report(ctx: SubjectAccessReport, subject_id: str) -> Response:
    """Inzageverzoek (AVG art. 15): everything the own organisation holds about the subject, as
    a JSON file to give to her (audited with counts)."""
    subject = ctx.chain_record(Subject)
    report = data_requests.subject_access_report(
        ctx.db,
        ctx.acting,
        subject.id,
        contact_key=web_state(ctx.request).settings.contact_key,
        ip=ctx.ip,
    )
    filename = f"inzage-persoon-{subject.id}-{utcnow():%Y-%m-%d}.json"
    return JSONResponse(
        report,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/personen/{subject_id}/verwijderen")
def subject_erase(ctx: SubjectErase, subject_id: str) -> Response:
    """Verwijderverzoek (AVG art. 17): erase the own subject with everything about her, with
    the ground (``erase_reason``) and ``erase_confirm=yes``; refused under a legal hold."""
    subject = ctx.chain_record(Subject)
    reason = text(ctx.form, "erase_reason", 40)
    problems = {}
    if reason not in ERASURE_REASONS:
        problems["erase_reason"] = ERASURE_MESSAGES["erase_reason"]
    if text(ctx.form, "erase_confirm", 10) != "yes":
        problems["erase_confirm"] = ERASURE_MESSAGES["erase_confirm"]
    if problems:
        return _subject_page(ctx, subject, errors=dict(problems), status=422)
    try:
        data_requests.erase_subject(ctx.db, ctx.acting, subject.id, reason, ip=ctx.ip)
    except LegalHoldError:
        return _subject_page(ctx, subject, problem=LEGAL_HOLD, status=409)
    except ConflictError:
        return _subject_page(ctx, subject, problem=PARTNER_CASE, status=409)
    return _see_other("/dashboard")


@router.post("/personen/{subject_id}/bewaarplicht")
def subject_legal_hold(ctx: SubjectHold, subject_id: str) -> Response:
    """Put the legal hold on (``hold=on`` with ``hold_reason``) or lift it (``hold=off``)."""
    subject = ctx.chain_record(Subject)
    choice = text(ctx.form, "hold", 10)
    if choice not in ("on", "off"):
        return _subject_page(ctx, subject, errors={"hold": HOLD_MESSAGES["hold"]}, status=422)
    try:
        retention.set_legal_hold(
            ctx.db,
            ctx.acting,
            subject,
            hold=choice == "on",
            reason=text(ctx.form, "hold_reason", 2000),
            ip=ctx.ip,
        )
    except FieldErrors:
        ctx.db.rollback()
        return _subject_page(
            ctx,
            ctx.db.get(Subject, subject.id) or subject,
            errors={"hold_reason": HOLD_MESSAGES["hold_reason"]},
            status=422,
        )
    return _see_other(f"/personen/{subject.id}")


# ----------------------------------------------------------------------------------------------
# Coordination: the care coordinator's inbox


Coordination = Annotated[RequestContext, guard(Action.ROUTE_SIGNALS)]


def _coordination_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    hours = web_state(ctx.request).settings.chain_routing_overdue_hours
    inbox = referrals.inbox(ctx.db, ctx.acting, ip=ctx.ip)
    return _page(
        ctx,
        "coordination.html",
        {
            "inbox": inbox,
            "overdue_signals": {
                s.id for s in referrals.overdue_signals(ctx.db, ctx.acting, hours=hours)
            },
            "overdue_referrals": referrals.overdue_referrals(ctx.db, ctx.acting, hours=hours),
            "hours": hours,
            "partners": [
                (o.id, o.name) for o in referrals.partner_organisations(ctx.db, ctx.acting)
            ],
            "organisations": _organisations(ctx),
            "category_labels": dict(_labels(catalogue.SIGNAL_CATEGORIES, ctx.locale)),
            "status_labels": dict(_labels(catalogue.SIGNAL_STATUSES, ctx.locale)),
            "bases": _labels(catalogue.REFERRAL_BASES, ctx.locale),
            "notifications": sharing.notifications_for(ctx.db, ctx.user) if ctx.user else [],
            "errors": errors or {},
            "values": values or {},
            "problem": problem,
        },
        status,
    )


@router.get("/coordinatie")
def coordination(ctx: Coordination) -> Response:
    return _coordination_page(ctx)


@router.post("/coordinatie/uitzetten")
def coordination_route(ctx: Coordination) -> Response:
    """Route one signal of the inbox to a partner organisation with a question."""
    signal_id = positive_int(ctx.form, "signal_id")
    values = {k: text(ctx.form, k, 3000) for k in ("signal_id", *_REFERRAL_FIELDS)}
    try:
        if signal_id is None:
            raise FieldErrors({"signal_id": "choose a signal"})
        signal = signals.find_signal(ctx.db, ctx.acting, signal_id)
        referrals.route_signal(
            ctx.db, ctx.acting, signal, _referral_draft(ctx, "routing"), ip=ctx.ip
        )
    except FieldErrors as exc:
        return _coordination_page(ctx, errors=_errors(exc), values=values, status=422)
    except (ConflictError, NotFoundError):
        return _coordination_page(ctx, problem=CONFLICT, status=409)
    return _see_other("/coordinatie?uitgezet=1")


# ----------------------------------------------------------------------------------------------
# Referrals

ReferralList = Annotated[RequestContext, guard(Action.DECIDE_REFERRALS)]
ReferralDecide = Annotated[
    RequestContext, guard(Action.DECIDE_REFERRALS, chain_resource("referral", "referral_id"))
]


def _referrals_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    failed: int | None = None,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    incoming = referrals.referrals_for(ctx.db, ctx.acting, direction="in", ip=ctx.ip)
    outgoing = referrals.referrals_for(ctx.db, ctx.acting, direction="out", ip=ctx.ip)
    return _page(
        ctx,
        "referrals.html",
        {
            "incoming": incoming,
            "outgoing": outgoing,
            "organisations": _organisations(ctx),
            "state_labels": dict(_labels(catalogue.REFERRAL_STATES, ctx.locale)),
            "kind_labels": dict(_labels(catalogue.REFERRAL_KINDS, ctx.locale)),
            "transitions": catalogue.REFERRAL_TRANSITIONS,
            "receiver_states": catalogue.REFERRAL_RECEIVER_STATES,
            "errors": errors or {},
            "failed": failed,
            "problem": problem,
        },
        status,
    )


@router.get("/verwijzingen")
def referral_list(ctx: ReferralList) -> Response:
    return _referrals_page(ctx)


@router.post("/verwijzingen/{referral_id}/status")
def referral_decide(ctx: ReferralDecide, referral_id: str) -> Response:
    """Accept, return with a reason, mark done (receiver) or revoke with a reason (sender)."""
    referral = ctx.chain_record(Referral)
    try:
        referrals.transition(
            ctx.db,
            ctx.acting,
            referral,
            text(ctx.form, "to_state", 20),
            text(ctx.form, "reason", 3000),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _referrals_page(ctx, errors=_errors(exc), failed=referral.id, status=422)
    except ConflictError:
        return _referrals_page(ctx, problem=CONFLICT, status=409)
    return _see_other("/verwijzingen")


# ----------------------------------------------------------------------------------------------
# Agreements

AgreementView = Annotated[RequestContext, guard(Action.VIEW_AGREEMENTS)]
AgreementManage = Annotated[RequestContext, guard(Action.MANAGE_AGREEMENTS)]
AgreementEnd = Annotated[RequestContext, guard(Action.MANAGE_AGREEMENTS, agreement_of_path)]


def _agreements_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows = sharing.visible_agreements(ctx.db, ctx.acting)
    now = utcnow()
    return _page(
        ctx,
        "agreements.html",
        {
            "agreements": [
                (a, sharing.parties_of(ctx.db, a), sharing.in_force(a, now)) for a in rows
            ],
            "organisations": _organisations(ctx),
            "own_id": ctx.acting.organisation_id,
            "categories": _labels(catalogue.SIGNAL_CATEGORIES, ctx.locale),
            "category_labels": dict(_labels(catalogue.SIGNAL_CATEGORIES, ctx.locale)),
            "may_manage": ctx.may(Action.MANAGE_AGREEMENTS),
            "errors": errors or {},
            "values": values or {},
        },
        status,
    )


@router.get("/afspraken")
def agreement_list(ctx: AgreementView) -> Response:
    return _agreements_page(ctx)


@router.post("/afspraken")
def agreement_create(ctx: AgreementManage) -> Response:
    parties = [ctx.acting.organisation_id] + [
        int(v)
        for v in ctx.form.getlist("parties")
        if isinstance(v, str) and v.isdigit() and len(v) < 10
    ]
    categories = [v for v in ctx.form.getlist("categories") if isinstance(v, str)][:60]
    valid_from = _date(text(ctx.form, "valid_from", 20))
    until_raw = text(ctx.form, "valid_until", 20).strip()
    valid_until = _date(until_raw) if until_raw else None
    values: dict[str, Any] = {
        k: text(ctx.form, k, 3000)
        for k in ("name", "purpose", "legal_basis", "valid_from", "valid_until")
    }
    hit_no_hit = bool(text(ctx.form, "hit_no_hit", 10))
    values.update({"parties": parties, "categories": categories, "hit_no_hit": hit_no_hit})
    try:
        problems = {"valid_until": "not a date"} if until_raw and valid_until is None else {}
        if problems:
            raise FieldErrors(problems)
        sharing.create_agreement(
            ctx.db,
            ctx.acting,
            sharing.AgreementDraft(
                name=values["name"],
                parties=parties,
                categories=categories,
                purpose=values["purpose"],
                legal_basis=values["legal_basis"],
                valid_from=valid_from,
                valid_until=valid_until,
                hit_no_hit=hit_no_hit,
            ),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _agreements_page(ctx, errors=_errors(exc), values=values, status=422)
    return _see_other("/afspraken")


def _date(raw: str) -> datetime | None:
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=LOCAL).astimezone(UTC)


@router.post("/afspraken/{agreement_id}/beeindigen")
def agreement_end(ctx: AgreementEnd, agreement_id: str) -> Response:
    agreement = getattr(ctx.request.state, "agreement", None)
    if not isinstance(agreement, Agreement):
        raise NotFoundError("no such agreement")
    if text(ctx.form, "confirm", 10) != "yes":
        return _agreements_page(
            ctx, errors={"_form": N_("Confirm that the agreement ends.")}, status=422
        )
    try:
        sharing.end_agreement(ctx.db, ctx.acting, agreement, ip=ctx.ip)
    except ConflictError:
        return _agreements_page(ctx, errors={"_form": CONFLICT}, status=409)
    return _see_other("/afspraken")


# ----------------------------------------------------------------------------------------------
# Emergency access (noodprocedure)

Emergency = Annotated[RequestContext, guard(Action.EMERGENCY_ACCESS)]


def _emergency_page(
    ctx: RequestContext,
    *,
    errors: dict[str, str | Message] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return _page(
        ctx,
        "emergency.html",
        {
            "errors": errors or {},
            "values": values or {},
            "hours": web_state(ctx.request).settings.chain_emergency_access_hours,
            "record_types": [
                ("signal", N_("Signal")),
                ("subject", N_("Person")),
                ("case", N_("Case")),
            ],
        },
        status,
    )


@router.get("/noodprocedure")
def emergency_form(ctx: Emergency) -> Response:
    return _emergency_page(ctx)


@router.post("/noodprocedure")
def emergency_start(ctx: Emergency) -> Response:
    values = {k: text(ctx.form, k, 3000) for k in ("record_type", "record_id", "reason")}
    record_id = positive_int(ctx.form, "record_id") or 0
    try:
        sharing.start_emergency_access(
            ctx.db,
            ctx.acting,
            values["record_type"],
            record_id,
            values["reason"],
            hours=web_state(ctx.request).settings.chain_emergency_access_hours,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        errors = _errors(exc)
        if "reason" in errors:
            errors["reason"] = EMERGENCY_REASON
        return _emergency_page(ctx, errors=errors, values=values, status=422)
    except ConflictError:
        return _emergency_page(
            ctx,
            errors={"_form": N_("This record is of your own organisation.")},
            values=values,
            status=409,
        )
    paths = {"signal": "/signalen", "subject": "/personen"}
    base = paths.get(values["record_type"])
    return _see_other(f"{base}/{record_id}" if base else "/dashboard")
