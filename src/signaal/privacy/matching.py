"""Tolerant hit/no-hit matching of persons on keyed Bloom-filter encodings.

Steps, each a pure function: :func:`normalise_first_name`, :func:`normalise_surname`,
:func:`birth_date_tokens`, :func:`normalise_phone` → :meth:`Matcher.encode` (keyed filters per
field, see :mod:`signaal.privacy.bloom`) → :func:`field_scores` (Dice per field) → :func:`score`
(agreement levels weighed as log-likelihood-like points) → :func:`is_match` (threshold).

Tolerances: case and diacritics; tussenvoegsels ("van der", "vd", "v.d.", glued "Vanderberg",
"Berg, van der" or left out); "ij"/"y"; a typo or swapped letters (bigram Dice); a birth date
with day and month swapped or the year off by one (the date filter holds those variants, so Dice
is 1 for the same date and about 0.5 for a variant); phone formats (E.164 via the ads pipeline's
normaliser). A field that one side lacks is unknown and weighs nothing.

Thresholds are chosen on a labelled synthetic benchmark (``bench/matching.py``, tuning seed, with
:func:`choose_threshold`), not on the seed that judges them; :data:`MATCH_THRESHOLD` is the one
for about 10,000 records; docs/matching.md has the figures.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from signaal.ads.contacts import canonical_phone
from signaal.privacy.bloom import BloomEncoder, bigrams, derive_key, dice

FIELDS = ("first_name", "surname", "birth_date", "phone")

TUSSENVOEGSELS = frozenset(
    [
        "van",
        "de",
        "der",
        "den",
        "het",
        "t",
        "ter",
        "ten",
        "te",
        "in",
        "op",
        "aan",
        "uit",
        "bij",
        "onder",
        "voor",
        "la",
        "le",
        "da",
        "di",
        "du",
        "des",
        "del",
        "el",
    ]
)
# Written glued to the surname ("Vanderberg"); longest first. Two-letter prefixes only strip when
# a longer remainder is left, so "Dekker" keeps its "de".
_GLUED = (("vanden", 3), ("vander", 3), ("vande", 3), ("van", 3), ("ter", 4), ("ten", 4))
_ABBREVIATIONS = {"vd": ["van", "der"], "vdn": ["van", "den"], "v": ["van"], "d": ["der"]}
_NOT_LETTER = re.compile(r"[^a-z ]+")


def _fold(value: str) -> str:
    """Lower case, diacritics off, "ij" as "y", anything but letters a space."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("ij", "y")
    return " ".join(_NOT_LETTER.sub(" ", plain).split())


def normalise_first_name(value: str) -> str:
    """Normalise a first name: "Zoë" → "zoe", "Anne-Marie" → "annemarie"."""
    return _fold(value).replace(" ", "")


def normalise_surname(value: str) -> str:
    """The surname without tussenvoegsels: "van der Berg", "V.d. Berg", "Berg, van der",
    "Vanderberg" and "Berg" all give "berg"."""
    if "," in value:
        core, _, prefix = value.partition(",")
        value = f"{prefix} {core}"
    words: list[str] = []
    for word in _fold(value).split():
        words.extend(_ABBREVIATIONS.get(word, [word]))
    while len(words) > 1 and words[0] in TUSSENVOEGSELS:
        words.pop(0)
    glued = "".join(words)
    for prefix, least in _GLUED:
        if glued.startswith(prefix) and len(glued) - len(prefix) >= least:
            return glued[len(prefix) :]
    return glued


def _shift_year(day: date, years: int) -> date | None:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) if day.month == 2 else None


def birth_date_variants(day: date) -> list[date]:
    """The date, its day/month swap (when that is a date) and the same day a year off."""
    variants = [day]
    if day.day <= 12 and day.day != day.month:
        variants.append(date(day.year, day.day, day.month))
    for years in (-1, 1):
        shifted = _shift_year(day, years)
        if shifted is not None:
            variants.append(shifted)
    return variants


def birth_date_tokens(day: date) -> list[str]:
    """Tokens of the date filter: the date and its tolerated variants."""
    return [variant.isoformat() for variant in birth_date_variants(day)]


def normalise_phone(value: str) -> str | None:
    """E.164 digits without "+" ("06-1234 5678" → "31612345678"), or None."""
    digits = "".join(c for c in value if c.isdigit() or c == "+")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    canonical = canonical_phone(digits) if digits else None
    return canonical[1:] if canonical else None


@dataclass(frozen=True, slots=True)
class Person:
    """The identifying fields of one record as registered (clear values; never stored)."""

    first_name: str = ""
    surname: str = ""
    birth_date: date | None = None
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Encoding:
    """Keyed filters of one person, per field (0 = field unknown), and keyed blocking keys.

    ``birth_date`` holds the date itself, ``birth_date_variants`` its tolerated variants, so that
    one step (a swap or a year) is told apart from two steps."""

    first_name: int
    surname: int
    birth_date: int
    birth_date_variants: int
    phone: int
    blocks: tuple[str, ...]

    def field(self, name: str) -> int:
        value: int = getattr(self, name)
        return value


class Matcher:
    """Encodes persons for one purpose under keys derived from the deployment's secret."""

    def __init__(self, secret: str | bytes, purpose: str = "hit-no-hit") -> None:
        self.purpose = purpose
        self._encoders = {f: BloomEncoder(derive_key(secret, purpose, f)) for f in FIELDS}
        self._block_key = derive_key(secret, purpose, "blocking")

    def encode(self, person: Person) -> Encoding:
        first = normalise_first_name(person.first_name)
        surname = normalise_surname(person.surname)
        phone = normalise_phone(person.phone) if person.phone else None
        dates = birth_date_tokens(person.birth_date) if person.birth_date else []
        dated = self._encoders["birth_date"]
        return Encoding(
            first_name=self._encoders["first_name"].encode(bigrams(first)),
            surname=self._encoders["surname"].encode(bigrams(surname)),
            birth_date=dated.encode(dates[:1]),
            birth_date_variants=dated.encode(dates[1:]),
            phone=self._encoders["phone"].encode(bigrams(phone or "")),
            blocks=tuple(self._blocks(dates, phone)),
        )

    def _blocks(self, dates: list[str], phone: str | None) -> Iterator[str]:
        """Keyed blocking keys: every tolerated date variant, and the phone. Two records of one
        person share one unless both their date and their phone are off."""
        tokens = [f"d\x1f{d}" for d in dates] + ([f"p\x1f{phone}"] if phone else [])
        for token in tokens:
            yield hashlib.blake2b(token.encode(), key=self._block_key, digest_size=8).hexdigest()


def date_agreement(a: Encoding, b: Encoding) -> float | None:
    """1.0 for the same date, 0.5 when one is a tolerated variant of the other, else 0.0;
    None when a side has no date."""
    if not a.birth_date or not b.birth_date:
        return None
    if a.birth_date == b.birth_date:
        return 1.0
    if a.birth_date & b.birth_date_variants == a.birth_date:
        return 0.5
    if b.birth_date & a.birth_date_variants == b.birth_date:
        return 0.5
    return 0.0


def field_scores(a: Encoding, b: Encoding) -> dict[str, float | None]:
    """Dice per name and phone field, :func:`date_agreement` for the birth date; None when
    either side does not know the field."""
    scores: dict[str, float | None] = {}
    for name in ("first_name", "surname", "phone"):
        x, y = a.field(name), b.field(name)
        scores[name] = dice(x, y) if x and y else None
    scores["birth_date"] = date_agreement(a, b)
    return scores


# Points per field and agreement level, log2 of (chance of the level for one person) / (chance
# for two people), from the benchmark's error rates; exact name agreement is replaced by the
# name's rarity in the records compared (:class:`Rarity`). Levels: (lowest score, points).
LEVELS: dict[str, tuple[tuple[float, float], ...]] = {
    "first_name": ((0.999, 5.0), (0.6, 3.0), (0.35, -6.0), (0.0, -8.0)),
    "surname": ((0.999, 6.0), (0.6, 3.0), (0.35, -6.0), (0.0, -8.0)),
    "birth_date": ((1.0, 14.0), (0.5, 10.0), (0.0, -12.0)),
    "phone": ((0.999, 20.0), (0.7, 8.0), (0.0, -8.0)),
}
# Chosen on the benchmark's tuning seeds at 10,000 records (13.8-16.6 points there); the threshold
# grows with the number of records compared (26.0 at 100,000), see docs/matching.md.
MATCH_THRESHOLD = 16.0


class Rarity:
    """How common each exact first name and surname filter is among the records compared: exact
    agreement on a common name is weaker evidence than on a rare one (term frequency)."""

    def __init__(self, encodings: Iterable[Encoding]) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._total = 0
        for encoding in encodings:
            self._total += 1
            for name in ("first_name", "surname"):
                key = (name, encoding.field(name))
                self._counts[key] = self._counts.get(key, 0) + 1

    def points(self, name: str, value: int) -> float | None:
        """log2(1 / share of records with this exact filter), None for an unseen filter."""
        count = self._counts.get((name, value))
        if not count or not self._total:
            return None
        return math.log2(self._total / count)


def score(
    scores: dict[str, float | None],
    a: Encoding | None = None,
    rarity: Rarity | None = None,
) -> float:
    """Points of a pair: the sum over known fields of the points of its agreement level."""
    total = 0.0
    for name, value in scores.items():
        if value is None:
            continue
        for lowest, points in LEVELS[name]:
            if value >= lowest:
                if lowest >= 0.999 and rarity is not None and a is not None:
                    rare = rarity.points(name, a.field(name)) if name in NAME_FIELDS else None
                    points = rare if rare is not None else points
                total += points
                break
    return total


NAME_FIELDS = ("first_name", "surname")


def is_match(
    a: Encoding, b: Encoding, threshold: float = MATCH_THRESHOLD, rarity: Rarity | None = None
) -> bool:
    """The decision: enough points, and a birth date and some name known on both sides."""
    scores = field_scores(a, b)
    if scores["birth_date"] is None or (scores["first_name"] is None and scores["surname"] is None):
        return False
    return score(scores, a, rarity) >= threshold


def choose_threshold(
    scored: Iterable[tuple[float, int, int]], truth: set[tuple[int, int]], margin: float = 3.0
) -> float:
    """The threshold from labelled pairs: ``margin`` points (a factor 2**margin in odds) above
    the highest-scoring pair that is not one person, so none of those is a hit."""
    ceiling = max((s for s, i, j in scored if (i, j) not in truth), default=0.0)
    return ceiling + margin


def candidate_pairs(encodings: Iterable[Encoding]) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) that share a blocking key, each once: the comparisons to make."""
    buckets: dict[str, list[int]] = {}
    for index, encoding in enumerate(encodings):
        for block in encoding.blocks:
            buckets.setdefault(block, []).append(index)
    seen: set[tuple[int, int]] = set()
    for members in buckets.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair not in seen:
                    seen.add(pair)
                    yield pair


__all__ = [
    "FIELDS",
    "MATCH_THRESHOLD",
    "Encoding",
    "Matcher",
    "Person",
    "Rarity",
    "birth_date_tokens",
    "birth_date_variants",
    "candidate_pairs",
    "choose_threshold",
    "date_agreement",
    "field_scores",
    "is_match",
    "normalise_first_name",
    "normalise_phone",
    "normalise_surname",
    "score",
]
