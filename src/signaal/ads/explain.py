"""Reasons in plain words: the one renderer of reason facts, for ``report.html`` and the web app.

A reason of a risk score is stored twice: as analyst text (``C01 +3: phone phone:8408… shared by
6 personas [ads …]``, the ``reasons`` column) and as facts (the ``reasons_json`` column, see
:func:`signaal.ads.outputs.reason_record`). This module turns the facts into sentences a
non-analyst reads, in Dutch (the default) or English, each with the indicator's label, its source
and a link to where the source is listed::

    Hetzelfde telefoonnummer ([06-•••••89]) staat in advertenties van 6 verschillende persona's.

Pure functions over plain data (JSON objects), so that the web app can explain what the store
holds without the pipeline. Privacy: a contact point is only ever shown in its masked form
(:mod:`signaal.privacy.masking`), unless the caller passes its clear value in ``reveal`` (a role
that may see it); evidence words are masked again (a contact point in them is replaced), ids and
pseudonyms are not put in the sentences: ``Explained.ad_id`` and ``Explained.contact`` carry them
for a page that links to the ad or offers the reveal flow. A reason without facts (a run stored
before the facts existed) is shown as its analyst text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signaal.ads.indicators import IndicatorSet, default_indicators
from signaal.ads.masking import mask_contacts

LANGUAGES = ("nl", "en")


@dataclass(frozen=True, slots=True)
class Explained:
    """One reason ready to show: what counted, in words, and what it adds."""

    indicator_id: str
    family: str  # lower case, for a CSS class
    points: str  # "+3", "0"
    label: str  # the indicator's name in the language
    sentence: str  # what was found, in plain words
    note: str  # the family cap or why it does not count; "" when nothing to add
    source: str  # where the indicator comes from (literature, police, hypothesis)
    href: str  # link to the indicator's entry in a list of indicators and sources
    ad_id: str | None  # the ad the cue was found in (for a link), never in ``sentence``
    contact: str | None  # pseudonym of a shared contact point (for the reveal flow)


_CONTACT_NOUN = {
    "nl": {
        "phone": "telefoonnummer",
        "email": "e-mailadres",
        "handle": "account",
        "website": "website",
    },
    "en": {
        "phone": "phone number",
        "email": "e-mail address",
        "handle": "account",
        "website": "website",
    },
}

_MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
#: "Hetzelfde telefoonnummer", "dezelfde website": Dutch needs the article of the noun.
_SAME_NL = {
    "phone": "Hetzelfde",
    "email": "Hetzelfde",
    "handle": "Hetzelfde",
    "website": "Dezelfde",
}

_SITUATION = {
    "nl": {
        "unlinked": "want er zijn geen verbanden met andere persona's",
        "stationary": "want de gekoppelde persona's verplaatsen zich niet",
    },
    "en": {
        "unlinked": "because there are no links to other personas",
        "stationary": "because the linked personas do not move",
    },
}


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def points_text(value: Any) -> str:
    """``+3``, ``+1.5``, ``-1`` or ``0``."""
    text = f"{float(value):+.2f}".rstrip("0").rstrip(".")
    return text if text not in ("+0", "-0") else "0"


def _day(iso_date: str | None, lang: str) -> str:
    if not iso_date or len(iso_date) < 10:
        return iso_date or ""
    year, month, day = iso_date[:4], int(iso_date[5:7]), int(iso_date[8:10])
    name = _MONTHS[lang][month - 1] if 1 <= month <= 12 else iso_date[5:7]
    return f"{day} {name} {year}"


def _listing(items: Sequence[str], lang: str, limit: int = 6) -> str:
    shown = list(items[:limit])
    more = len(items) - len(shown)
    if more > 0:
        rest = f"{more} andere" if lang == "nl" else f"{more} more"
        shown.append(rest)
    if len(shown) <= 1:
        return "".join(shown)
    word = " en " if lang == "nl" else " and "
    return ", ".join(shown[:-1]) + word + shown[-1]


def _plural(n: int, lang: str, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _personas(n: int, lang: str) -> str:
    return _plural(n, lang, "persona", "persona's" if lang == "nl" else "personas")


def _cue(record: Mapping[str, Any], lang: str, labels: Mapping[str, str]) -> str:
    field = str(record.get("field") or "")
    evidence = mask_contacts(str(record.get("evidence") or ""), "field")
    nl = lang == "nl"
    if field == "text":
        return (
            f"De tekst van een advertentie zegt: “{evidence}”."
            if nl
            else f"The text of an ad says: “{evidence}”."
        )
    if field == "title":
        return (
            f"De titel van een advertentie zegt: “{evidence}”."
            if nl
            else f"The title of an ad says: “{evidence}”."
        )
    if field == "age":
        return (
            f"De advertentie geeft een leeftijd van {evidence} jaar."
            if nl
            else f"The ad gives an age of {evidence}."
        )
    if field == "ad":  # a combination: "A04 + B01" in the words of the indicators
        evidence = _listing([labels.get(p.strip(), p.strip()) for p in evidence.split("+")], lang)
        return (
            f"In één advertentie komen deze signalen samen voor: {evidence}."
            if nl
            else f"These cues occur together in one ad: {evidence}."
        )
    if field:
        return (
            f"Het veld ‘{field}’ van een advertentie: “{evidence}”."
            if nl
            else f"The ‘{field}’ field of an ad: “{evidence}”."
        )
    return "Gevonden in een advertentie." if nl else "Found in an ad."


def _movement(indicator_id: str, record: Mapping[str, Any], lang: str) -> str:
    figures: Mapping[str, Any] = record.get("figures") or {}
    places = [str(p) for p in record.get("municipalities") or ()]
    start, end = _day(record.get("start"), lang), _day(record.get("end"), lang)
    period = ""
    if start and end:
        period = f" ({start} tot {end})" if lang == "nl" else f" ({start} to {end})"
    nl = lang == "nl"
    if indicator_id == "D01":
        n = int(figures.get("municipalities", len(places)))
        days = _number(figures.get("window_days", 30))
        where = f": {_listing(places, lang)}" if places else ""
        return (
            f"Geadverteerd in {n} gemeenten binnen {days} dagen{where}{period}."
            if nl
            else f"Advertised in {n} municipalities within {days} days{where}{period}."
        )
    if indicator_id == "D02":
        n = int(figures.get("personas", 2))
        m = int(figures.get("municipalities", len(places)))
        days = _number(figures.get("window_days", 3))
        where = f": {_listing(places, lang)}" if places else ""
        return (
            f"{_personas(n, lang)} van dit netwerk kwamen samen (binnen {days} dagen) aan in "
            f"{m} gemeenten{where}."
            if nl
            else f"{_personas(n, lang)} of this network arrived together (within {days} days) "
            f"in {m} municipalities{where}."
        )
    if indicator_id == "D03":
        active = int(figures.get("active_days", 0))
        span = int(figures.get("span_days", 0))
        return (
            f"Er stonden advertenties op {active} van de {span} dagen{period}, met tekst over "
            "dag en nacht beschikbaar zijn."
            if nl
            else f"Ads appeared on {active} of {span} days{period}, with wording about being "
            "available day and night."
        )
    if indicator_id == "D04":
        n = int(figures.get("personas", 0))
        regular = int(figures.get("regular", n))
        low, high = _number(figures.get("min_days", 7)), _number(figures.get("max_days", 14))
        return (
            f"Op één telefoon begonnen {n} persona's na elkaar, {regular} ervan telkens "
            f"{low} tot {high} dagen later{period}."
            if nl
            else f"{n} personas started one after another on one phone, {regular} of them "
            f"{low} to {high} days apart{period}."
        )
    return "Een patroon in de verplaatsingen." if nl else "A pattern in the movement."


def _sentence(
    record: Mapping[str, Any],
    lang: str,
    subject: str,
    reveal: Mapping[str, str],
    labels: Mapping[str, str],
) -> str:
    kind = str(record.get("kind") or "text")
    figures: Mapping[str, Any] = record.get("figures") or {}
    nl = lang == "nl"
    if kind == "cue":
        return _cue(record, lang, labels)
    if kind == "shared_contact":
        contact_kind = str(record.get("contact_kind"))
        if contact_kind not in _SAME_NL:
            contact_kind = "phone"
        noun = _CONTACT_NOUN[lang][contact_kind]
        contact = str(record.get("contact") or "")
        shown = reveal.get(contact) or record.get("masked")
        which = f" ({shown})" if shown else ""
        n = int(figures.get("personas", 2))
        return (
            f"{_SAME_NL[contact_kind]} {noun}{which} staat in advertenties van {n} "
            "verschillende persona's."
            if nl
            else f"The same {noun}{which} appears in ads of {n} different personas."
        )
    if kind == "shared_photo":
        n = int(figures.get("personas", 2))
        return (
            f"Dezelfde foto's worden gebruikt door {n} persona's van één netwerk."
            if nl
            else f"The same photos are used by {n} personas of one network."
        )
    if kind == "stolen_photo":
        n = int(figures.get("others", 1))
        return (
            f"Dezelfde foto's werden eerder gebruikt door {_personas(n, lang)} zonder ander "
            "verband: mogelijk gestolen foto's."
            if nl
            else f"The same photos were used earlier by {_personas(n, lang)} with no other "
            "link: possibly stolen photos."
        )
    if kind == "shared_template":
        n = int(figures.get("personas", 2))
        return (
            f"Bijna dezelfde advertentietekst wordt gebruikt door {n} persona's."
            if nl
            else f"Nearly the same ad text is used by {n} personas."
        )
    if kind == "network_size":
        n = int(figures.get("personas", 4))
        if subject == "network":
            return f"Dit netwerk telt {n} persona's." if nl else f"This network has {n} personas."
        return (
            f"Deze persona hoort bij een netwerk van {n} persona's."
            if nl
            else f"This persona belongs to a network of {n} personas."
        )
    if kind == "foreign_phone":
        prefixes = ", ".join(str(p) for p in record.get("prefixes") or ())
        which = f" ({prefixes}…)" if prefixes else ""
        return (
            f"Een buitenlands telefoonnummer{which} bij een advertentie in een Nederlandse "
            "gemeente."
            if nl
            else f"A foreign phone number{which} in an ad for a Dutch municipality."
        )
    if kind == "movement":
        return _movement(str(record.get("id")), record, lang)
    # No facts: a run stored before they existed, or a reason of an unknown kind.
    return mask_contacts(str(record.get("text") or ""), "field")


def _note(record: Mapping[str, Any], lang: str) -> str:
    points = float(record.get("points") or 0)
    nl = lang == "nl"
    if record.get("cap") is not None and record.get("uncapped") is not None:
        family = str(record.get("family") or "")
        cap = _number(record["cap"])
        note = (
            f"Telt voor {_number(points)} van de {_number(record['uncapped'])} punten: signalen "
            f"van familie {family} tellen samen hoogstens {cap} punten"
            if nl
            else f"Counts {_number(points)} of {_number(record['uncapped'])} points: cues of "
            f"family {family} count at most {cap} points together"
        )
        situation = _SITUATION[lang].get(str(record.get("situation") or ""))
        return note + (f", {situation}." if situation else ".")
    if points == 0:
        return (
            "Telt niet mee voor de score; het staat er zodat een mens het kan wegen."
            if nl
            else "Does not count towards the score; it is shown for a person to weigh."
        )
    return ""


def explain(
    records: Iterable[Mapping[str, Any]],
    *,
    lang: str = "nl",
    subject: str = "persona",
    indicators: IndicatorSet | None = None,
    href: str = "#indicator-{id}",
    reveal: Mapping[str, str] | None = None,
) -> list[Explained]:
    """The reasons (JSON objects of ``reasons_json``) explained, in their order.

    ``subject`` is "persona" or "network" (what "this" is in a sentence); ``href`` is the link to
    an indicator's source, with ``{id}`` for its id; ``reveal`` maps pseudonyms to the clear
    values the viewer may see (empty: every contact point masked).
    """
    language = lang if lang in LANGUAGES else "nl"
    definitions = (indicators or default_indicators()).by_id
    clear = reveal or {}
    labels = {key: d.name(language) for key, d in definitions.items()}
    explained: list[Explained] = []
    for record in records:
        indicator_id = str(record.get("id") or "")
        definition = definitions.get(indicator_id)
        explained.append(
            Explained(
                indicator_id=indicator_id,
                family=str(record.get("family") or indicator_id[:1]).lower(),
                points=points_text(record.get("points") or 0),
                label=definition.name(language) if definition else indicator_id,
                sentence=_sentence(record, language, subject, clear, labels),
                note=_note(record, language),
                source=definition.source if definition else "",
                href=href.format(id=indicator_id),
                ad_id=str(record["ad_id"]) if record.get("ad_id") else None,
                contact=str(record["contact"]) if record.get("contact") else None,
            )
        )
    return explained


def parse_reasons(text: str | None) -> list[dict[str, Any]] | None:
    """The reasons of a ``reasons_json`` cell; None for an empty or unreadable cell (then the
    caller shows the analyst text)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return None
    return data


def from_text(reasons: str) -> list[dict[str, Any]]:
    """Reasons of a run stored before the facts existed: one record per line or ``; `` part
    of the analyst text ("C01 +3: phone … shared by 6 personas"), shown as that text."""
    records: list[dict[str, Any]] = []
    parts = [p for line in reasons.splitlines() for p in line.split("; ")]
    for part in (p.strip() for p in parts):
        if not part:
            continue
        head, _, text = part.partition(": ")
        indicator_id, _, points = head.partition(" ")
        try:
            value = float(points) if points else 0.0
        except ValueError:
            indicator_id, value, text = "", 0.0, part
        if not text:
            indicator_id, text = "", part
        records.append(
            {"id": indicator_id, "family": indicator_id[:1], "points": value, "text": text}
        )
    return records
