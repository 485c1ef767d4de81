"""``report.html``: one self-contained page an analyst can read.

The highest-risk networks and personas with their reasons, ad texts with the indicator spans
marked, a timeline per persona and a map of movement (inline SVG of the municipalities from
``signaal.geo``, arrows from one municipality to the next). No external requests: CSS and SVG
are inline. Ad texts are untrusted input: everything is escaped (Jinja2 autoescape; marked texts
are built from escaped pieces). Dutch by default, English with ``lang="en"``.

Contact points are masked in the ad texts (``[06-•••••89]``) and shown as pseudonyms elsewhere;
only ``reveal_contacts`` (``signaal analyse --reveal-contacts``) shows them in the clear, and then
the page says so at the top and in its title.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import jinja2
from markupsafe import Markup, escape

from signaal.ads.explain import Explained, explain, parse_reasons
from signaal.ads.files import write_atomic
from signaal.ads.indicators import IndicatorSet, default_indicators
from signaal.ads.masking import (
    contact_spans,
    contact_values_by_pseudonym,
    mask_contacts,
    mask_raw_line,
)
from signaal.ads.outputs import Row, Tables, column, iso, ordered_reasons, reason_record
from signaal.ads.pipeline import AnalysisResult
from signaal.ads.types import IndicatorHit, Movement, NormalisedAd, Score
from signaal.geo import municipalities

TOP_NETWORKS = 12
TOP_PERSONAS = 25
ADS_PER_PERSONA = 2
MAP_NETWORKS = 8

STRINGS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Signaal: analyse van advertenties",
        "disclaimer": "Scores zijn bedoeld om te bepalen wat een mens eerst bekijkt (triage). "
        "Ze zijn geen oordeel over een persoon: elke score toont de redenen, en een hoge score "
        "kan een onschuldige verklaring hebben (bijvoorbeeld een bureau met één telefoon, of "
        "gestolen foto's).",
        "source": "Bron",
        "generated": "Gemaakt",
        "ads": "advertenties",
        "personas": "persona's",
        "networks": "netwerken",
        "links": "verbanden",
        "quarantined": "in quarantaine",
        "duplicates": "dubbel (overgeslagen)",
        "levels": "Niveaus",
        "level_priority": "prioriteit",
        "level_review": "bekijken",
        "level_log": "vastleggen",
        "map": "Kaart van verplaatsingen",
        "map_note": "Verplaatsingen van de netwerken met de hoogste score: elke pijl gaat van "
        "de ene gemeente naar de volgende waar een persona adverteerde.",
        "top_networks": "Netwerken met de hoogste score",
        "top_personas": "Persona's met de hoogste score",
        "network": "Netwerk",
        "persona": "Persona",
        "score": "score",
        "reasons": "Redenen",
        "no_reasons": "geen redenen: alleen vastgelegd",
        "municipalities": "Gemeenten",
        "contact_points": "Contactpunten (pseudoniem)",
        "timeline": "Tijdlijn",
        "first_seen": "eerst gezien",
        "last_seen": "laatst gezien",
        "n_ads": "advertenties",
        "n_personas": "persona's",
        "example_ads": "Voorbeeldadvertenties (signalen gemarkeerd)",
        "quarantine": "Quarantaine",
        "quarantine_note": "Deze invoer kon niet worden gelezen; zie quarantine.jsonl voor "
        "bestand, regel, veld en reden.",
        "reason": "reden",
        "count": "aantal",
        "method": "Werkwijze",
        "method_text": "Signalen per advertentie (familie A: tekst, B: profielvelden) wegen "
        "licht; verbanden tussen advertenties (C: gedeelde telefoon, foto of sjabloon) en "
        "verplaatsingen (D) wegen zwaarder. Punten zijn per familie begrensd (A ≤ 5, B ≤ 2, "
        "C ≤ 6, D ≤ 4) zodat samenhangende signalen niet dubbel tellen; familie A alleen leidt "
        "nooit tot een melding; familie E (mogelijk minderjarig) leidt altijd tot bekijken. "
        "Banden: ≤ 3 punten vastleggen, 4–6 bekijken, ≥ 7 prioriteit.",
        "indicator": "Signaal",
        "none": "geen",
        "more_personas": "en {n} andere persona's",
        "page_of": "advertentie",
        "masked_note": "Telefoonnummers, e-mailadressen, accounts en websites zijn gemaskeerd "
        "(bijvoorbeeld [06-•••••89]) of als pseudoniem getoond.",
        "revealed_warning": "Let op: dit rapport bevat contactpunten in leesbare vorm "
        "(telefoonnummers, e-mailadressen, accounts, websites). Het is gemaakt met "
        "--reveal-contacts. Deel het niet en verwijder het zodra het niet meer nodig is.",
        "revealed_label": "contactpunten leesbaar",
        "sources": "Signalen en hun bronnen",
        "label": "Betekenis",
    },
    "en": {
        "title": "Signaal: ad analysis",
        "disclaimer": "Scores decide what a person looks at first (triage). They are not a "
        "verdict about anyone: every score shows its reasons, and a high score can have an "
        "innocent explanation (for example an agency with one phone, or stolen photos).",
        "source": "Source",
        "generated": "Generated",
        "ads": "ads",
        "personas": "personas",
        "networks": "networks",
        "links": "links",
        "quarantined": "quarantined",
        "duplicates": "duplicates (skipped)",
        "levels": "Levels",
        "level_priority": "priority",
        "level_review": "review",
        "level_log": "log",
        "map": "Map of movement",
        "map_note": "Movement of the highest-scoring networks: each arrow goes from one "
        "municipality to the next one a persona advertised in.",
        "top_networks": "Highest-scoring networks",
        "top_personas": "Highest-scoring personas",
        "network": "Network",
        "persona": "Persona",
        "score": "score",
        "reasons": "Reasons",
        "no_reasons": "no reasons: logged only",
        "municipalities": "Municipalities",
        "contact_points": "Contact points (pseudonymised)",
        "timeline": "Timeline",
        "first_seen": "first seen",
        "last_seen": "last seen",
        "n_ads": "ads",
        "n_personas": "personas",
        "example_ads": "Example ads (cues marked)",
        "quarantine": "Quarantine",
        "quarantine_note": "This input could not be read; quarantine.jsonl has the file, line, "
        "field and reason of each.",
        "reason": "reason",
        "count": "count",
        "method": "Method",
        "method_text": "Cues in a single ad (family A: text, B: profile fields) weigh little; "
        "links between ads (C: shared phone, photo or template) and movement (D) weigh more. "
        "Points are capped per family (A ≤ 5, B ≤ 2, C ≤ 6, D ≤ 4) so correlated cues do not "
        "count twice; family A alone never raises an alert; family E (possible minor) always "
        "leads to review. Bands: ≤ 3 points log, 4–6 review, ≥ 7 priority.",
        "indicator": "Indicator",
        "none": "none",
        "more_personas": "and {n} other personas",
        "page_of": "ad",
        "masked_note": "Phone numbers, e-mail addresses, accounts and websites are masked "
        "(for example [06-•••••89]) or shown as pseudonyms.",
        "revealed_warning": "Warning: this report shows contact points in the clear (phone "
        "numbers, e-mail addresses, accounts, websites). It was made with --reveal-contacts. "
        "Do not share it, and delete it as soon as it is no longer needed.",
        "revealed_label": "contact points in the clear",
        "sources": "Indicators and their sources",
        "label": "Meaning",
    },
}

_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)


def colour(key: str) -> str:
    """A stable colour for a name (the same municipality has the same colour everywhere)."""
    digest = hashlib.blake2b(key.encode(), digest_size=2).digest()
    return _PALETTE[int.from_bytes(digest, "big") % len(_PALETTE)]


def marked_text(
    text: str,
    hits: Sequence[IndicatorHit],
    names: dict[str, str],
    masks: Sequence[tuple[int, int, str]] = (),
) -> Markup:
    """``text`` escaped, with each hit's span wrapped in ``<mark>`` titled with its name and each
    of the ``masks`` spans (contact points) replaced by its masked form.

    A hit that overlaps a masked span is widened to cover it whole, so a mask is never cut in
    two and no character of a contact point is shown.
    """
    ordered_masks = sorted(m for m in masks if 0 <= m[0] < m[1] <= len(text))
    marked: list[tuple[int, int, IndicatorHit]] = []
    for hit in hits:
        if hit.span is None or not hit.span[0] < hit.span[1] <= len(text):
            continue
        start, end = hit.span
        for mask_start, mask_end, _ in ordered_masks:
            if mask_start < end and start < mask_end:
                start, end = min(start, mask_start), max(end, mask_end)
        marked.append((start, end, hit))
    marked.sort(key=lambda item: (item[0], -item[1]))
    pieces: list[str] = []
    position = 0
    for start, end, hit in marked:
        if start < position:
            continue  # overlaps a span already marked
        pieces.append(_masked_escape(text, position, start, ordered_masks))
        title = f"{hit.indicator_id} {names.get(hit.indicator_id, '')}".strip()
        css = f"fam-{hit.family.lower()}"
        pieces.append(
            f'<mark class="{css}" title="{escape(title)}">'
            f"{_masked_escape(text, start, end, ordered_masks)}"
            f"<sup>{escape(hit.indicator_id)}</sup></mark>"
        )
        position = end
    pieces.append(_masked_escape(text, position, len(text), ordered_masks))
    return Markup("".join(pieces))  # noqa: S704 - built from escaped pieces only


def _masked_escape(text: str, start: int, end: int, masks: Sequence[tuple[int, int, str]]) -> str:
    """``text[start:end]`` escaped, with the masks inside it replaced (masks that overlap each
    other are replaced as one)."""
    pieces: list[str] = []
    position = start
    for mask_start, mask_end, replacement in masks:
        if mask_end <= position or mask_start >= end:
            continue
        mask_start = max(mask_start, position)
        pieces.append(str(escape(text[position:mask_start])))
        pieces.append(f'<span class="masked">{escape(replacement)}</span>')
        position = min(max(mask_end, position), end)
    pieces.append(str(escape(text[position:end])))
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Segment:
    municipality: str
    start: datetime
    end: datetime
    n_ads: int


class Placed(Protocol):
    """What a stay is made of: an ad's id, time and municipality (a ``NormalisedAd``, or an ad
    of the app store)."""

    @property
    def id(self) -> str: ...
    @property
    def posted_at(self) -> datetime: ...
    @property
    def municipality(self) -> str | None: ...


def stays(ads: Sequence[Placed]) -> list[Segment]:
    """Consecutive runs of ads in one municipality, in time order."""
    segments: list[Segment] = []
    for ad in sorted(ads, key=lambda a: (a.posted_at, a.id)):
        place = ad.municipality or "?"
        if segments and segments[-1].municipality == place:
            last = segments[-1]
            segments[-1] = Segment(place, last.start, ad.posted_at, last.n_ads + 1)
        else:
            segments.append(Segment(place, ad.posted_at, ad.posted_at, 1))
    return segments


def timeline_svg(segments: Sequence[Segment], start: datetime, end: datetime) -> Markup:
    """A horizontal bar per stay in a municipality, on the time axis of the whole corpus."""
    width, height = 640.0, 34.0
    span = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return 4 + (width - 8) * (at - start).total_seconds() / span

    parts = [
        f'<svg class="timeline" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="timeline">',
        f'<line x1="4" y1="14" x2="{width - 4:.0f}" y2="14" class="axis"/>',
    ]
    for seg in segments:
        left = x(seg.start)
        right = max(x(seg.end), left + 4)
        label = f"{seg.municipality}: {iso(seg.start)[:10]} – {iso(seg.end)[:10]}, {seg.n_ads}"
        parts.append(
            f'<rect x="{left:.1f}" y="7" width="{right - left:.1f}" height="14" rx="3" '
            f'fill="{colour(seg.municipality)}"><title>{escape(label)}</title></rect>'
        )
        if right - left > 48:
            parts.append(
                f'<text x="{left + 3:.1f}" y="31" class="tl-label">'
                f"{escape(seg.municipality[:18])}</text>"
            )
    parts.append(
        f'<text x="4" y="31" class="tl-date">{escape(iso(start)[:10])}</text>'
        if not segments or x(segments[0].start) > 60
        else ""
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped names only


@cache
def _map_geometry() -> tuple[dict[str, tuple[float, float]], float, float]:
    """Municipality -> (x, y) in a 460-wide box (equirectangular at 52° N); width, height."""
    places = municipalities()
    lat_min = min(m.lat for m in places) - 0.1
    lat_max = max(m.lat for m in places) + 0.1
    lon_min = min(m.lon for m in places) - 0.1
    lon_max = max(m.lon for m in places) + 0.1
    squeeze = math.cos(math.radians(52.2))
    width = 460.0
    scale = width / ((lon_max - lon_min) * squeeze)
    height = (lat_max - lat_min) * scale
    points = {
        m.name: ((m.lon - lon_min) * squeeze * scale, (lat_max - m.lat) * scale) for m in places
    }
    return points, width, height


def movement_map_svg(
    movements: Sequence[Movement], network_colours: dict[str, str], labels: dict[str, str]
) -> Markup:
    """All municipalities as dots; arrows for the given movements, one colour per network."""
    points, width, height = _map_geometry()
    parts = [
        f'<svg class="map" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="map of movement">',
        "<defs>",
    ]
    for network, col in network_colours.items():
        parts.append(
            f'<marker id="arrow-{escape(_css_id(network))}" viewBox="0 0 10 10" refX="9" '
            f'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{col}"/></marker>'
        )
    parts.append("</defs>")
    for x, y in points.values():
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6" class="town"/>')
    visited: Counter[str] = Counter()
    pairs: Counter[tuple[str, str, str]] = Counter()
    for move in movements:
        visited[move.to_municipality] += 1
        if move.from_municipality and move.from_municipality != move.to_municipality:
            pairs[(move.network_id, move.from_municipality, move.to_municipality)] += 1
    for (network, origin, target), count in sorted(pairs.items()):
        if origin not in points or target not in points:
            continue
        (x1, y1), (x2, y2) = points[origin], points[target]
        # A slight curve, so that a move back and forth shows as two arrows.
        mx, my = (x1 + x2) / 2 + (y2 - y1) * 0.12, (y1 + y2) / 2 - (x2 - x1) * 0.12
        col = network_colours.get(network, "#555")
        label = f"{labels.get(network, network)}: {origin} → {target} ({count}×)"
        parts.append(
            f'<path d="M {x1:.1f} {y1:.1f} Q {mx:.1f} {my:.1f} {x2:.1f} {y2:.1f}" '
            f'stroke="{col}" stroke-width="{min(1.2 + count * 0.4, 4):.1f}" fill="none" '
            f'opacity="0.75" marker-end="url(#arrow-{escape(_css_id(network))})">'
            f"<title>{escape(label)}</title></path>"
        )
    for name, count in sorted(visited.items()):
        if name not in points:
            continue
        x, y = points[name]
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{min(3 + count, 8):.1f}" class="visited">'
            f"<title>{escape(name)} ({count})</title></circle>"
        )
    for name, _count in visited.most_common(12):
        if name in points:
            x, y = points[name]
            parts.append(
                f'<text x="{x + 6:.1f}" y="{y + 3:.1f}" class="map-label">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped names only


def _css_id(value: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in value)


def _level_counts(rows: Sequence[Row]) -> dict[str, int]:
    counts = Counter(str(level or "log") for level in column(rows, "risk_level"))
    return {level: counts.get(level, 0) for level in ("priority", "review", "log")}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("signaal.ads", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(
    result: AnalysisResult,
    tables: Tables,
    *,
    lang: str = "nl",
    indicators: IndicatorSet | None = None,
    generated_at: datetime | None = None,
    reveal_contacts: bool = False,
    pseudonym_key: str | None = None,
) -> str:
    """The HTML of the report (pure apart from ``generated_at``, which is shown as given).

    Contact points are masked in the ad texts and shown as pseudonyms, unless
    ``reveal_contacts``: then the ad texts are shown as written and every pseudonym with its
    clear value (which needs the ``pseudonym_key``), and the page says so at the top.
    """
    if reveal_contacts and pseudonym_key is None:
        raise ValueError("revealing contact points in the report needs the pseudonym key")
    strings = STRINGS["en" if lang == "en" else "nl"]
    clear_values = (
        contact_values_by_pseudonym(result.ads, pseudonym_key)
        if reveal_contacts and pseudonym_key is not None
        else {}
    )

    def masks(text: str, field: str) -> list[tuple[int, int, str]]:
        return [] if reveal_contacts else contact_spans(text, field)

    def free_text(value: str) -> str:
        """A field written by the ad's author (name, site, city) may hold a number too."""
        return value if reveal_contacts else mask_contacts(value, "field")

    definitions = indicators or default_indicators()
    names = {i.id: i.name(lang) for i in definitions.indicators}
    ads_by_persona: dict[str, list[NormalisedAd]] = defaultdict(list)
    for ad in result.ads:
        ads_by_persona[result.linkage.persona_of_ad[ad.id]].append(ad)
    times = [ad.posted_at for ad in result.ads]
    first, last = (min(times), max(times)) if times else (datetime.now(), datetime.now())

    def reasons_of(row: Row, score: Score | None, subject: str) -> list[Explained]:
        """The reasons in plain words (``signaal.ads.explain``), from the row's facts, whose
        contact points the tables masked; from the score when the row has none."""
        records = parse_reasons(str(row.get("reasons_json", "")))
        if records is None:
            records = [reason_record(r) for r in ordered_reasons(score.reasons)] if score else []
        return explain(
            records, lang=lang, subject=subject, indicators=definitions, reveal=clear_values
        )

    def persona_view(row: Row) -> dict[str, Any]:
        persona = str(row["persona_id"])
        ads = ads_by_persona.get(persona, [])
        ranked = sorted(
            ads,
            key=lambda a: (-sum(1 for h in result.hits.get(a.id, ()) if h.span), a.id),
        )
        examples = []
        for ad in ranked[:ADS_PER_PERSONA]:
            hits = result.hits.get(ad.id, ())
            examples.append(
                {
                    "id": ad.id,
                    "site": free_text(ad.record.site),
                    "posted_at": iso(ad.posted_at),
                    "municipality": ad.municipality or free_text(ad.record.city or "?"),
                    "title": marked_text(
                        ad.record.title,
                        [h for h in hits if h.field == "title"],
                        names,
                        masks(ad.record.title, "title"),
                    ),
                    "text": marked_text(
                        ad.record.text,
                        [h for h in hits if h.field == "text"],
                        names,
                        masks(ad.record.text, "text"),
                    ),
                    "other": [
                        f"{h.indicator_id} {names.get(h.indicator_id, '')}: {h.evidence}"
                        for h in hits
                        if h.field not in ("title", "text")
                    ],
                }
            )
        return {
            "row": row,
            "reasons": reasons_of(row, result.risk.personas.get(persona), "persona"),
            "municipalities": [m for m in str(row["municipalities"]).split(";") if m],
            "timeline": timeline_svg(stays(ads), first, last),
            "examples": examples,
            "names": sorted({free_text(a.record.name) for a in ads if a.record.name}),
        }

    # Only the rows shown are read: a table's row writes its reasons when read (see
    # ``outputs.ReasonedRowTable``), the rest is found from single columns.
    shown_networks = [i for i, n in enumerate(column(tables.networks, "n_ads")) if int(n or 0)]
    top_networks = [tables.networks[i] for i in shown_networks[:TOP_NETWORKS]]
    personas_of_network: dict[str, list[int]] = defaultdict(list)
    for index, network in enumerate(column(tables.personas, "network_id")):
        personas_of_network[str(network)].append(index)
    networks_view = []
    for row in top_networks:
        members = personas_of_network[str(row["network_id"])]
        networks_view.append(
            {
                "row": row,
                "reasons": reasons_of(
                    row, result.risk.networks.get(str(row["network_id"])), "network"
                ),
                "municipalities": [m for m in str(row["municipalities"]).split(";") if m],
                "contacts": [
                    (c, clear_values.get(c, "")) for c in str(row["contact_points"]).split(";") if c
                ][:8],
                "personas": [persona_view(tables.personas[i]) for i in members[:4]],
                "more": max(0, len(members) - 4),
            }
        )
    shown_personas = [persona_view(row) for row in tables.personas[:TOP_PERSONAS]]

    map_networks = [str(r["network_id"]) for r in top_networks[:MAP_NETWORKS]]
    network_colours = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(map_networks)}
    chosen = set(map_networks)
    map_moves = [m for m in result.movement.movements if m.network_id in chosen]
    quarantine_reasons = Counter(mask_raw_line(q.reason.split(":")[0]) for q in result.quarantined)

    template = _environment().get_template("report.html.j2")
    return template.render(
        s=strings,
        lang="en" if lang == "en" else "nl",
        source=result.source,
        generated=iso(generated_at) if generated_at else "",
        period=(iso(first)[:10], iso(last)[:10]),
        counts={
            "ads": len(result.ads),
            "personas": len(tables.personas),
            "networks": len(tables.networks),
            "links": len(tables.links),
            "quarantined": len(result.quarantined),
            "duplicates": result.stats.duplicates,
        },
        network_levels=_level_counts(tables.networks),
        persona_levels=_level_counts(tables.personas),
        networks=networks_view,
        personas=shown_personas,
        map_svg=movement_map_svg(map_moves, network_colours, {}),
        map_legend=[(n, network_colours[n]) for n in map_networks],
        quarantine=sorted(quarantine_reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        families=definitions.families,
        indicator_list=definitions.indicators,
        revealed=reveal_contacts,
    )


def write_report(
    result: AnalysisResult,
    tables: Tables,
    path: Path,
    *,
    lang: str = "nl",
    indicators: IndicatorSet | None = None,
    reveal_contacts: bool = False,
    pseudonym_key: str | None = None,
) -> Path:
    """Write ``report.html``; the page shows no clock time so that runs stay byte-identical.

    Masked by default; ``reveal_contacts`` (``signaal analyse --reveal-contacts``) writes the
    clear contact points into this file only, and the page says so.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(
        result,
        tables,
        lang=lang,
        indicators=indicators,
        reveal_contacts=reveal_contacts,
        pseudonym_key=pseudonym_key,
    )
    write_atomic(path, html)
    return path
