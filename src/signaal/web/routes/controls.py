"""Joint controls: police plan a visit with an outreach partner. Both see and keep the shared
part; each organisation's own notes are seen only by itself (see :mod:`signaal.chain.controls`).

The visit list: the planner puts a persona of its latest run on one of its open controls from
the persona page (``POST /controles/personas``, the form of ``partials/control_add.html``) and
takes it off on the control page; both organisations record a visit's outcome there. Each
organisation sees what :func:`signaal.chain.controls.visit_list` gives it: the planner the
contact pseudonyms (shown in the clear only through the audited reveal flow of
:mod:`signaal.web.routes.contacts`), the partner none; a visit's note only the organisation that
wrote it. The list also comes as a page for paper and phone (``/bezoeklijst``, audited as a
read like the control page) and as formula-safe CSV (``/bezoeklijst.csv``, audited as
``joint_control.visit_list_exported``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from signaal import audit
from signaal.chain import controls
from signaal.chain.authz import Action, Resource
from signaal.errors import ConflictError, FieldErrors
from signaal.monitor.local_picture import csv_text
from signaal.store import analysis
from signaal.store.models import JointControl
from signaal.web.app import web_state
from signaal.web.casework_forms import (
    AMSTERDAM,
    field_messages,
    local_input,
    local_time,
    number,
    text,
)
from signaal.web.context import RequestContext, chain_resource, guard
from signaal.web.i18n import N_, translate
from signaal.web.routes import contacts

router = APIRouter(prefix="/controles")

# The outcome of a visit (signaal.chain.controls.VISIT_OUTCOMES) as people read it.
OUTCOME_LABELS: dict[str, str] = {
    "met": N_("Met and spoken with"),
    "not_present": N_("Not present"),
    "refused_contact": N_("Refused contact"),
    "concerns_confirmed": N_("Concerns confirmed"),
    "no_concerns": N_("No concerns"),
    "referred_to_care": N_("Referred to care"),
}
LANGUAGE_LABELS: dict[str, str] = {"nl": N_("Dutch"), "en": N_("English")}
# The service's conflicts (English) as messages of the catalogue.
CONFLICTS: dict[str, str] = {
    "persona already on the visit list": N_(
        "This persona is already on the visit list of this control."
    ),
    "the visit has an outcome: it stays on the list": N_(
        "This visit has an outcome, so it stays on the visit list."
    ),
}
OTHERS_NOTE = N_(
    "The other organisation recorded this visit with a note. Agree on the outcome with them, "
    "or keep your notes in your organisation's own part of the control."
)
LIST_FULL = N_("This visit list is full. Take a persona off the list first.")
CONFLICT = N_("This is not possible in the current state. Reload the page and try again.")

# The list, planning, and putting a persona on a visit list (the control and the persona are
# fields of that form: the service decides whether the control is an open one of the own).
Controls = Annotated[RequestContext, guard(Action.MANAGE_CONTROLS)]
OneControl = Annotated[
    RequestContext, guard(Action.MANAGE_CONTROLS, chain_resource("joint_control", "control_id"))
]


def _list(ctx: RequestContext, *, errors: dict[str, str], status_code: int = 200) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "controls.html",
        {
            "errors": errors,
            "controls": controls.list_controls(ctx.db, ctx.acting),
            "partners": controls.partner_organisations(ctx.db, ctx.acting),
        },
        status_code=status_code,
    )


@router.get("")
def control_list(ctx: Controls) -> Response:
    return _list(ctx, errors={})


@router.post("")
def plan(ctx: Controls) -> Response:
    form = ctx.form
    try:
        control = controls.plan_control(
            ctx.db,
            ctx.acting,
            partner_organisation_id=number(form, "partner_organisation_id"),
            planned_at=local_time(form, "planned_at"),
            municipality=text(form, "municipality"),
            location=text(form, "location"),
            shared_notes=text(form, "shared_notes"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        return _list(ctx, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)


def conflict_message(exc: ConflictError) -> str:
    """The service's conflict as a message of the catalogue."""
    reason = str(exc)
    if reason in CONFLICTS:
        return CONFLICTS[reason]
    if reason.startswith("a visit list holds at most"):
        return LIST_FULL
    if reason.startswith("the other organisation recorded this visit"):
        return OTHERS_NOTE
    return CONFLICT


def add_form(
    ctx: RequestContext,
    persona_id: str,
    purpose: str,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
) -> dict[str, object]:
    """What ``partials/control_add.html`` needs: the organisation's open controls and those
    whose visit list already holds the persona (the persona page passes it as ``control_add``)."""
    return {
        "persona_id": persona_id,
        "purpose_key": purpose,
        "controls": controls.open_controls(ctx.db, ctx.acting),
        "on_lists": controls.controls_with_persona(ctx.db, ctx.acting, persona_id)
        if persona_id
        else [],
        "errors": errors or {},
        "problem": problem,
    }


def _add_page(
    ctx: RequestContext,
    persona_id: str,
    purpose: str,
    *,
    errors: dict[str, str],
    problem: str | None = None,
    status_code: int,
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "control_add.html",
        {"control_add": add_form(ctx, persona_id, purpose, errors=errors, problem=problem)},
        status_code=status_code,
    )


@router.post("/personas")
def add_to_control(ctx: Controls) -> Response:
    """Put a persona of the own latest run on one of the organisation's open controls (the
    persona page's form); back to the persona page, for the purpose it was opened for."""
    form = ctx.form
    persona_id = text(form, "persona_id", 200).strip()
    purpose = text(form, "doel", 50).strip()
    try:
        row = controls.add_persona_to_open_control(
            ctx.db, ctx.acting, number(form, "control_id"), persona_id, ip=ctx.ip
        )
    except FieldErrors as exc:
        return _add_page(
            ctx, persona_id, purpose, errors=field_messages(exc.fields), status_code=422
        )
    except ConflictError as exc:
        return _add_page(
            ctx, persona_id, purpose, errors={}, problem=conflict_message(exc), status_code=409
        )
    if purpose:
        query = urlencode({"doel": purpose})
        return RedirectResponse(
            f"/analyse/personas/{quote(persona_id, safe='')}?{query}#controle", status_code=303
        )
    return RedirectResponse(f"/controles/{row.control_id}#bezoeklijst", status_code=303)


@dataclass(frozen=True)
class VisitRow:
    """One visit as the page shows it: the contact pseudonyms with, per pseudonym, whether it
    is its first row (the reveal form once per page; a network shares numbers)."""

    visit: controls.Visit
    points: tuple[tuple[str, bool], ...]


def _visit_rows(visits: list[controls.Visit]) -> list[VisitRow]:
    seen: set[str] = set()
    rows = []
    for visit in visits:
        points = []
        for pseudonym in visit.contact_points:
            points.append((pseudonym, pseudonym not in seen))
            seen.add(pseudonym)
        rows.append(VisitRow(visit, tuple(points)))
    return rows


def _visit_context(ctx: RequestContext, control: JointControl) -> dict[str, object]:
    """The visit list as the actor's organisation may see it, and how to reveal the planner's
    contact points (in the planner's latest run, where the list reads them)."""
    planner = control.organisation_id == ctx.acting.organisation_id
    run = analysis.latest_run(ctx.db, control.organisation_id) if planner else None
    may_reveal = run is not None and ctx.may(
        Action.REVEAL_CONTACTS, Resource("contact_point", organisation_id=run.organisation_id)
    )
    return {
        "visits": _visit_rows(controls.visit_list(ctx.db, ctx.acting, control)),
        "is_planner": planner,
        "reveal_run_id": run.id if run is not None and may_reveal else None,
        "contact_purposes": contacts.PURPOSES,
        "outcome_labels": OUTCOME_LABELS,
        "language_labels": LANGUAGE_LABELS,
    }


def _detail(
    ctx: RequestContext,
    control: JointControl,
    *,
    errors: dict[str, str],
    status_code: int = 200,
    problem: str | None = None,
    visit_errors: dict[str, dict[str, str]] | None = None,
    visit_values: dict[str, dict[str, str]] | None = None,
) -> Response:
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "control.html",
        {
            "errors": errors,
            "detail": controls.control_detail(ctx.db, ctx.acting, control, ip=ctx.ip),
            "planned_input": local_input(control.planned_at),
            "problem": problem,
            "visit_errors": visit_errors or {},
            "visit_values": visit_values or {},
            **_visit_context(ctx, control),
        },
        status_code=status_code,
    )


@router.get("/{control_id}")
def control_view(ctx: OneControl, control_id: str) -> Response:
    return _detail(ctx, ctx.chain_record(JointControl), errors={})


@router.post("/{control_id}")
def control_shared(ctx: OneControl, control_id: str) -> Response:
    control = ctx.chain_record(JointControl)
    form = ctx.form
    try:
        controls.update_shared(
            ctx.db,
            ctx.acting,
            control,
            planned_at=local_time(form, "planned_at"),
            municipality=text(form, "municipality"),
            location=text(form, "location"),
            shared_notes=text(form, "shared_notes"),
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.refresh(control)
        return _detail(ctx, control, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)


@router.post("/{control_id}/eigen-deel")
def control_own_part(ctx: OneControl, control_id: str) -> Response:
    control = ctx.chain_record(JointControl)
    try:
        controls.save_own_part(
            ctx.db, ctx.acting, control, notes=text(ctx.form, "notes"), ip=ctx.ip
        )
    except FieldErrors as exc:
        return _detail(ctx, control, errors=field_messages(exc.fields), status_code=422)
    return RedirectResponse(f"/controles/{control.id}", status_code=303)


@router.post("/{control_id}/personas/{persona_id}/verwijderen")
def control_remove_persona(ctx: OneControl, control_id: str, persona_id: str) -> Response:
    """Take a persona off the visit list (the planner; refused once the visit has an outcome)."""
    control = ctx.chain_record(JointControl)
    try:
        controls.remove_persona(ctx.db, ctx.acting, control, persona_id, ip=ctx.ip)
    except ConflictError as exc:
        return _detail(ctx, control, errors={}, problem=conflict_message(exc), status_code=409)
    return RedirectResponse(f"/controles/{control.id}#bezoeklijst", status_code=303)


@router.post("/{control_id}/personas/{persona_id}/uitkomst")
def control_visit_outcome(ctx: OneControl, control_id: str, persona_id: str) -> Response:
    """Record how a visit went (either organisation): the outcome is shared, the note own."""
    control = ctx.chain_record(JointControl)
    outcome = text(ctx.form, "outcome", 50)
    note = text(ctx.form, "note")
    try:
        controls.record_outcome(
            ctx.db, ctx.acting, control, persona_id, outcome=outcome, note=note, ip=ctx.ip
        )
    except FieldErrors as exc:
        return _detail(
            ctx,
            control,
            errors={},
            visit_errors={persona_id: field_messages(exc.fields)},
            visit_values={persona_id: {"outcome": outcome, "note": note}},
            status_code=422,
        )
    except ConflictError as exc:
        return _detail(ctx, control, errors={}, problem=conflict_message(exc), status_code=409)
    return RedirectResponse(f"/controles/{control.id}#bezoek-{quote(persona_id)}", status_code=303)


@router.get("/{control_id}/bezoeklijst")
def control_visit_sheet(ctx: OneControl, control_id: str) -> Response:
    """The visit list alone, for paper and a phone in the field (no forms); audited as a read
    of the control, like its page."""
    control = ctx.chain_record(JointControl)
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "control_visits.html",
        {
            "detail": controls.control_detail(ctx.db, ctx.acting, control, ip=ctx.ip),
            **_visit_context(ctx, control),
        },
    )


@router.get("/{control_id}/bezoeklijst.csv")
def control_visit_csv(ctx: OneControl, control_id: str) -> Response:
    """The visit list as formula-safe CSV with the columns the organisation may see (contact
    pseudonyms for the planner only, never a clear value; the own notes only), audited as
    ``joint_control.visit_list_exported`` with the row count and the file's SHA-256."""
    control = ctx.chain_record(JointControl)
    visits = controls.visit_list(ctx.db, ctx.acting, control)
    planner = control.organisation_id == ctx.acting.organisation_id
    header, rows = visit_table(visits, ctx.locale, pseudonyms=planner)
    content = csv_text(header, rows)
    audit.record(
        ctx.db,
        audit.ControlVisitListExported(
            control_id=control.id,
            n_rows=len(rows),
            pseudonyms=planner,
            sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        ),
        actor=ctx.actor,
        ip=ctx.ip,
    )
    filename = f"signaal-bezoeklijst-controle{control.id}.csv"
    return Response(
        "\ufeff" + content,  # the BOM makes spreadsheets read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def visit_table(
    visits: list[controls.Visit], locale: str, *, pseudonyms: bool
) -> tuple[list[str], list[list[object]]]:
    """The CSV's header and rows in the user's language (times in Amsterdam time)."""

    def label(text: str) -> str:
        return translate(locale, text)

    header = [
        label(N_("Persona")),
        label(N_("Last advertised in")),
        label(N_("Last advertised at")),
        label(N_("Languages")),
        label(N_("Risk")),
        *([label(N_("Contact points (pseudonyms)"))] if pseudonyms else []),
        label(N_("Outcome")),
        label(N_("Outcome recorded at")),
        label(N_("Your note")),
    ]
    rows: list[list[object]] = []
    for visit in visits:
        rows.append(
            [
                visit.persona_id,
                visit.municipality,
                _local(visit.last_advertised),
                ", ".join(label(LANGUAGE_LABELS.get(code, code)) for code in visit.languages),
                visit.risk_score,
                *([" ".join(visit.contact_points)] if pseudonyms else []),
                label(OUTCOME_LABELS[visit.outcome]) if visit.outcome in OUTCOME_LABELS else "",
                _local(visit.outcome_at),
                visit.note or "",
            ]
        )
    return header, rows


def _local(moment: datetime | None) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if moment else ""
