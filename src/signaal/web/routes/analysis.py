"""The latest stored analysis of the viewer's organisation: networks ranked by risk with their
reasons, personas, one persona.

Every page shows only the latest run of the viewer's own organisation. A network or persona in
the path is loaded with the organisation that owns it (``analysis_resource``), so ``allowed()``
refuses one of another organisation; an id no run holds is refused the same way.

Opening a persona shows the ads about one (pseudonymous) person, so it asks for a purpose first
and writes a ``PersonaViewed`` audit event with it. The persona page shows the reasons in plain
words (``signaal.ads.explain``, as ``report.html``), every ad with its evidence marked, a
timeline of the ads and the contact points masked (see ``signaal.web.analysis_views``); the
network page explains the network's reasons the same way, and draws the network: a graph of its
personas and what links them (``signaal.web.network_graph``), where they were per week and their
moves between municipalities on a map (``signaal.web.network_movement``), each with a table.
``/analyse/indicatoren`` lists every indicator with its source, which the reasons link to.

The persona page also shows the photos of the persona's ads as thumbnails, each with the other
personas of the run that have the same picture; a thumbnail is served by
``/analyse/personas/{id}/fotos/{n}`` behind the same guard as the page (another organisation's
persona is refused like one that exists nowhere), never cached and never sniffed.
"""

from __future__ import annotations

import shlex
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParameter
from starlette.responses import Response

from signaal import audit
from signaal.ads.indicators import default_indicators
from signaal.ads.report import timeline_svg
from signaal.chain.authz import Action, Resource
from signaal.errors import NotFoundError
from signaal.geo import areas as geo_areas
from signaal.store import analysis, ingested
from signaal.store.analysis import PSEUDONYM, NetworkResult, PersonaResult
from signaal.store.models import AnalysisRun
from signaal.web import analysis_views, network_graph, network_movement
from signaal.web.app import web_state
from signaal.web.context import RequestContext, analysis_resource, guard
from signaal.web.i18n import N_
from signaal.web.routes import contacts, controls

router = APIRouter(prefix="/analyse")

Overview = Annotated[RequestContext, guard(Action.VIEW_ANALYSIS)]
PersonaDetail = Annotated[
    RequestContext,
    guard(Action.VIEW_ANALYSIS_DETAIL, analysis_resource("persona", "persona_id")),
]
NetworkPersonas = Annotated[
    RequestContext, guard(Action.VIEW_ANALYSIS, analysis_resource("network", "network_id"))
]

# The risk levels of an ad (signaal.store.analysis.RISK_LEVELS) as people read them.
RISK_LEVELS: dict[str, str] = {
    "log": N_("recorded only"),
    "review": N_("for review"),
    "priority": N_("priority review"),
}

NETWORK_LIMIT = 50
PERSONA_LIMIT = 100
# The network page draws the highest-risk personas only (and says so), from at most so many ads.
GRAPH_PERSONAS = 30
GRAPH_ADS = 5_000
FLOW_ROWS = 100

# Why someone opens a persona. The key is what the audit log keeps.
PURPOSES: dict[str, str] = {
    "assess_signal": N_("Assessing a signal of possible exploitation"),
    "prepare_outreach": N_("Preparing outreach or care contact"),
    "protection": N_("Protection or investigation"),
    "case_coordination": N_("Coordinating follow-up with partners"),
}


def own_latest_run(ctx: RequestContext) -> AnalysisRun | None:
    """The latest run of the viewer's organisation (the only one these pages show)."""
    assert ctx.actor is not None  # the guard let a logged-in actor through
    return analysis.latest_run(ctx.db, ctx.actor.organisation_id)


@router.get("")
def overview(ctx: Overview, zoek: Annotated[str, Query(max_length=100)] = "") -> Response:
    run = own_latest_run(ctx)
    networks = analysis.top_networks(ctx.db, run.id, limit=NETWORK_LIMIT) if run else []
    term = zoek.strip().lower()
    if term:
        networks = [
            network
            for network in networks
            if term in network.network_id.lower()
            or any(term in place.lower() for place in network.municipalities)
        ]
    partial = ctx.request.headers.get("HX-Request") == "true"
    if run is not None and not partial:  # filtering the same overview is not a new view
        audit.record(ctx.db, audit.AnalysisViewed(run_id=run.id), actor=ctx.actor, ip=ctx.ip)
    template = "partials/networks.html" if partial else "analysis.html"
    return web_state(ctx.request).renderer.page(
        ctx.request,
        template,
        {
            "run": run,
            "networks": networks,
            "explained": {
                n.network_id: analysis_views.explained_reasons(
                    n.reasons_json, n.reasons, lang=_lang(ctx), subject="network"
                )
                for n in networks
                if n.reasons_json
            },
            "search": zoek,
            "may_open_personas": ctx.may(Action.VIEW_ANALYSIS_DETAIL),
            # The hint for an organisation without a run names it, quoted for a shell, so that
            # the command works as printed.
            "hint_organisation": shlex.quote(ctx.user.organisation.name) if ctx.user else "",
        },
    )


@router.get("/netwerken/{network_id}/personas")
def network_personas(ctx: NetworkPersonas, network_id: str) -> Response:
    """The personas of one network (loaded into the overview by htmx, or as a page)."""
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    network = analysis.network_detail(ctx.db, run.id, network_id)
    if network is None:
        raise NotFoundError(f"network {network_id} not in run {run.id}")
    personas = analysis.top_personas(ctx.db, run.id, limit=PERSONA_LIMIT, network_id=network_id)
    audit.record(
        ctx.db,
        audit.NetworkViewed(run_id=run.id, network_id=network_id),
        actor=ctx.actor,
        ip=ctx.ip,
    )
    partial = bool(ctx.request.headers.get("HX-Request"))
    context = {
        "run": run,
        "network_id": network_id,
        "network": network,
        "reasons": analysis_views.explained_reasons(
            network.reasons_json, network.reasons, lang=_lang(ctx), subject="network"
        ),
        "personas": personas,
        "explained_personas": {
            p.persona_id: analysis_views.explained_reasons(
                p.reasons_json, p.reasons, lang=_lang(ctx), subject="persona"
            )
            for p in personas
            if p.reasons_json
        },
        "may_open_personas": ctx.may(Action.VIEW_ANALYSIS_DETAIL),
        "may_watch": ctx.may(Action.WATCH_ITEMS),
        "may_export": ctx.may(
            Action.EXPORT_EVIDENCE, Resource("network", network_id, run.organisation_id)
        ),
    }
    if not partial:  # the overview's htmx fragment is the personas only
        context.update(_network_picture(ctx, run, network, personas))
        context["lineage"] = ingested.lineage_of(ctx.db, run.organisation_id, "network", network_id)
    return web_state(ctx.request).renderer.page(
        ctx.request, "partials/personas.html" if partial else "network.html", context
    )


def _network_picture(
    ctx: RequestContext,
    run: AnalysisRun,
    network: NetworkResult,
    personas: list[PersonaResult],
) -> dict[str, object]:
    """The graph, the weeks and the flows of the network page."""
    shown = personas[:GRAPH_PERSONAS]
    ads = analysis.ads_of_personas(ctx.db, run.id, [p.persona_id for p in shown], limit=GRAPH_ADS)
    flows = analysis.network_flows(ctx.db, run.id, network.network_id)
    contact_owner = Resource("contact_point", organisation_id=run.organisation_id)
    return {
        "graph": network_graph.build_graph(network, shown, ads),
        "weeks": network_movement.weekly_places([p.persona_id for p in shown], ads),
        "flows": flows,
        "flow_map": network_movement.flow_map(flows),
        "max_flow_rows": FLOW_ROWS,
        "map_source": geo_areas.source(),
        "may_reveal": ctx.may(Action.REVEAL_CONTACTS, contact_owner),
        "contact_purposes": contacts.PURPOSES,
        "contact_kinds": network_graph.CONTACT_KINDS,
    }


@router.get("/personas/{persona_id}")
def persona(
    ctx: PersonaDetail, persona_id: str, doel: Annotated[str, Query(max_length=50)] = ""
) -> Response:
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    renderer = web_state(ctx.request).renderer
    if doel not in PURPOSES:
        errors = {"doel": N_("Choose why you open this persona.")} if doel else {}
        return renderer.page(
            ctx.request,
            "persona_purpose.html",
            {"persona_id": persona_id, "purposes": PURPOSES, "errors": errors},
            status_code=422 if doel else 200,
        )
    detail = analysis.persona_detail(ctx.db, run.id, persona_id)
    if detail is None:
        raise NotFoundError(f"persona {persona_id} not in run {run.id}")
    audit.record(
        ctx.db,
        audit.PersonaViewed(run_id=run.id, persona_id=persona_id),
        actor=ctx.actor,
        ip=ctx.ip,
        purpose=doel,
    )
    contact_owner = Resource("contact_point", organisation_id=run.organisation_id)
    lang = _lang(ctx)
    persona_records = analysis_views.reason_records(
        detail.persona.reasons_json, detail.persona.reasons
    )
    network_records = (
        analysis_views.reason_records(detail.network.reasons_json, detail.network.reasons)
        if detail.network
        else []
    )
    segments = analysis_views.ad_stays(detail.ads)
    return renderer.page(
        ctx.request,
        "persona.html",
        {
            "run": run,
            "lineage": ingested.lineage_of(ctx.db, run.organisation_id, "persona", persona_id),
            "detail": detail,
            "reasons": analysis_views.explained_reasons(
                detail.persona.reasons_json, detail.persona.reasons, lang=lang, subject="persona"
            ),
            "marked_ads": analysis_views.marked_ads(
                detail.ads,
                lang=lang,
                masked=analysis_views.masked_forms(persona_records, network_records),
            ),
            "ad_anchors": {ad.ad_id: i for i, ad in enumerate(detail.ads, start=1)},
            "stays": segments,
            "route": network_movement.persona_route(detail.ads),
            "map_source": geo_areas.source(),
            "timeline": timeline_svg(segments, segments[0].start, segments[-1].end)
            if segments
            else None,
            "purpose": PURPOSES[doel],
            "purpose_key": doel,
            "may_export": ctx.may(
                Action.EXPORT_EVIDENCE, Resource("persona", persona_id, run.organisation_id)
            ),
            "risk_levels": RISK_LEVELS,
            "contact_points": contacts.pseudonyms_in(
                text for ad in detail.ads for text in (ad.title, ad.text)
            ),
            # Numbers given in the ads' contact fields are in no text: the network lists them.
            "network_contact_points": [
                name
                for name in (detail.network.contact_points if detail.network else ())
                if PSEUDONYM.match(name)
            ],
            "may_reveal": ctx.may(Action.REVEAL_CONTACTS, contact_owner),
            "contact_purposes": contacts.PURPOSES,
            "may_register_signal": ctx.may(Action.CREATE_SIGNALS),
            "may_watch": ctx.may(Action.WATCH_ITEMS),
            "photos": analysis.persona_photos(ctx.db, run.id, persona_id),
            "n_photos": analysis.count_persona_photos(ctx.db, run.id, persona_id),
            # "Add to a joint control" (partials/control_add.html), for those who plan them.
            "control_add": controls.add_form(ctx, persona_id, doel)
            if ctx.may(Action.MANAGE_CONTROLS)
            else None,
        },
    )


@router.get("/personas/{persona_id}/fotos/{number}")
def persona_photo(
    ctx: PersonaDetail,
    persona_id: str,
    number: Annotated[int, PathParameter(ge=1, le=analysis.MAX_PERSONA_PHOTOS)],
) -> Response:
    """The thumbnail of photo ``number`` of the persona page (JPEG); 404 without one. The page
    that shows it asked the purpose and audited the view."""
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    data = analysis.persona_photo_thumbnail(ctx.db, run.id, persona_id, number)
    if data is None:
        raise NotFoundError(f"no photo {number} of persona {persona_id} in run {run.id}")
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/indicatoren")
def indicators(ctx: Overview) -> Response:
    """Every indicator with its family, weight and source: where the reasons' links lead."""
    definitions = default_indicators()
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "indicators.html",
        {"indicators": definitions.indicators, "families": definitions.families},
    )


def _lang(ctx: RequestContext) -> str:
    return "en" if getattr(ctx.request.state, "locale", "nl") == "en" else "nl"
