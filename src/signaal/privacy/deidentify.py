"""De-identification of free text before it is saved: find identifying spans, offer to replace them.

Two kinds of finders are merged:

- ``deduce`` (de-identification of Dutch clinical text) finds names (also with a tussenvoegsel),
  addresses, dates, ages, phone numbers, e-mail addresses, BSNs and other ids;
- the project's own contact-point finders (:func:`signaal.ads.contacts.contacts_in_text`) find the
  disguised phone numbers, e-mail addresses and messenger handles that ads use and ``deduce``
  misses ("nul zes een twee ...", "naam [at] domein [punt] nl", "snap: naam"), a BSN that passes
  the eleven-test also when written with dots or spaces, and a date after "geboren", "geb." or
  "geboortedatum" (a date of birth rather than the day something was seen).

:func:`find_identifiers` is pure given a :class:`TextAnnotator` (the loaded ``deduce`` model, or
any other that returns spans); :func:`pseudonymise` replaces each span by a category tag such as
``[PERSOON-1]``, the same tag for the same value within one text. Loading ``deduce`` reads its
lookup cache (:mod:`signaal.privacy.deidentifier` builds it during setup).

Places that are known Dutch municipalities or villages, ages and dates that are not dates of birth
are found but not offered (:data:`OFFERED`): a signal needs where and when, and those do not name
anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from signaal.ads.contacts import contacts_in_text
from signaal.ads.types import ContactKind
from signaal.geo import resolve_place
from signaal.privacy.redaction import redact_spans


class Category(StrEnum):
    PERSON = "person"
    ADDRESS = "address"
    PLACE = "place"
    BIRTH_DATE = "birth_date"
    DATE = "date"
    AGE = "age"
    PHONE = "phone"
    EMAIL = "email"
    HANDLE = "handle"
    URL = "url"
    BSN = "bsn"
    ID = "id"
    INSTITUTION = "institution"


# The tag that replaces a span (stored text, so one language: Dutch, as the users write).
TAGS: dict[Category, str] = {
    Category.PERSON: "PERSOON",
    Category.ADDRESS: "ADRES",
    Category.PLACE: "PLAATS",
    Category.BIRTH_DATE: "GEBOORTEDATUM",
    Category.DATE: "DATUM",
    Category.AGE: "LEEFTIJD",
    Category.PHONE: "TELEFOON",
    Category.EMAIL: "EMAIL",
    Category.HANDLE: "ACCOUNT",
    Category.URL: "WEBSITE",
    Category.BSN: "BSN",
    Category.ID: "NUMMER",
    Category.INSTITUTION: "INSTELLING",
}

# What the form offers to replace: direct identifiers. Not a place that is a known municipality
# or village, an age or a date that is not a date of birth.
OFFERED: frozenset[Category] = frozenset(Category) - {Category.PLACE, Category.AGE, Category.DATE}

# When two finders overlap, the more specific category names the merged span.
_PRIORITY: tuple[Category, ...] = (
    Category.BSN,
    Category.BIRTH_DATE,
    Category.PHONE,
    Category.EMAIL,
    Category.HANDLE,
    Category.URL,
    Category.PERSON,
    Category.ADDRESS,
    Category.INSTITUTION,
    Category.ID,
    Category.DATE,
    Category.AGE,
    Category.PLACE,
)

_DEDUCE_TAGS: dict[str, Category] = {
    "persoon": Category.PERSON,
    "patient": Category.PERSON,
    "locatie": Category.ADDRESS,
    "datum": Category.DATE,
    "leeftijd": Category.AGE,
    "telefoonnummer": Category.PHONE,
    "emailadres": Category.EMAIL,
    "url": Category.URL,
    "bsn": Category.BSN,
    "id": Category.ID,
    "ziekenhuis": Category.INSTITUTION,
    "zorginstelling": Category.INSTITUTION,
}

_CONTACT_KINDS: dict[ContactKind, Category] = {
    ContactKind.PHONE: Category.PHONE,
    ContactKind.EMAIL: Category.EMAIL,
    ContactKind.HANDLE: Category.HANDLE,
    ContactKind.WEBSITE: Category.URL,
}


@dataclass(frozen=True)
class Identifier:
    """One identifying span of a text: ``text[start:end]`` is ``value``."""

    category: Category
    start: int
    end: int
    value: str

    @property
    def tag(self) -> str:
        return TAGS[self.category]


class TextAnnotator(Protocol):
    """Finds ``(start, end, library tag)`` spans in a text (the loaded ``deduce`` model)."""

    def annotate(self, text: str) -> Iterable[tuple[int, int, str]]: ...


# ----------------------------------------------------------------------------------------------
# The project's own finders

_BSN_RE = re.compile(r"(?<![\w.])(\d{4}[. ]?\d{2}[. ]?\d{3}|\d{3}[. ]\d{3}[. ]\d{3})(?![\w]|\.\d)")
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    "|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
)
_DATE = (
    rf"\d{{1,2}}[-./ ]\d{{1,2}}[-./ ](?:19|20)?\d{{2}}"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})\.?\s+(?:19|20)\d{{2}}|(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}"
)
_BIRTH_DATE_RE = re.compile(
    rf"\b(?:geboren(?:\s+op)?|geb\.?|geboortedatum|geb\.\s*datum|born(?:\s+on)?|d\.?o\.?b\.?)"
    rf"\s*:?\s*({_DATE})(?!\d)",
    re.IGNORECASE,
)


def elfproef(digits: str) -> bool:
    """Whether nine digits pass the BSN eleven-test (9*d1 + 8*d2 + ... + 2*d8 - d9 = 0 mod 11)."""
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * f for d, f in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0 and digits != "000000000"


def own_identifiers(text: str) -> list[Identifier]:
    """Contact points (also disguised), BSNs that pass the eleven-test and dates of birth."""
    found: list[Identifier] = []
    for contact in contacts_in_text(text, "text"):
        if contact.span is None:
            continue
        start, end = contact.span
        found.append(Identifier(_CONTACT_KINDS[contact.kind], start, end, text[start:end]))
    for match in _BSN_RE.finditer(text):
        if elfproef(re.sub(r"\D", "", match.group(1))):
            found.append(Identifier(Category.BSN, match.start(1), match.end(1), match.group(1)))
    for match in _BIRTH_DATE_RE.finditer(text):
        found.append(Identifier(Category.BIRTH_DATE, match.start(1), match.end(1), match.group(1)))
    return found


def library_identifiers(text: str, annotator: TextAnnotator) -> list[Identifier]:
    """The annotator's spans as identifiers; a "locatie" that is a known Dutch place is a place,
    not an address, and a 9-digit "bsn" that fails the eleven-test is not taken."""
    found: list[Identifier] = []
    for start, end, tag in annotator.annotate(text):
        category = _DEDUCE_TAGS.get(tag.split("+")[0].lower())
        if category is None or not 0 <= start < end <= len(text):
            continue
        value = text[start:end]
        if category is Category.ADDRESS and resolve_place(value) is not None:
            category = Category.PLACE
        if category is Category.BSN and not elfproef(re.sub(r"\D", "", value)):
            category = Category.ID
        found.append(Identifier(category, start, end, value))
    return found


def merge(text: str, identifiers: Iterable[Identifier]) -> tuple[Identifier, ...]:
    """Overlapping spans become one (their union), named by the most specific category."""
    ordered = sorted(identifiers, key=lambda i: (i.start, -i.end))
    merged: list[Identifier] = []
    for item in ordered:
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            end = max(last.end, item.end)
            category = min(last.category, item.category, key=_PRIORITY.index)
            merged[-1] = Identifier(category, last.start, end, text[last.start : end])
        else:
            merged.append(item)
    return tuple(merged)


def find_identifiers(
    text: str,
    annotator: TextAnnotator | None,
    *,
    categories: frozenset[Category] = OFFERED,
) -> tuple[Identifier, ...]:
    """The identifying spans of ``text`` in ``categories``, in order, without overlaps.

    ``annotator`` None uses the project's own finders only (a deployment without the library's
    cache still finds contact points, BSNs and dates of birth).
    """
    if not text.strip():
        return ()
    spans = own_identifiers(text)
    if annotator is not None:
        spans.extend(library_identifiers(text, annotator))
    return tuple(i for i in merge(text, spans) if i.category in categories)


def _key(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def pseudonymise(text: str, identifiers: Sequence[Identifier]) -> str:
    """``text`` with each identifier replaced by ``[TAG-n]``; the same value (case, spacing and
    punctuation aside) gets the same number within the text, numbers count per category."""
    numbers: dict[tuple[Category, str], int] = {}
    per_category: dict[Category, int] = {}
    replacements: list[tuple[int, int, str]] = []
    for item in sorted(identifiers, key=lambda i: i.start):
        key = (item.category, _key(item.value))
        if key not in numbers:
            per_category[item.category] = per_category.get(item.category, 0) + 1
            numbers[key] = per_category[item.category]
        replacements.append((item.start, item.end, f"[{item.tag}-{numbers[key]}]"))
    return redact_spans(text, replacements)


def category_counts(identifiers: Iterable[Identifier]) -> dict[str, int]:
    """How many of each category (for the audit: never the values)."""
    counts: dict[str, int] = {}
    for item in identifiers:
        counts[item.category.value] = counts.get(item.category.value, 0) + 1
    return dict(sorted(counts.items()))
