"""Evidence reports of a persona or network of the own organisation's latest run, as HTML or
PDF (``…/bewijs.html``, ``…/bewijs.pdf``; see :mod:`signaal.web.evidence`).

The guard asks ``analysis.export_evidence`` on the persona or network with the organisation
that owns it (``analysis_resource``), so one of another organisation's run, or an id no run
holds, is refused like on the persona page (403, audited). An export is about a person, so it
asks a purpose first (``doel``, the persona page's list). Each export writes one
``evidence.exported`` audit event with the SHA-256 of the bytes served; a role that may reveal
contact points (``contacts.reveal`` on the run) gets them in the clear, each written as a
``contact_point.revealed`` event with the same purpose, as a reveal on screen is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC
from typing import Annotated, cast

from fastapi import APIRouter, Query
from starlette.responses import Response

from signaal import audit
from signaal.chain.authz import Action, Resource, roles
from signaal.errors import NotFoundError
from signaal.privacy.sealing import Sealer
from signaal.store import analysis, ingested
from signaal.store.analysis import PSEUDONYM, AdResult
from signaal.store.contacts import reveal_contact_point
from signaal.store.models import AnalysisRun
from signaal.web import analysis_views, evidence
from signaal.web.app import web_state
from signaal.web.context import RequestContext, analysis_resource, guard
from signaal.web.i18n import N_, translations_for
from signaal.web.routes.analysis import PURPOSES, own_latest_run

router = APIRouter(prefix="/analyse")

PersonaEvidence = Annotated[
    RequestContext,
    guard(Action.EXPORT_EVIDENCE, analysis_resource("persona", "persona_id")),
]
NetworkEvidence = Annotated[
    RequestContext,
    guard(Action.EXPORT_EVIDENCE, analysis_resource("network", "network_id")),
]
Purpose = Annotated[str, Query(max_length=50)]
Language = Annotated[str, Query(max_length=5)]

MEDIA_TYPES: dict[evidence.Format, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


@router.get("/personas/{persona_id}/bewijs.html")
def persona_html(
    ctx: PersonaEvidence, persona_id: str, doel: Purpose = "", taal: Language = ""
) -> Response:
    return _persona(ctx, persona_id, "html", doel, taal)


@router.get("/personas/{persona_id}/bewijs.pdf")
def persona_pdf(
    ctx: PersonaEvidence, persona_id: str, doel: Purpose = "", taal: Language = ""
) -> Response:
    return _persona(ctx, persona_id, "pdf", doel, taal)


@router.get("/netwerken/{network_id}/bewijs.html")
def network_html(
    ctx: NetworkEvidence, network_id: str, doel: Purpose = "", taal: Language = ""
) -> Response:
    return _network(ctx, network_id, "html", doel, taal)


@router.get("/netwerken/{network_id}/bewijs.pdf")
def network_pdf(
    ctx: NetworkEvidence, network_id: str, doel: Purpose = "", taal: Language = ""
) -> Response:
    return _network(ctx, network_id, "pdf", doel, taal)


def _language(ctx: RequestContext, taal: str) -> str:
    """The report's language: ``taal`` when given, else the page's (Dutch by default)."""
    if taal in ("nl", "en"):
        return taal
    return "en" if ctx.locale == "en" else "nl"


def _purpose_page(ctx: RequestContext, doel: str, taal: str) -> Response:
    errors = {"doel": N_("Choose why you export this report.")} if doel else {}
    return web_state(ctx.request).renderer.page(
        ctx.request,
        "evidence_purpose.html",
        {
            "action": ctx.request.url.path,
            "purposes": PURPOSES,
            "errors": errors,
            "language": taal if taal in ("nl", "en") else "",
        },
        status_code=422 if doel else 200,
    )


def _run(ctx: RequestContext) -> AnalysisRun:
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    return run


def _persona(
    ctx: RequestContext, persona_id: str, fmt: evidence.Format, doel: str, taal: str
) -> Response:
    if doel not in PURPOSES:
        return _purpose_page(ctx, doel, taal)
    run = _run(ctx)
    detail = analysis.persona_detail(ctx.db, run.id, persona_id)
    if detail is None:
        raise NotFoundError(f"persona {persona_id} not in run {run.id}")
    persona_records = analysis_views.reason_records(
        detail.persona.reasons_json, detail.persona.reasons
    )
    network_records = (
        analysis_views.reason_records(detail.network.reasons_json, detail.network.reasons)
        if detail.network
        else []
    )
    network_points = detail.network.contact_points if detail.network else ()
    pseudonyms = evidence.contact_pseudonyms(
        detail.ads, (p for p in network_points if PSEUDONYM.match(p))
    )
    return _export(
        ctx,
        run,
        fmt,
        doel,
        taal,
        kind="persona",
        item_id=persona_id,
        risk_score=detail.persona.risk_score,
        reason_records=persona_records,
        network=detail.network,
        personas=[],
        ads=detail.ads,
        n_ads_total=len(detail.ads),
        pseudonyms=pseudonyms,
        masked=analysis_views.masked_forms(persona_records, network_records),
        persona_of_reveal=persona_id,
    )


def _network(
    ctx: RequestContext, network_id: str, fmt: evidence.Format, doel: str, taal: str
) -> Response:
    if doel not in PURPOSES:
        return _purpose_page(ctx, doel, taal)
    run = _run(ctx)
    network = analysis.network_detail(ctx.db, run.id, network_id)
    if network is None:
        raise NotFoundError(f"network {network_id} not in run {run.id}")
    network_records = analysis_views.reason_records(network.reasons_json, network.reasons)
    personas = analysis.top_personas(
        ctx.db, run.id, limit=max(network.n_personas, 1), network_id=network_id
    )
    persona_records = [
        (p, analysis_views.reason_records(p.reasons_json, p.reasons)) for p in personas
    ]
    ads, n_ads = analysis.network_ads(ctx.db, run.id, network_id, limit=evidence.MAX_ADS)
    pseudonyms = evidence.contact_pseudonyms(
        ads, (p for p in network.contact_points if PSEUDONYM.match(p))
    )
    return _export(
        ctx,
        run,
        fmt,
        doel,
        taal,
        kind="network",
        item_id=network_id,
        risk_score=network.risk_score,
        reason_records=network_records,
        network=network,
        personas=persona_records,
        ads=ads,
        n_ads_total=n_ads,
        pseudonyms=pseudonyms,
        masked=analysis_views.masked_forms(network_records, *(r for _, r in persona_records)),
        persona_of_reveal=None,
    )


def _export(
    ctx: RequestContext,
    run: AnalysisRun,
    fmt: evidence.Format,
    doel: str,
    taal: str,
    *,
    kind: evidence.Kind,
    item_id: str,
    persona_of_reveal: str | None,
    pseudonyms: list[str],
    **content: object,
) -> Response:
    state = web_state(ctx.request)
    user = ctx.user
    assert user is not None  # the guard let a complete login through
    lang = _language(ctx, taal)
    owner = Resource("contact_point", organisation_id=run.organisation_id)
    revealed: dict[str, str] = {}
    if ctx.may(Action.REVEAL_CONTACTS, owner):
        sealer = Sealer(state.settings.contact_key)
        for name in pseudonyms:
            value = reveal_contact_point(ctx.db, run.id, name, sealer)
            if value is not None:
                revealed[name] = value
    words = translations_for(lang)
    role = roles().get(user.role)
    ads_shown = cast("Sequence[AdResult]", content.get("ads", ()))
    received = ingested.received(ctx.db, run.organisation_id, [ad.ad_id for ad in ads_shown])
    report = evidence.build_report(
        received=received,
        kind=kind,
        item_id=item_id,
        lang=lang,
        exporter=evidence.Exporter(
            name=user.display_name,
            email=user.email,
            role=role.label_for(lang) if role else user.role,
            organisation=user.organisation.name,
        ),
        exported_at=state.clock().astimezone(UTC),
        purpose=words.gettext(PURPOSES[doel]),
        run=run,
        pseudonyms=pseudonyms,
        revealed=revealed,
        **content,  # type: ignore[arg-type]
    )
    body = evidence.render_html(state.renderer, report)
    if fmt == "pdf":
        running_title = f"Signaal · {user.organisation.name} · {kind} {item_id} · run {run.id}"
        body = evidence.render_pdf(
            body,
            lang=lang,
            running_title=running_title,
            identifier=hashlib.sha256(body).hexdigest()[:32],
        )
    digest = hashlib.sha256(body).hexdigest()
    for name in revealed:
        audit.record(
            ctx.db,
            audit.ContactPointRevealed(run_id=run.id, pseudonym=name, persona_id=persona_of_reveal),
            actor=ctx.actor,
            ip=ctx.ip,
            purpose=doel,
        )
    audit.record(
        ctx.db,
        audit.EvidenceExported(
            run_id=run.id,
            kind=kind,
            item_id=item_id,
            format=fmt,
            lang=lang,
            n_ads=len(report.ads),
            n_revealed=len(revealed),
            sha256=digest,
        ),
        actor=ctx.actor,
        ip=ctx.ip,
        purpose=doel,
    )
    safe_id = "".join(c if c.isascii() and c.isalnum() else "-" for c in item_id)[:80]
    filename = f"signaal-bewijs-{kind}-{safe_id}-run{run.id}.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-SHA256": digest,
        },
    )
