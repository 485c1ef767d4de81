"""Indicators: named, sourced cues per ad, each hit with its evidence (a pure function per ad).

The indicators are data (``indicators.json``: id, family, names, weight, basis, source, patterns);
this module only interprets them. All text patterns of all indicators are folded like ad texts
(``text.fold``) and compiled into ONE Aho-Corasick automaton, so an ad is scanned once per field
whatever the number of patterns. A match counts only on word boundaries of the folded text, and
its span is mapped back to the original text, so ``field_text[start:end]`` is the evidence;
evidence that covers a contact point carries it masked (``[06-•••••89]``, see
:mod:`signaal.privacy.masking`), never as the ad wrote it.

Besides text patterns, a few rules read the normalised ad: A09 from contact points written in an
obscured form, B01 from the age field, B02 when the fields contradict the text, E01 when youth
language (A04) and a stated age of 18-20 (B01) occur together. A10 also has a corpus-level rule
(a price far below the municipal median): :func:`price_hits` runs it over all ads at once.
Families C and D are computed by the link and movement stages; family F belongs to the
registration module.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import ahocorasick

from signaal.ads.contacts import contacts_in_text
from signaal.ads.masking import contact_spans, masked_evidence
from signaal.ads.text import Folded, fold, fold_pattern, is_word_char
from signaal.ads.types import ContactPoint, IndicatorHit, NormalisedAd
from signaal.geo import resolve_place


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    name_nl: str
    name_en: str
    cap: float | None  # most points the family adds to a score; None = not capped
    escalates: str | None = None  # a level the family raises a score to (E: "review")


@dataclass(frozen=True, slots=True)
class Band:
    level: str
    min: float | None
    max: float | None


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    family: str
    name_nl: str
    name_en: str
    weight: float | None  # None for a flag (family E, F06)
    flag: bool
    basis: tuple[str, ...]
    source: str
    rule: str  # "text", "field:age", "field:contradiction", "link", "movement", ...
    languages: tuple[str, ...]
    patterns: Mapping[str, tuple[str, ...]]
    note: str = ""
    # Pattern language -> ad languages in which patterns of that language count (A11: English
    # "only English" is a mismatch only in a Dutch ad). Languages not listed always count.
    requires_language: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Words that, right before a match, make it something else ("22 jaar jong" is an idiom).
    not_after: tuple[str, ...] = ()  # "#number": any number ("20 jong")
    # Words that, right after a match, make it something else ("Friese van afkomst" restates
    # the origin field; it is not a selling point).
    not_before: tuple[str, ...] = ()
    place_after: tuple[str, ...] = ()
    age_range: tuple[int, int] | None = None
    requires: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        return 0.0 if self.weight is None else float(self.weight)

    def name(self, lang: str = "nl") -> str:
        return self.name_en if lang == "en" else self.name_nl


@dataclass(frozen=True, slots=True)
class IndicatorSet:
    """The indicator definitions, the family caps and the score bands."""

    indicators: tuple[Indicator, ...]
    families: Mapping[str, Family]
    bands: tuple[Band, ...]
    version: int

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)

    @property
    def by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}


def _indicator(raw: Mapping[str, Any]) -> Indicator:
    age_range = raw.get("age_range")
    return Indicator(
        id=raw["id"],
        family=raw["family"],
        name_nl=raw["name_nl"],
        name_en=raw["name_en"],
        weight=None if raw.get("weight") is None else float(raw["weight"]),
        flag=bool(raw.get("flag", False)),
        basis=tuple(raw["basis"]),
        source=raw["source"],
        rule=raw.get("rule", "text"),
        languages=tuple(raw.get("languages", ())),
        patterns={lang: tuple(p) for lang, p in raw.get("patterns", {}).items()},
        note=raw.get("note", ""),
        requires_language={
            lang: tuple(allowed) for lang, allowed in raw.get("requires_language", {}).items()
        },
        not_after=tuple(raw.get("not_after", ())),
        not_before=tuple(fold_pattern(p) for p in raw.get("not_before", ())),
        place_after=tuple(raw.get("place_after", ())),
        age_range=(int(age_range[0]), int(age_range[1])) if age_range else None,
        requires=tuple(raw.get("requires", ())),
    )


def parse_indicator_set(document: Mapping[str, Any]) -> IndicatorSet:
    families = {
        key: Family(key, f["name_nl"], f["name_en"], f.get("cap"), f.get("escalates"))
        for key, f in document["families"].items()
    }
    indicators = tuple(_indicator(raw) for raw in document["indicators"])
    ids = [i.id for i in indicators]
    if len(ids) != len(set(ids)):
        raise ValueError("indicator ids must be unique")
    for indicator in indicators:
        if indicator.family not in families:
            raise ValueError(f"{indicator.id}: unknown family {indicator.family!r}")
    bands = tuple(Band(b["level"], b.get("min"), b.get("max")) for b in document["bands"])
    return IndicatorSet(indicators, families, bands, int(document.get("version", 1)))


def load_indicators(path: Path | None = None) -> IndicatorSet:
    """The indicator set from ``path``, or the one shipped with Signaal."""
    if path is None:
        return default_indicators()
    return parse_indicator_set(json.loads(path.read_text("utf-8")))


@cache
def default_indicators() -> IndicatorSet:
    text = resources.files("signaal.ads").joinpath("indicators.json").read_text("utf-8")
    return parse_indicator_set(json.loads(text))


@dataclass(frozen=True, slots=True)
class _Entry:
    indicator_id: str
    prefix: bool  # the pattern ended in "*": no word boundary needed after it
    place_after: bool  # counts only when a place name follows ("nieuw in Utrecht")
    language: str  # the language of the pattern


class Matcher:
    """All text patterns of an indicator set in one Aho-Corasick automaton over folded text."""

    def __init__(self, indicators: IndicatorSet) -> None:
        self.indicators = indicators
        entries: dict[str, list[_Entry]] = defaultdict(list)
        for indicator in indicators.indicators:
            place_after = {fold_pattern(p) for p in indicator.place_after}
            for language, patterns in indicator.patterns.items():
                for pattern in patterns:
                    prefix = pattern.endswith("*")
                    folded = fold_pattern(pattern.rstrip("*"))
                    if not folded:
                        continue
                    entry = _Entry(indicator.id, prefix, folded in place_after, language)
                    if entry not in entries[folded]:
                        entries[folded].append(entry)
        self._automaton = ahocorasick.Automaton()
        for folded, items in sorted(entries.items()):
            self._automaton.add_word(folded, (len(folded), tuple(items)))
        self._automaton.make_automaton()
        self.by_id = indicators.by_id
        self.combinations = tuple(
            i for i in indicators.indicators if i.rule == "combination" and i.requires
        )
        self.scan_cache: dict[tuple[str, str, str], tuple[tuple[IndicatorHit, str | None], ...]]
        self.scan_cache = {}

    def matches(self, folded: Folded) -> list[tuple[str, int, int, bool, str]]:
        """(indicator id, folded start, folded end, place_after, language) of bounded matches."""
        text = folded.text
        length = len(text)
        found: list[tuple[str, int, int, bool, str]] = []
        for last, (size, entries) in self._automaton.iter(text):
            start = last - size + 1
            end = last + 1
            if is_word_char(text[start]) and start > 0 and is_word_char(text[start - 1]):
                continue
            right_open = end < length and is_word_char(text[end]) and is_word_char(text[last])
            for entry in entries:
                if right_open and not entry.prefix:
                    continue
                found.append((entry.indicator_id, start, end, entry.place_after, entry.language))
        return found

    def __reduce__(self) -> tuple[type[Matcher], tuple[IndicatorSet]]:
        # Rebuilt in a worker process rather than pickled: the automaton is cheap to build.
        return (Matcher, (self.indicators,))


@cache
def default_matcher() -> Matcher:
    return Matcher(default_indicators())


# A place name after "nieuw in": capitalised words, with the small words of Dutch place names
# between them ("Dijk en Waard", "Wijk bij Duurstede", "Bergen op Zoom", "'s-Hertogenbosch").
_PLACE_AFTER_RE = re.compile(
    r"[ \t]+((?:'s-|'t )?[A-Z][\w'-]*(?:[ -](?:(?:en|aan|bij|op|de|den|der|van|ter|ten|in|"
    r"a/d)[ -])?[A-Z][\w'-]*){0,3})"
)


def _excluded_before(text: str, start: int, words: tuple[str, ...]) -> bool:
    word = _word_before(text, start)
    return word in words or ("#number" in words and word.isdigit())


def _excluded_after(text: str, end: int, phrases: tuple[str, ...]) -> bool:
    following = text[end : end + 40].lstrip(" ,-")
    return any(
        following.startswith(phrase)
        and (len(following) == len(phrase) or not is_word_char(following[len(phrase)]))
        for phrase in phrases
    )


def _word_before(text: str, start: int) -> str:
    end = start
    while end > 0 and text[end - 1] == " ":
        end -= 1
    begin = end
    while begin > 0 and is_word_char(text[begin - 1]):
        begin -= 1
    return text[begin:end]


def _place_after(text: str, position: int) -> tuple[str, int] | None:
    """The longest known place right after ``position`` and where it ends."""
    match = _PLACE_AFTER_RE.match(text, position)
    if match is None:
        return None
    words = match.group(1)
    base = match.start(1)
    cut = len(words)
    while cut > 0:
        candidate = words[:cut].rstrip(" -")
        if candidate and candidate[-1].isalpha() and _municipality_of(candidate) is not None:
            return candidate, base + len(candidate)
        space = max(words.rfind(" ", 0, cut), words.rfind("-", 0, cut))
        if space <= 0:
            return None
        cut = space
    return None


@lru_cache(maxsize=65536)
def _municipality_of(place: str) -> str | None:
    found = resolve_place(place)
    return found.name if found else None


_SCAN_CACHE_SIZE = 100_000


def _scan_field(
    ad: NormalisedAd,
    field: str,
    text: str,
    matcher: Matcher,
    hits: list[IndicatorHit],
    places: list[tuple[str, IndicatorHit]],
) -> None:
    if not text:
        return
    # Cached per text: reposted ads repeat their title and text word for word.
    key = (text, field, ad.language)
    found = matcher.scan_cache.get(key)
    if found is None:
        found = _scan_text(field, text, ad.language, matcher)
        if len(matcher.scan_cache) >= _SCAN_CACHE_SIZE:
            matcher.scan_cache.clear()
        matcher.scan_cache[key] = found
    for hit, place in found:
        hits.append(hit)
        if place is not None:
            places.append((place, hit))


def _scan_text(
    field: str, text: str, language: str, matcher: Matcher
) -> tuple[tuple[IndicatorHit, str | None], ...]:
    folded = fold(text)
    by_id = matcher.by_id
    chosen: dict[str, list[tuple[int, int]]] = defaultdict(list)
    found: list[tuple[IndicatorHit, str | None]] = []
    # Longest match first, so that "24 uur per dag" wins over "24 uur" inside it.
    candidates = sorted(matcher.matches(folded), key=lambda m: (m[1], -(m[2] - m[1]), m[0]))
    for indicator_id, start, end, place_after, pattern_language in candidates:
        indicator = by_id[indicator_id]
        allowed = indicator.requires_language.get(pattern_language)
        if allowed is not None and language not in allowed:
            continue
        if indicator.not_after and _excluded_before(folded.text, start, indicator.not_after):
            continue
        if indicator.not_before and _excluded_after(folded.text, end, indicator.not_before):
            continue
        spans = chosen[indicator_id]
        if any(start < e and s < end for s, e in spans):
            continue
        original_start, original_end = folded.original_span(start, end)
        place = None
        if place_after:
            after = _place_after(text, original_end)
            if after is None:
                continue
            place, original_end = after
        spans.append((start, end))
        hit = IndicatorHit(
            indicator_id,
            indicator.family,
            indicator.points,
            field,
            (original_start, original_end),
            text[original_start:original_end],
        )
        found.append((hit, place))
    if found:
        contacts = contacts_in_text(text, field)
        if contacts and any(
            hit.span is not None and _overlaps_contact(hit.span, contacts) for hit, _ in found
        ):
            masked = _mask_contact_evidence({field: text}, [hit for hit, _ in found])
            found = [(hit, place) for hit, (_, place) in zip(masked, found, strict=True)]
    return tuple(found)


def text_hits(
    field: str, text: str, language: str = "nl", matcher: Matcher | None = None
) -> tuple[IndicatorHit, ...]:
    """The wording cues of one title or text, with their spans: what :func:`detect` finds in
    that field (without the cues that need the whole ad, such as A09 or B02). For pages that
    mark the evidence in a stored text (the web app's persona page)."""
    if not text:
        return ()
    return tuple(hit for hit, _ in _scan_text(field, text, language, matcher or default_matcher()))


def detect(ad: NormalisedAd, matcher: Matcher | None = None) -> tuple[IndicatorHit, ...]:
    """Every indicator found in one ad, with its evidence; sorted by field, position and id."""
    matcher = matcher or default_matcher()
    by_id = matcher.by_id
    record = ad.record
    hits: list[IndicatorHit] = []
    places: list[tuple[str, IndicatorHit]] = []
    _scan_field(ad, "title", record.title, matcher, hits, places)
    _scan_field(ad, "text", record.text, matcher, hits, places)
    scanned = len(hits)

    # A09: a contact point the text hid from scrapers (spaced digits, letters, digit words).
    a09 = by_id.get("A09")
    if a09 is not None:
        for contact in ad.contacts:
            in_text = contact.source in ("text", "title")
            if contact.obscured and contact.span is not None and in_text:
                field_text = record.text if contact.source == "text" else record.title
                start, end = contact.span
                if not _overlaps_hit(hits, "A09", contact.source, start, end):
                    hits.append(
                        IndicatorHit(
                            "A09",
                            "A",
                            a09.points,
                            contact.source,
                            contact.span,
                            field_text[start:end],
                        )
                    )

    b01 = by_id.get("B01")
    if b01 is not None and b01.age_range and record.age is not None:
        low, high = b01.age_range
        if low <= record.age <= high:
            hits.append(IndicatorHit("B01", "B", b01.points, "age", None, str(record.age)))

    b02 = by_id.get("B02")
    if b02 is not None:
        hits.extend(_contradictions(ad, b02, places))

    if matcher.combinations:
        present = {h.indicator_id for h in hits}
    for indicator in matcher.combinations:
        if all(required in present for required in indicator.requires):
            hits.append(
                IndicatorHit(
                    indicator.id,
                    indicator.family,
                    indicator.points,
                    "ad",
                    None,
                    " + ".join(indicator.requires),
                )
            )
    # The text cues come masked from the (cached) scan; the ones made here from the ad (A09, B02)
    # are masked now.
    if any(h.span is not None and h.field in _TEXT_FIELDS for h in hits[scanned:]):
        fields = {"title": record.title, "text": record.text}
        hits[scanned:] = _mask_contact_evidence(fields, hits[scanned:])
    hits.sort(key=_hit_order)
    return tuple(hits)


_TEXT_FIELDS = ("title", "text")


def _mask_contact_evidence(
    fields: Mapping[str, str], hits: list[IndicatorHit]
) -> list[IndicatorHit]:
    """The hits with evidence that covers a contact point masked (A09's evidence is a contact
    point; a wording cue can overlap one). Every occurrence of every contact point counts, not
    only the first one that ``ad.contacts`` keeps. The span still says where the cue is."""
    found = {name: contacts_in_text(value, name) for name, value in fields.items()}
    masks: dict[str, list[tuple[int, int, str]]] = {}
    out: list[IndicatorHit] = []
    for hit in hits:
        contacts = found.get(hit.field)
        span = hit.span
        if contacts and span is not None and _overlaps_contact(span, contacts):
            spans = masks.get(hit.field)
            if spans is None:
                spans = masks[hit.field] = contact_spans(fields[hit.field], hit.field)
            evidence = masked_evidence(fields[hit.field], span[0], span[1], spans)
            if evidence is not None:
                hit = replace(hit, evidence=evidence)
        out.append(hit)
    return out


def _overlaps_contact(span: tuple[int, int], contacts: Iterable[ContactPoint]) -> bool:
    start, end = span
    for contact in contacts:
        where = contact.span
        if where is not None and where[0] < end and start < where[1]:
            return True
    return False


def _hit_order(hit: IndicatorHit) -> tuple[int, int, str, str]:
    field_rank = {"title": 0, "text": 1}.get(hit.field, 2)
    return field_rank, hit.span[0] if hit.span else -1, hit.indicator_id, hit.field


def _overlaps_hit(
    hits: Iterable[IndicatorHit], indicator_id: str, field: str, start: int, end: int
) -> bool:
    return any(
        h.indicator_id == indicator_id
        and h.field == field
        and h.span is not None
        and h.span[0] < end
        and start < h.span[1]
        for h in hits
    )


def _contradictions(
    ad: NormalisedAd, b02: Indicator, places: Sequence[tuple[str, IndicatorHit]]
) -> list[IndicatorHit]:
    found: list[IndicatorHit] = []
    record = ad.record
    if (
        record.age is not None
        and ad.age_in_text is not None
        and ad.age_in_text_span is not None
        and abs(record.age - ad.age_in_text) >= 2
    ):
        start, end = ad.age_in_text_span
        found.append(
            IndicatorHit("B02", "B", b02.points, "text", (start, end), record.text[start:end])
        )
    if ad.municipality is not None:
        for place, hit in places:
            municipality = _municipality_of(place)
            if municipality is not None and municipality != ad.municipality:
                found.append(
                    IndicatorHit("B02", "B", b02.points, hit.field, hit.span, hit.evidence)
                )
                break
    return found


def price_hits(
    ads: Sequence[NormalisedAd],
    indicators: IndicatorSet | None = None,
    *,
    ratio: float = 0.5,
    min_ads: int = 20,
) -> dict[str, IndicatorHit]:
    """A10 over the corpus: price per hour below ``ratio`` x the median of its municipality.

    Only municipalities with at least ``min_ads`` priced ads count, so a thin market does not
    make an ordinary price look cheap.
    """
    indicator = (indicators or default_indicators()).by_id.get("A10")
    if indicator is None:
        return {}
    prices: dict[str, list[float]] = defaultdict(list)
    for ad in ads:
        if ad.municipality is not None and ad.price_per_hour is not None:
            prices[ad.municipality].append(ad.price_per_hour)
    medians = {m: statistics.median(v) for m, v in prices.items() if len(v) >= min_ads}
    found: dict[str, IndicatorHit] = {}
    for ad in ads:
        if ad.municipality is None or ad.price_per_hour is None:
            continue
        median = medians.get(ad.municipality)
        if median is not None and ad.price_per_hour < ratio * median:
            evidence = f"€{ad.price_per_hour:.0f}/uur, mediaan {ad.municipality} €{median:.0f}/uur"
            found[ad.id] = IndicatorHit("A10", "A", indicator.points, "prices", None, evidence)
    return found


def indicators_markdown(indicators: IndicatorSet | None = None) -> str:
    """docs/indicators.md, generated from the indicator definitions (a test keeps it current)."""
    definitions = indicators or default_indicators()
    families = definitions.families
    out = [
        "# Indicators",
        "",
        "<!-- Generated from src/signaal/ads/indicators.json by scripts/indicators_doc.py; "
        "do not edit by hand. -->",
        "",
        "Named, sourced cues of possible sexual exploitation in online ads (INDICATORS.md 5a). "
        "Weights are a starting point for **human triage**, not truth: a single ad's wording is "
        "weak evidence; links between ads (family C) and movement (family D) weigh more.",
        "",
        "Weights: +3 strong, +2 moderate, +1 weak, 0 logged only, -1 counter-indicator; "
        "*flag* = escalates to review. Basis: **E** tested against non-trafficking ads (JRSA), "
        "**P** Dutch practitioner statement, **L** list or literature, **H** hypothesis.",
        "",
        "## Families and caps",
        "",
        "| family | name | cap (points) |",
        "|---|---|---|",
    ]
    for key, family in families.items():
        cap = "-" if family.cap is None else f"{family.cap:g}"
        extra = f" (escalates to {family.escalates})" if family.escalates else ""
        out.append(f"| {key} | {family.name_en} / {family.name_nl} | {cap}{extra} |")
    out += ["", "## Bands", "", "| level | points |", "|---|---|"]
    for band in definitions.bands:
        low = "" if band.min is None else f"{band.min:g}"
        high = "" if band.max is None else f"{band.max:g}"
        span = f"<= {high}" if not low else (f">= {low}" if not high else f"{low}-{high}")
        out.append(f"| {band.level} | {span} |")
    out += [
        "",
        "## Indicators",
        "",
        "| id | indicator | weight | basis | computed by | source |",
        "|---|---|---|---|---|---|",
    ]
    computed = {
        "text": "text patterns",
        "field:age": "age field",
        "field:contradiction": "fields vs text",
        "reviewer": "reviewer",
        "link": "link stage",
        "movement": "movement stage",
        "combination": "combination",
        "registry": "partner registry",
        "registration": "registration module",
    }
    for i in definitions.indicators:
        weight = "flag" if i.flag else f"{i.points:+g}".replace("+0", "0")
        rule = computed.get(i.rule, i.rule)
        if i.rule == "combination":
            rule = "combination of " + " and ".join(i.requires)
        name = f"{i.name_en} / *{i.name_nl}*"
        out.append(f"| {i.id} | {name} | {weight} | {', '.join(i.basis)} | {rule} | {i.source} |")
    out += ["", "## Patterns", ""]
    out.append(
        "Patterns are folded like ad texts (case, accents, leetspeak, spaced letters, "
        "invisible characters) and matched on word boundaries; `*` at the end allows any word "
        "ending."
    )
    for i in definitions.indicators:
        if not any(i.patterns.values()):
            continue
        out += ["", f"### {i.id} {i.name_en}", ""]
        for lang, patterns in i.patterns.items():
            if patterns:
                shown = ", ".join(f"`{p}`" for p in patterns)
                out.append(f"- {lang}: {shown}")
        if i.note:
            out.append(f"- note: {i.note}")
    return "\n".join(out) + "\n"
