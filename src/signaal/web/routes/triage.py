"""The triage queue: the personas and networks of the own organisation's latest run by risk,
25 a page, with filters, and a decision form on every item (see :mod:`signaal.monitor.triage`).

Filters are query parameters, so a filtered page can be bookmarked, shared with a colleague and
kept when the language changes: ``soort`` (personas, netwerken), ``plaats`` (a municipality, a
place or a province, resolved through :mod:`signaal.geo`: "Den Haag" finds 's-Gravenhage),
``van`` and ``tot`` (dates: an ad posted in that period), ``indicator``, ``site``, ``niveau``
(a risk level), ``status`` and ``pagina``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.responses import RedirectResponse, Response

from signaal.ads.explain import Explained
from signaal.ads.indicators import default_indicators
from signaal.chain.authz import Action
from signaal.errors import FieldErrors, NotFoundError
from signaal.monitor import triage
from signaal.store.triage import OPEN_STATUSES, STATUSES, ItemKind, QueueFilter
from signaal.web import analysis_views
from signaal.web.app import web_state
from signaal.web.casework_forms import AMSTERDAM, field_messages, number, text
from signaal.web.context import RequestContext, analysis_resource, guard
from signaal.web.i18n import N_
from signaal.web.routes.analysis import RISK_LEVELS, own_latest_run

router = APIRouter(prefix="/analyse/triage")

Queue = Annotated[RequestContext, guard(Action.VIEW_TRIAGE)]
DecidePersona = Annotated[
    RequestContext, guard(Action.DECIDE_TRIAGE, analysis_resource("persona", "persona_id"))
]
DecideNetwork = Annotated[
    RequestContext, guard(Action.DECIDE_TRIAGE, analysis_resource("network", "network_id"))
]

KINDS: dict[str, ItemKind] = {"personas": "persona", "netwerken": "network"}
KIND_LABELS: dict[str, str] = {"personas": N_("Personas"), "netwerken": N_("Networks")}
STATUS_FILTERS: dict[str, str] = {
    "open": N_("Open (new or assigned)"),
    "mine": N_("Assigned to me"),
    "new": N_("New"),
    "assigned": N_("Assigned"),
    "reviewed": N_("Reviewed"),
    "escalated": N_("Escalated"),
    "dismissed": N_("Dismissed"),
    "all": N_("All"),
}
STATUS_LABELS: dict[str, str] = {
    "new": N_("New"),
    "assigned": N_("Assigned"),
    "reviewed": N_("Reviewed"),
    "escalated": N_("Escalated"),
    "dismissed": N_("Dismissed"),
}
DECISION_LABELS: dict[str, str] = {
    "assign": N_("Assign to a colleague"),
    "review": N_("Mark as reviewed"),
    "escalate": N_("Escalate: register a signal for the chain"),
    "dismiss": N_("Dismiss (give a reason)"),
}
# A decision taken, as the item's last line says it.
DECISION_WORDS: dict[str, str] = {
    "assign": N_("assigned"),
    "review": N_("reviewed"),
    "escalate": N_("escalated"),
    "dismiss": N_("dismissed"),
}
FILTER_NAMES = ("soort", "plaats", "van", "tot", "indicator", "site", "niveau", "status")
MAX_FILTER = 100
MAX_PAGE = 100_000
SHOWN_REASONS = 3


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=AMSTERDAM)


def read_filters(
    params: QueryParams, *, user_id: int
) -> tuple[QueueFilter, dict[str, str], dict[str, str], tuple[str, ...]]:
    """The queue filter of the query, the values as given (for the form) and a message per
    value that cannot be used (that filter then matches nothing rather than everything)."""
    values = {name: params.get(name, "").strip()[:MAX_FILTER] for name in FILTER_NAMES}
    errors: dict[str, str] = {}
    kind_key = values["soort"] if values["soort"] in KINDS else "personas"
    values["soort"] = kind_key
    status = values["status"] if values["status"] in STATUS_FILTERS else "open"
    values["status"] = status
    municipalities: tuple[str, ...] = ()
    if values["plaats"]:
        found = triage.resolve_area(values["plaats"])
        if found is None:
            errors["plaats"] = N_("No Dutch municipality, place or province has this name.")
        else:
            municipalities = found
    since = until = None
    for name in ("van", "tot"):
        if values[name] and _date(values[name]) is None:
            errors[name] = N_("Enter a date.")
    if values["van"] and (day := _date(values["van"])):
        since = _local_midnight(day)
    if values["tot"] and (day := _date(values["tot"])):
        until = _local_midnight(day + timedelta(days=1))  # the whole last day
    indicator = values["indicator"] or None
    if indicator and indicator not in default_indicators().by_id:
        errors["indicator"] = N_("Choose one of the options.")
    low = high = None
    if values["niveau"] in triage.LEVELS:
        low, high = triage.LEVELS[values["niveau"]]
    else:
        values["niveau"] = ""
    statuses: tuple[str, ...]
    if status == "open":
        statuses = OPEN_STATUSES
    elif status in STATUSES:
        statuses = (status,)
    else:  # all, mine
        statuses = ()
    filters = QueueFilter(
        kind=KINDS[kind_key],
        municipalities=municipalities,
        since=since,
        until=until,
        indicator=indicator,
        site=values["site"] or None,
        min_score=low,
        max_score=high,
        statuses=statuses,
        assigned_to_user_id=user_id if status == "mine" else None,
        match_nothing="plaats" in errors,
    )
    return filters, values, errors, municipalities if "plaats" not in errors else ()


def _query(values: dict[str, str], **changes: str | int) -> str:
    merged = {**values, **{k: str(v) for k, v in changes.items()}}
    return urlencode({k: v for k, v in merged.items() if v})


def _page_number(params: QueryParams) -> int:
    raw = params.get("pagina", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


def _queue_page(
    ctx: RequestContext,
    params: QueryParams,
    *,
    errors_of: tuple[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    actor = ctx.acting
    run = own_latest_run(ctx)
    filters, values, filter_errors, area = read_filters(params, user_id=actor.user_id)
    renderer = web_state(ctx.request).renderer
    context: dict[str, object] = {
        "run": run,
        "values": values,
        "filter_errors": filter_errors,
        "area": area,
        "kinds": KIND_LABELS,
        "kind_links": {code: _query(values, soort=code) for code in KINDS},
        "me": actor.user_id,
        "status_filters": STATUS_FILTERS,
        "status_labels": STATUS_LABELS,
        "risk_levels": RISK_LEVELS,
        "decisions": DECISION_LABELS,
        "indicators": default_indicators().indicators,
        "item_errors": errors_of,
    }
    if run is None:
        return renderer.page(ctx.request, "triage.html", context, status_code=status_code)
    page = triage.queue(
        ctx.db,
        actor,
        run,
        filters,
        page=_page_number(params),
        ip=ctx.ip,
        audit_filters={k: v for k, v in values.items() if v},
    )
    lang = "en" if ctx.locale == "en" else "nl"
    explained: dict[str, list[Explained]] = {
        item.item_id: analysis_views.explained_reasons(
            item.reasons_json, item.reasons, lang=lang, subject=item.kind
        )[:SHOWN_REASONS]
        for item in page.items
    }
    decided = triage.latest_decisions(
        ctx.db, actor, run, filters.kind, [item.item_id for item in page.items]
    )
    assignees = triage.assignees(
        ctx.db,
        actor,
        run,
        [i.assigned_to_user_id for i in page.items if i.assigned_to_user_id is not None]
        + [d.user_id for d in decided.values() if d.user_id is not None],
    )
    context.update(
        {
            "page": page,
            "decided": decided,
            "decision_words": DECISION_WORDS,
            "first_number": (page.page - 1) * triage.PAGE_SIZE + 1,
            "explained": explained,
            "levels": {item.item_id: triage.level_of(item.risk_score) for item in page.items},
            "assignees": {uid: user.display_name for uid, user in assignees.items()},
            "colleagues": triage.colleagues(ctx.db, actor),
            "sites": triage.sites(ctx.db, actor, run),
            "query": _query(values),
            "previous": _query(values, pagina=page.page - 1) if page.page > 1 else None,
            "next": _query(values, pagina=page.page + 1) if page.page < page.pages else None,
            "may_decide": ctx.may(Action.DECIDE_TRIAGE),
            "may_escalate": ctx.may(Action.CREATE_SIGNALS),
            "may_open_personas": ctx.may(Action.VIEW_ANALYSIS_DETAIL),
            "may_view_signals": ctx.may(Action.VIEW_SIGNALS),
        }
    )
    return renderer.page(ctx.request, "triage.html", context, status_code=status_code)


@router.get("")
def queue(ctx: Queue) -> Response:
    return _queue_page(ctx, ctx.request.query_params)


def _decide(ctx: RequestContext, kind: ItemKind, item_id: str) -> Response:
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    form = ctx.form
    # Back to the same page of the queue with the same filters (only the queue's own names).
    back = QueryParams(
        [(k, v) for k, v in parse_qsl(text(form, "terug")[:2000]) if k in (*FILTER_NAMES, "pagina")]
    )
    assignee = number(form, "toegewezen_aan")
    try:
        triage.decide(
            ctx.db,
            ctx.acting,
            run,
            kind,
            item_id,
            text(form, "besluit"),
            assignee_id=assignee if isinstance(assignee, int) else None,
            reason=text(form, "reden"),
            pseudonym_key=web_state(ctx.request).settings.pseudonym_key,
            ip=ctx.ip,
        )
    except FieldErrors as exc:
        ctx.db.rollback()
        return _queue_page(
            ctx, back, errors_of=(item_id, field_messages(exc.fields)), status_code=422
        )
    target = "/analyse/triage"
    if back:
        target += "?" + urlencode(list(back.multi_items()))
    return RedirectResponse(f"{target}#item-{item_id}", status_code=303)


@router.post("/personas/{persona_id}")
def decide_persona(ctx: DecidePersona, persona_id: str) -> Response:
    return _decide(ctx, "persona", persona_id)


@router.post("/netwerken/{network_id}")
def decide_network(ctx: DecideNetwork, network_id: str) -> Response:
    return _decide(ctx, "network", network_id)
