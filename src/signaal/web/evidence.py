"""Evidence reports: one persona or network of a stored run as HTML and as PDF, byte for byte
reproducible.

A report holds what a police file or a case conference needs and nothing the page would not
show: a header (organisation, who exported, when, the run and the versions of the analysis),
the reasons in plain words (:mod:`signaal.ads.explain`, Dutch or English), every ad as the run
stores it (title, text, site, municipality, posted time, risk, indicators and the SHA-256 of
the stored ad, :func:`ad_content_sha256`), the contact points, and what the document is and is
not ("signals, not proof; a person decides").

**Same inputs, same bytes.** Everything printed comes from the store, the exporting user and
the export moment, which the caller passes in (the web app's ``WebState.clock``): no
``now()`` here. The HTML is a Jinja template of the web renderer (autoescaped; no script, no
inline style: it links ``/static/css/evidence.css``, so the CSP holds when it is served). The
PDF is WeasyPrint's rendering of exactly those HTML bytes, with

* the creation and modification dates of the PDF set from the export moment
  (``<meta name="dcterms.created">``, ``dcterms.modified``),
* the PDF file identifier set from the SHA-256 of the HTML (``pdf_identifier``; WeasyPrint's
  default has none, and a PDF/A or PDF/X variant would add a random XMP document id, so none
  is used),
* fonts named by file: DejaVu Sans, Sans Bold and Sans Mono of Debian's ``fonts-dejavu-core``
  (``FONT_FILES``), embedded as subsets; a missing file is a :class:`ConfigurationError`, never
  a silent fallback to whatever fontconfig finds,
* a URL fetcher that serves only the stylesheet and those font files and refuses every other
  URL (an ad's text is escaped and can name none, but a report must not depend on a network).

The bytes then depend on the inputs and the locked versions of WeasyPrint, pydyf, fontTools
and Pango (page layout), and on the font files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from markupsafe import Markup, escape

from signaal import __version__
from signaal.ads.explain import Explained, explain
from signaal.ads.indicators import IndicatorSet, default_indicators
from signaal.ads.masking import mask_raw_line
from signaal.errors import ConfigurationError
from signaal.store.analysis import AdResult, NetworkResult, PersonaResult
from signaal.store.ingested import Received
from signaal.store.models import AnalysisRun
from signaal.web import analysis_views
from signaal.web.i18n import N_, translations_for
from signaal.web.rendering import STATIC_DIR, WEB_DIR, Renderer
from signaal.web.routes.analysis import RISK_LEVELS
from signaal.web.routes.contacts import PSEUDONYM_MARKER

Kind = Literal["persona", "network"]
Format = Literal["html", "pdf"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: The fonts a PDF embeds (Debian package fonts-dejavu-core), by CSS family and weight.
FONT_FILES: dict[str, Path] = {
    "regular": FONT_DIR / "DejaVuSans.ttf",
    "bold": FONT_DIR / "DejaVuSans-Bold.ttf",
    "mono": FONT_DIR / "DejaVuSansMono.ttf",
}
STYLESHEET_PATH = "/static/css/evidence.css"
PDF_STYLESHEET = WEB_DIR / "evidence_pdf.css"
# The base of the report's URLs when WeasyPrint reads it; it names no host that answers.
BASE_URL = "https://signaal.invalid/"
#: A network report lists at most this many ads (newest first) and says how many it left out.
MAX_ADS = 500
# The running page numbers of a PDF ("Pagina 3 van 12").
PAGE_NUMBERS = N_("Page {page} of {pages}")


# Characters that reorder or hide text (bidirectional overrides and isolates, marks, zero-width
# characters): in a report each is shown as its code point, so that an ad cannot make its text
# read differently from what it stores.
_CONTROLS = frozenset(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C, 0xFEFF]
)


def visible_controls(markup: Markup) -> Markup:
    """``markup`` with each reordering or invisible character replaced by ``[U+202E]``."""
    text = str(markup)
    if not any(ord(c) in _CONTROLS for c in text):
        return markup
    shown = "".join(
        f'<span class="control">[U+{ord(c):04X}]</span>' if ord(c) in _CONTROLS else c for c in text
    )
    return Markup(shown)  # noqa: S704 - the escaped markup with plain ASCII spans added


_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_CHARACTER = re.compile(r"&#?\w+;|.", re.DOTALL)  # an entity of the escaped text, or one character
#: The longest run of non-space characters the report prints without a place to break it.
BREAK_EVERY = 64


def breakable(markup: Markup) -> Markup:
    """``markup`` with a ``<wbr>`` after every :data:`BREAK_EVERY` characters of a run without a
    space (outside tags and entities): a long word or URL wraps, and WeasyPrint's line breaking,
    which is quadratic in the length of an unbreakable run (25 s for 20,000 characters, minutes
    for the 100,000 an ad may hold), stays linear."""
    pieces: list[str] = []
    for part in _TAG_OR_TEXT.split(str(markup)):
        if part.startswith("<"):
            pieces.append(part)
            continue
        run = 0
        for token in _CHARACTER.findall(part):
            run = 0 if token.isspace() else run + 1
            pieces.append(token)
            if run >= BREAK_EVERY:
                pieces.append("<wbr>")
                run = 0
    return Markup("".join(pieces))  # noqa: S704 - the escaped markup with <wbr> added


def ad_content_sha256(ad: AdResult) -> str:
    """SHA-256 of one ad as the run stores it: a canonical JSON object (sorted keys, no spaces,
    UTF-8) of its id, site, municipality, posted time (ISO 8601, UTC) and its title and text
    with their contact points as pseudonym markers. Whoever holds the run can compute it again
    and see that the report shows the stored ad unchanged."""
    posted = ad.posted_at
    if posted is not None and posted.tzinfo is None:
        posted = posted.replace(tzinfo=UTC)
    content = {
        "ad_id": ad.ad_id,
        "site": ad.site,
        "municipality": ad.municipality,
        "posted_at": posted.astimezone(UTC).isoformat() if posted else None,
        "title": ad.title,
        "text": ad.text,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Exporter:
    """Who exports, as the header prints it."""

    name: str
    email: str
    role: str  # the role's label in the report's language
    organisation: str


@dataclass(frozen=True)
class EvidenceAd:
    number: int
    ad: AdResult
    title: Markup
    text: Markup
    labels: list[tuple[str, str, str]]
    sha256: str
    #: How the ad was received (``signaal ingest``), its URL with contact points masked; None
    #: for an ad that came by ``signaal analyse --store``.
    received: Received | None = None


@dataclass(frozen=True)
class EvidenceContact:
    pseudonym: str
    shown: str  # the clear value (revealed), the masked form a reason names, or ""
    revealed: bool


@dataclass(frozen=True)
class EvidencePersona:
    persona: PersonaResult
    reasons: list[Explained]


@dataclass(frozen=True)
class EvidenceReport:
    """Everything a report prints; :func:`render_html` turns it into bytes."""

    kind: Kind
    item_id: str
    lang: str
    exporter: Exporter
    exported_at: datetime
    purpose: str  # the stated purpose, in words
    run: AnalysisRun
    risk_score: int
    reasons: list[Explained]
    network: NetworkResult | None
    personas: list[EvidencePersona]  # a network's personas; empty for a persona
    ads: list[EvidenceAd]
    n_ads_total: int
    contacts: list[EvidenceContact]
    indicators_version: int

    @property
    def software_version(self) -> str:
        return __version__

    @property
    def n_revealed(self) -> int:
        return sum(1 for c in self.contacts if c.revealed)


def contact_pseudonyms(ads: Iterable[AdResult], extra: Iterable[str] = ()) -> list[str]:
    """The pseudonyms in the ads' titles and texts, then the other ones ``extra`` names (a
    network's contact fields), each once, in order of first appearance."""
    found: dict[str, None] = {}
    for ad in ads:
        for text in (ad.title, ad.text):
            for match in PSEUDONYM_MARKER.finditer(text or ""):
                found.setdefault(match.group(1), None)
    for name in extra:
        found.setdefault(name, None)
    return list(found)


def build_report(
    *,
    kind: Kind,
    item_id: str,
    lang: str,
    exporter: Exporter,
    exported_at: datetime,
    purpose: str,
    run: AnalysisRun,
    risk_score: int,
    reason_records: Sequence[Mapping[str, Any]],
    network: NetworkResult | None,
    personas: Sequence[tuple[PersonaResult, Sequence[Mapping[str, Any]]]],
    ads: Sequence[AdResult],
    n_ads_total: int,
    pseudonyms: Sequence[str],
    masked: Mapping[str, str],
    revealed: Mapping[str, str],
    indicators: IndicatorSet | None = None,
    received: Mapping[str, Received] | None = None,
) -> EvidenceReport:
    """The report of one persona or network. ``masked`` maps pseudonyms to the masked forms the
    reasons name; ``revealed`` to the clear values the exporter may see (empty for a role
    without ``contacts.reveal``): a revealed value replaces its marker in the texts and the
    reasons, every other contact point stays masked."""
    definitions = indicators or default_indicators()
    href = "#indicator-{id}"
    shown_in_text = {**masked, **revealed}
    marked = analysis_views.marked_ads(ads, lang=lang, masked=shown_in_text, indicators=definitions)
    return EvidenceReport(
        kind=kind,
        item_id=item_id,
        lang=lang,
        exporter=exporter,
        exported_at=exported_at,
        purpose=purpose,
        run=run,
        risk_score=risk_score,
        reasons=explain(
            reason_records,
            lang=lang,
            subject=kind,
            indicators=definitions,
            href=href,
            reveal=revealed,
        ),
        network=network,
        personas=[
            EvidencePersona(
                persona,
                explain(
                    records,
                    lang=lang,
                    subject="persona",
                    indicators=definitions,
                    href=href,
                    reveal=revealed,
                ),
            )
            for persona, records in personas
        ],
        ads=[
            EvidenceAd(
                i,
                m.ad,
                breakable(visible_controls(m.title)),
                breakable(visible_controls(m.text)),
                m.labels,
                ad_content_sha256(m.ad),
                _masked_url((received or {}).get(m.ad.ad_id)),
            )
            for i, m in enumerate(marked, start=1)
        ],
        n_ads_total=n_ads_total,
        contacts=[
            EvidenceContact(
                name,
                revealed.get(name) or masked.get(name, ""),
                name in revealed,
            )
            for name in pseudonyms
        ],
        indicators_version=definitions.version,
    )


def _masked_url(found: Received | None) -> Received | None:
    """The received facts with every contact point in the URL masked (a site's address can
    hold the phone number; the report shows contact points only as the contact list does)."""
    if found is None:
        return None
    return replace(found, url=mask_raw_line(found.url))


def utc_text(value: datetime | None) -> str:
    """``2026-03-01 09:00:00 UTC``: a report prints every moment in UTC, to the second."""
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_html(renderer: Renderer, report: EvidenceReport) -> bytes:
    """The report as a standalone HTML document (UTF-8)."""
    locale = "en" if report.lang == "en" else "nl"
    text = renderer.render_text(
        locale,
        "evidence.html",
        {
            "report": report,
            "utc": utc_text,
            "stylesheet": STYLESHEET_PATH,
            "created": report.exported_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "risk_levels": RISK_LEVELS,
            "shown": lambda value: visible_controls(escape(value or "")),
        },
    )
    return text.encode("utf-8")


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal."""
    escaped = "".join(c if c.isalnum() or c in " .,:-" else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def pdf_stylesheet(lang: str, running_title: str) -> str:
    """The print rules (page size, margins, running header, page numbers, fonts) for WeasyPrint.
    Page numbers read "Pagina 3 van 12" in Dutch, "Page 3 of 12" in English."""
    for path in FONT_FILES.values():
        if not path.is_file():
            raise ConfigurationError(
                f"the evidence PDF embeds {path}, which is missing: install Debian's "
                "fonts-dejavu-core (./dev setup does)"
            )
    words = translations_for("en" if lang == "en" else "nl").gettext(PAGE_NUMBERS)
    before, _, rest = words.partition("{page}")
    middle, _, after = rest.partition("{pages}")
    numbers = (
        f"{_css_string(before)} counter(page) {_css_string(middle)} counter(pages) "
        f"{_css_string(after)}"
    )
    template = PDF_STYLESHEET.read_text(encoding="utf-8")
    return (
        template.replace("{font_regular}", FONT_FILES["regular"].as_uri())
        .replace("{font_bold}", FONT_FILES["bold"].as_uri())
        .replace("{font_mono}", FONT_FILES["mono"].as_uri())
        .replace("{page_numbers}", numbers)
        .replace("{running_title}", _css_string(running_title))
    )


def render_pdf(html: bytes, *, lang: str, running_title: str, identifier: str) -> bytes:
    """WeasyPrint's PDF of ``html`` (see the module docstring for what makes it reproducible).
    ``identifier`` (hex) becomes the PDF's file identifier."""
    # Imported here: WeasyPrint loads Pango when imported, which only the PDF needs.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    from weasyprint.urls import (  # type: ignore[import-untyped]
        FatalURLFetchingError,
        URLFetcher,
        URLFetcherResponse,
    )

    allowed_files = {
        BASE_URL.rstrip("/") + STYLESHEET_PATH: (
            STATIC_DIR / STYLESHEET_PATH.removeprefix("/static/"),
            "text/css",
        ),
        **{path.as_uri(): (path, "font/ttf") for path in FONT_FILES.values()},
    }

    class OnlyOwnFiles(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> object:
            known = allowed_files.get(url)
            if known is None:
                raise FatalURLFetchingError(f"the evidence PDF fetches no {url[:80]!r}")
            path, media_type = known
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": media_type}
            )

    fetcher = OnlyOwnFiles()
    document = HTML(string=html.decode("utf-8"), base_url=BASE_URL, url_fetcher=fetcher)
    stylesheet = CSS(string=pdf_stylesheet(lang, running_title), url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(
        stylesheets=[stylesheet],
        pdf_identifier=identifier.encode("ascii"),
        uncompressed_pdf=False,
    )
    return pdf
