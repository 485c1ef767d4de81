"""Normalise: an ad record to canonical values beside the original (a pure function per ad).

Contact points to canonical form (see ``contacts.py``), the city to its municipality
(``signaal.geo``), the age (field, or "22 jaar" in the text), prices to a price per hour, the
posting time to UTC, and the language of the text. Anything that cannot be normalised is noted in
``problems``; the record itself is never changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from signaal.ads.contacts import (
    contacts_in_text,
    email_from_field,
    handle_from_field,
    phone_from_field,
)
from signaal.ads.records import AdRecord
from signaal.ads.types import ContactKind, ContactPoint, NormalisedAd
from signaal.geo import Municipality, resolve_place

PlaceResolver = Callable[[str | None], Municipality | None]

_AGE_RE = re.compile(
    r"(?<!\d)(1[0-9]|[2-7][0-9])\s*(?:jaar|jr\b\.?|years?\b|yrs\b|yo\b|y/o)"
    r"|\b(achttien|negentien|twintig|eighteen|nineteen|twenty)\s+(?:jaar|years?)",
)
_AGE_WORDS = {
    "achttien": 18,
    "negentien": 19,
    "twintig": 20,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_AGE_HINTS = ("jaar", "jr", "year", "yrs", "yo", "y/o")

_DURATION_RE = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(min|minuten|minutes|m|u|uur|uren|h|hr|hrs|hour|hours)?$"
)
_DURATION_WORDS = {
    "kwartier": 15,
    "halfuur": 30,
    "half uur": 30,
    "half hour": 30,
    "uur": 60,
    "hour": 60,
    "nacht": 480,
    "night": 480,
}

_NL_WORDS = frozenset(
    str.split(
        "de het een en ik ben je jij voor met van niet op bij mij mijn ook maar wat zijn naar heb "
        "kom lekker schat heren alleen geen uur jaar dag bel afspraak jou graag welkom bent kun "
        "kunt wil zoek zoekt nieuw mooie lieve ontvang ontvangst"
    )
)
_EN_WORDS = frozenset(
    str.split(
        "the and i am you for with of not my me are be call only hour years available come your "
        "to new here just real sweet hot girl welcome like love want will can see"
    )
)


@lru_cache(maxsize=4096)
def duration_minutes(key: str) -> float | None:
    """Minutes of a prices key such as '15min', '30 min', '1u', '1 uur', '2h', 'kwartier'."""
    text = key.strip().lower().replace("_", " ")
    if text in _DURATION_WORDS:
        return float(_DURATION_WORDS[text])
    match = _DURATION_RE.match(text)
    if not match:
        return None
    amount = float(match.group(1).replace(",", "."))
    unit = match.group(2) or "min"
    minutes = amount if unit in ("min", "minuten", "minutes", "m") else amount * 60
    return minutes if 0 < minutes <= 24 * 60 else None


def price_per_hour(prices: dict[str, float | None]) -> float | None:
    """Euro per hour from the prices: the hour price, else the duration closest to an hour."""
    best: tuple[float, str, float] | None = None  # (distance to 60 min, key, per-hour price)
    for key, value in prices.items():
        if value is None or value <= 0:
            continue
        minutes = duration_minutes(key)
        if minutes is None:
            continue
        candidate = (abs(minutes - 60), key, value * 60 / minutes)
        if best is None or candidate < best:
            best = candidate
    return round(best[2], 2) if best else None


@lru_cache(maxsize=100_000)
def detect_language(lowered: str) -> str:
    """ "nl", "en", "mixed" or "unknown" from common words (a heuristic, good enough for A11)."""
    words = lowered.split()
    nl = len(_NL_WORDS.intersection(words))  # distinct common words, without a set of all words
    en = len(_EN_WORDS.intersection(words))
    if nl + en < 2:
        return "unknown"
    if nl and en and min(nl, en) / max(nl, en) >= 0.5 and min(nl, en) >= 2:
        return "mixed"
    return "nl" if nl >= en else "en"


@lru_cache(maxsize=100_000)
def age_in_text(text: str, lowered: str) -> tuple[int, int, int] | None:
    """The first stated age in a text ("22 jaar", "19 years", "negentien jaar") and its span."""
    if not any(hint in lowered for hint in _AGE_HINTS):
        return None
    match = _AGE_RE.search(lowered)
    if not match:
        return None
    age = int(match.group(1)) if match.group(1) else _AGE_WORDS[match.group(2)]
    return age, match.start(), match.end()


def parse_posted_at(value: str) -> datetime:
    """An ISO 8601 time with a UTC offset, as UTC. ValueError when it has no offset or is out
    of the range of times once converted to UTC (e.g. ``0001-01-01T00:00:00+14:00``)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("posted_at has no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("posted_at is out of range once converted to UTC") from exc


def normalise(record: AdRecord, *, resolve: PlaceResolver = resolve_place) -> NormalisedAd:
    """The normalised form of one ad record (pure: the same record gives the same result)."""
    problems: list[str] = []
    contacts: dict[tuple[ContactKind, str, str], ContactPoint] = {}

    def keep(point: ContactPoint) -> None:
        key = (point.kind, point.value, point.source)
        existing = contacts.get(key)
        if existing is None or (point.obscured and not existing.obscured):
            contacts[key] = point

    for raw in record.phones:
        phone = phone_from_field(raw)
        if phone is None:
            problems.append(f"phone {raw!r} is not a phone number")
        else:
            keep(ContactPoint(ContactKind.PHONE, phone[0], "field", phone[1]))
    for raw in record.emails:
        email = email_from_field(raw)
        if email is None:
            problems.append(f"e-mail {raw!r} is not an e-mail address")
        else:
            keep(ContactPoint(ContactKind.EMAIL, email, "field"))
    for raw in record.handles:
        handle = handle_from_field(raw)
        if handle is None:
            problems.append(f"handle {raw!r} is empty or not a handle (a digit or stop word)")
        else:
            keep(ContactPoint(ContactKind.HANDLE, handle, "field"))
    for point in contacts_in_text(record.title, "title"):
        keep(point)
    for point in contacts_in_text(record.text, "text"):
        keep(point)

    municipality = resolve(record.city) if record.city else None
    if record.city and municipality is None:
        problems.append(f"city {record.city!r} not recognised")

    lowered = record.text.lower()
    stated = age_in_text(record.text, lowered)
    age = record.age
    if age is None and stated is not None:
        age = stated[0]

    try:
        posted_at = parse_posted_at(record.posted_at)
    except ValueError as exc:  # the reader validates; a record built in code may not be
        raise ValueError(f"ad {record.id!r}: posted_at {record.posted_at!r}: {exc}") from exc

    return NormalisedAd(
        record=record,
        posted_at=posted_at,
        contacts=tuple(contacts.values()),
        municipality=municipality.name if municipality else None,
        age=age,
        price_per_hour=price_per_hour(record.prices),
        language=detect_language(record.title.lower() + " " + lowered),
        problems=tuple(problems),
        age_in_text=stated[0] if stated else None,
        age_in_text_span=(stated[1], stated[2]) if stated else None,
    )
