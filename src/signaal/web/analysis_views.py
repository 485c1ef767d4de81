"""What the analysis pages show of a stored persona or network, built from the store's rows.

The reasons are explained by the one renderer of ``report.html`` (:mod:`signaal.ads.explain`),
the evidence in an ad's title and text is marked by the report's :func:`~signaal.ads.report.
marked_text` (the cues found again in the stored text with :func:`~signaal.ads.indicators.
text_hits`, kept to the indicators the analysis gave that ad) and the stays of the timeline are
the report's :func:`~signaal.ads.report.stays`.

Contact points: a stored text holds a pseudonym marker (``[phone:3f9a…]``) where the ad had a
contact point. On the page it becomes its masked form when a reason of the persona or network
names it (``06-•••••89``, from the facts), else the kind of contact point (``[telefoonnummer]``);
a role that may reveal contact points reveals one in the list below the ads (the existing flow).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from signaal.ads.explain import Explained, explain, from_text, parse_reasons
from signaal.ads.indicators import IndicatorSet, default_indicators, text_hits
from signaal.ads.report import Segment, marked_text, stays
from signaal.store.analysis import AdResult
from signaal.web.routes.contacts import PSEUDONYM_MARKER

INDICATORS_PAGE = "/analyse/indicatoren#indicator-{id}"

_KIND_WORD = {
    "nl": {"phone": "telefoonnummer", "email": "e-mailadres", "handle": "account"},
    "en": {"phone": "phone number", "email": "e-mail address", "handle": "account"},
}


def reason_records(reasons_json: str | None, reasons: str) -> list[dict[str, Any]]:
    """The facts of a stored persona or network; the analyst text for runs stored before them."""
    records = parse_reasons(reasons_json)
    return records if records is not None else from_text(reasons)


def explained_reasons(
    reasons_json: str | None,
    reasons: str,
    *,
    lang: str,
    subject: str,
    indicators: IndicatorSet | None = None,
) -> list[Explained]:
    return explain(
        reason_records(reasons_json, reasons),
        lang=lang,
        subject=subject,
        indicators=indicators,
        href=INDICATORS_PAGE,
    )


def masked_forms(*record_lists: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Pseudonym -> masked form, of every contact point the reasons name."""
    found: dict[str, str] = {}
    for records in record_lists:
        for record in records:
            contact, masked = record.get("contact"), record.get("masked")
            if isinstance(contact, str) and isinstance(masked, str):
                found[contact] = masked
    return found


@dataclass(frozen=True)
class MarkedAd:
    ad: AdResult
    title: Markup
    text: Markup
    labels: list[tuple[str, str, str]]  # (indicator id, family, name) of the ad's indicators


def _marker_masks(text: str, masked: Mapping[str, str], lang: str) -> list[tuple[int, int, str]]:
    words = _KIND_WORD["en" if lang == "en" else "nl"]
    masks = []
    for match in PSEUDONYM_MARKER.finditer(text):
        name = match.group(1)
        shown = masked.get(name) or words.get(name.partition(":")[0], "website")
        masks.append((match.start(), match.end(), f"[{shown}]"))
    return masks


def marked_ads(
    ads: Sequence[AdResult],
    *,
    lang: str,
    masked: Mapping[str, str],
    indicators: IndicatorSet | None = None,
) -> list[MarkedAd]:
    """Each ad with the evidence of its indicators marked and its contact points masked."""
    definitions = indicators or default_indicators()
    by_id = definitions.by_id
    names = {key: d.name(lang) for key, d in by_id.items()}
    result = []
    for ad in ads:
        wanted = set(ad.indicators)
        fields = {}
        for field in ("title", "text"):
            value = getattr(ad, field) or ""
            hits = [h for h in text_hits(field, value, lang) if h.indicator_id in wanted]
            fields[field] = marked_text(value, hits, names, _marker_masks(value, masked, lang))
        labels = [
            (
                key,
                by_id[key].family.lower() if key in by_id else key[:1].lower(),
                names.get(key, key),
            )
            for key in ad.indicators
        ]
        result.append(MarkedAd(ad, fields["title"], fields["text"], labels))
    return result


@dataclass(frozen=True)
class _Placed:
    """An ad as :func:`signaal.ads.report.stays` reads it."""

    id: str
    posted_at: datetime
    municipality: str | None


def ad_stays(ads: Sequence[AdResult]) -> list[Segment]:
    """The persona's stays: consecutive ads in one municipality, in time order."""
    placed = [_Placed(a.ad_id, a.posted_at, a.municipality) for a in ads if a.posted_at]
    return stays(placed)
