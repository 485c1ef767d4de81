""" "Mijn gemeente", ``/mijn-gemeente``: the own organisation's latest run aggregated for one
municipality or region (see :mod:`signaal.monitor.local_picture`), and each of its tables as
CSV (``/mijn-gemeente.csv?tabel=weken|indicatoren|vergelijking|kaart``).

The query says what is shown, so a page can be bookmarked: ``plaats`` (a municipality, a place
or a region as typed, resolved through :mod:`signaal.geo.areas`: "Den Haag" is 's-Gravenhage, a
village its municipality), ``soort`` (which kind of area the name means; empty: the first that
fits), ``weken`` (the last 4, 13, 26 or 52 weeks of the chart and its table; empty: the whole
run) and ``maat`` (the map's measure). Without ``plaats`` the page shows the organisation's own
region (``organisations.region``), else only the picker.

Counts only: no id, text or contact point of a person reaches this page. Small counts of
personas (1 to 4) are withheld by the service and read "<5" here. The charts are drawn in the
browser by the vendored uPlot from a JSON data island (``static/js/local_picture.js``; no
inline script, the CSP holds); each chart is followed by its numbers as a table. The map is an
SVG drawn here from the outlines that ship with Signaal (CBS/PDOK, CC BY 4.0).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.datastructures import QueryParams
from starlette.responses import Response

from signaal.ads.indicators import default_indicators
from signaal.chain.authz import Action
from signaal.errors import NotFoundError
from signaal.geo import areas as geo_areas
from signaal.geo.areas import Area, AreaKind
from signaal.monitor import local_picture as lp
from signaal.store.models import Organisation
from signaal.web.app import web_state
from signaal.web.context import RequestContext, guard
from signaal.web.i18n import N_, translate
from signaal.web.routes.analysis import own_latest_run

router = APIRouter()

LocalPictureReader = Annotated[RequestContext, guard(Action.VIEW_LOCAL_PICTURE)]

# ``soort`` in the query -> the kind of area (empty: the first kind the name fits).
KINDS: dict[str, AreaKind | None] = {
    "": None,
    "gemeente": "municipality",
    "provincie": "province",
    "politie-eenheid": "police_unit",
    "veiligheidsregio": "safety_region",
    "ggd-regio": "ggd_region",
}
KIND_OPTIONS: dict[str, str] = {
    "": N_("Any kind"),
    "gemeente": N_("Municipality"),
    "provincie": N_("Province"),
    "politie-eenheid": N_("Police unit"),
    "veiligheidsregio": N_("Safety region"),
    "ggd-regio": N_("GGD region"),
}
KIND_LABELS: dict[str, str] = {
    "municipality": N_("Municipality"),
    "province": N_("Province"),
    "police_unit": N_("Police unit"),
    "safety_region": N_("Safety region"),
    "ggd_region": N_("GGD region"),
}
KIND_CODES: dict[AreaKind, str] = {kind: code for code, kind in KINDS.items() if kind}
PERIODS: dict[str, str] = {
    "": N_("The whole analysis"),
    "4": N_("The last 4 weeks"),
    "13": N_("The last 13 weeks"),
    "26": N_("The last 26 weeks"),
    "52": N_("The last 52 weeks"),
}
MEASURE_LABELS: dict[str, str] = {
    "ads_per_10k": N_("Ads per 10,000 inhabitants"),
    "ads": N_("Ads"),
    "indicator_share": N_("Share of ads with an indicator"),
}
TABLE_FILES: dict[str, str] = {
    "weken": "weeks",
    "indicatoren": "indicators",
    "vergelijking": "comparison",
    "kaart": "map",
}
QUERY_NAMES = ("plaats", "soort", "weken", "maat")
MAX_PLACE = 100


def read_query(params: QueryParams) -> dict[str, str]:
    """The page's query values, each one the page knows or empty."""
    values = {name: params.get(name, "").strip()[:MAX_PLACE] for name in QUERY_NAMES}
    if values["soort"] not in KINDS:
        values["soort"] = ""
    if values["weken"] not in PERIODS:
        values["weken"] = ""
    if values["maat"] not in lp.MEASURES:
        values["maat"] = ""
    return values


def own_region(ctx: RequestContext) -> Area | None:
    """The organisation's own region (``organisations.region``) as an area, if it names one."""
    organisation = ctx.db.get(Organisation, ctx.acting.organisation_id)
    region = organisation.region if organisation is not None else None
    return geo_areas.resolve_area(region) if region else None


def chosen_area(ctx: RequestContext, values: dict[str, str]) -> tuple[Area | None, list[str]]:
    """The area of the query (or the organisation's own region without one), and the names
    close to a name that resolves to nothing (empty when it did resolve)."""
    if not values["plaats"]:
        return own_region(ctx), []
    found = geo_areas.resolve_area(values["plaats"], KINDS[values["soort"]])
    if found is None:
        return None, geo_areas.close_matches(values["plaats"])
    return found, []


def _query(values: dict[str, str], **changes: str) -> str:
    merged = {**values, **changes}
    return urlencode({k: v for k, v in merged.items() if v})


def _measure(values: dict[str, str]) -> lp.Measure:
    return next((m for m in lp.MEASURES if m == values["maat"]), "ads_per_10k")


def _weeks(values: dict[str, str]) -> int | None:
    return int(values["weken"]) if values["weken"] else None


def chart_data(picture: lp.LocalPicture, locale: str) -> dict[str, object]:
    """What ``local_picture.js`` draws: one value per ISO week, withheld counts as null (a gap
    in the line; the table below says "<5")."""

    def percent(value: float | None) -> float | None:
        return None if value is None else round(100 * value, 1)

    return {
        "weeks": [w.label for w in picture.weeks],
        "ads": [w.ads for w in picture.weeks],
        "personas": [w.personas for w in picture.weeks],
        "ads_share": [percent(w.ads_indicator_share) for w in picture.weeks],
        "personas_share": [percent(w.personas_indicator_share) for w in picture.weeks],
        "labels": {
            "week": translate(locale, N_("Week")),
            "ads": translate(locale, N_("Ads")),
            "personas": translate(locale, N_("Personas")),
            "ads_share": translate(locale, N_("Ads with an indicator (%)")),
            "personas_share": translate(locale, N_("Personas with an indicator (%)")),
        },
    }


@router.get("/mijn-gemeente")
def local_picture_page(ctx: LocalPictureReader) -> Response:
    values = read_query(ctx.request.query_params)
    run = own_latest_run(ctx)
    area, suggestions = chosen_area(ctx, values)
    renderer = web_state(ctx.request).renderer
    context: dict[str, object] = {
        "run": run,
        "values": values,
        "area": area,
        "suggestions": [
            (name, _query({"plaats": name, "soort": "", "weken": "", "maat": ""}))
            for name in suggestions
        ],
        "unknown": bool(values["plaats"]) and area is None,
        "kind_options": KIND_OPTIONS,
        "kind_labels": KIND_LABELS,
        "periods": PERIODS,
        "measures": MEASURE_LABELS,
        "small_count": lp.SMALL_COUNT,
        "area_names": sorted(
            {a.name for kind in geo_areas.AREA_KINDS for a in geo_areas.areas(kind)}
        ),
        "picture": None,
    }
    if run is None or area is None:
        return renderer.page(ctx.request, "local_picture.html", context)
    picture = lp.view(
        ctx.db,
        ctx.acting,
        run,
        area,
        ip=ctx.ip,
        measure=_measure(values),
        weeks=_weeks(values),
    )
    indicator_names = {
        indicator.id: indicator.name(ctx.locale) for indicator in default_indicators().indicators
    }
    # The selected municipalities last, so that their outline is drawn over their neighbours'.
    shapes = sorted(picture.map, key=lambda m: m.selected)
    listed = sorted(
        (m for m in picture.map if m.selected or (m.value or 0) > 0),
        key=lambda m: (not m.selected, -(m.value or 0), m.name),
    )

    context.update(
        {
            "picture": picture,
            # The CSV links name the area as resolved, so that they give the same area.
            "query": _query(values, plaats=area.name, soort=KIND_CODES[area.kind]),
            "chart": chart_data(picture, ctx.locale),
            "indicator_names": indicator_names,
            "view_box": geo_areas.view_box(),
            "shapes": shapes,
            "listed": listed,
            "n_unlisted": len(picture.map) - len(listed),
            "measure": picture.measure,
            "map_source": geo_areas.source(),
        }
    )
    return renderer.page(ctx.request, "local_picture.html", context)


@router.get("/mijn-gemeente.csv")
def local_picture_csv(
    ctx: LocalPictureReader,
    tabel: Annotated[str, Query(max_length=32)] = "weken",
) -> Response:
    if tabel not in lp.TABLES:
        raise NotFoundError("no such table")
    values = read_query(ctx.request.query_params)
    run = own_latest_run(ctx)
    if run is None:
        raise NotFoundError("no analysis stored")
    area, _ = chosen_area(ctx, values)
    if area is None:
        raise NotFoundError("no such municipality or region")
    table = next(t for t in lp.TABLES if t == tabel)
    text = lp.export(
        ctx.db,
        ctx.acting,
        run,
        area,
        table,
        ip=ctx.ip,
        measure=_measure(values),
        weeks=_weeks(values),
    )
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in area.name).strip("-")
    filename = f"signaal-{TABLE_FILES[table]}-{slug.lower() or 'area'}-run{run.id}.csv"
    return Response(
        "\ufeff" + text,  # the BOM makes spreadsheets read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
