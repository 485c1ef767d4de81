"""Contact points taken out of free text before it leaves the pipeline (evidence, quarantine).

Every occurrence counts: a text that gives the same number twice, or once plainly and once as
"nul zes …", has each span replaced. The replacement is the masked form of
:mod:`signaal.privacy.masking` (``[06-•••••89]``), or a pseudonym marker where the caller
passes one (the app store, see ``signaal.monitor.runs.stored_ad_rows``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from signaal.ads.contacts import contacts_in_text
from signaal.ads.types import ContactPoint, NormalisedAd
from signaal.privacy.masking import masked_in_text
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.redaction import redact_spans

Span = tuple[int, int, str]


def _masked(contact: ContactPoint) -> str:
    return masked_in_text(contact.kind.value, contact.value)


def contact_spans(
    text: str, source: str, replacement: Callable[[ContactPoint], str] = _masked
) -> list[Span]:
    """(start, end, replacement) of every contact point found in ``text``, every occurrence."""
    if not text:
        return []
    return [
        (contact.span[0], contact.span[1], replacement(contact))
        for contact in contacts_in_text(text, source)
        if contact.span is not None
    ]


def mask_contacts(text: str, source: str = "text") -> str:
    """``text`` with every contact point found in it replaced by its masked form."""
    spans = contact_spans(text, source)
    return redact_spans(text, spans) if spans else text


# A backslash escape of JSON (``\n``, ``\"``, ``\u00e9``): blanked, keeping the length, so that a
# number right after one ("…\n0612345678") is found in a raw JSON line as in the decoded text.
_JSON_ESCAPE_RE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")


def mask_raw_line(raw: str) -> str:
    """A raw input line (JSON or CSV, possibly broken) with every contact point masked."""
    if not raw:
        return raw
    view = _JSON_ESCAPE_RE.sub(lambda match: " " * len(match.group()), raw) if "\\" in raw else raw
    spans = contact_spans(view, "raw")
    if view is not raw:
        spans += contact_spans(raw, "raw")
    return redact_spans(raw, spans) if spans else raw


def masked_evidence(text: str, start: int, end: int, spans: Sequence[Span]) -> str | None:
    """The evidence ``text[start:end]`` with the contact ``spans`` that overlap it masked, the
    evidence widened to cover each of them whole; None when no contact point overlaps it."""
    overlapping = [s for s in spans if s[0] < end and start < s[1]]
    if not overlapping:
        return None
    low, high = start, end
    while True:
        chosen = [s for s in spans if s[0] < high and low < s[1]]
        new_low = min(low, *(s[0] for s in chosen))
        new_high = max(high, *(s[1] for s in chosen))
        if (new_low, new_high) == (low, high):
            break
        low, high = new_low, new_high
    return redact_spans(text[low:high], [(s - low, e - low, r) for s, e, r in chosen])


def contact_values_by_pseudonym(ads: Iterable[NormalisedAd], pseudonym_key: str) -> dict[str, str]:
    """Pseudonym -> canonical clear value of every contact point of ``ads`` (what a run seals in
    the store, and what ``report.html`` shows with ``--reveal-contacts``)."""
    values: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for ad in ads:
        for contact in ad.contacts:
            key = (contact.kind.value, contact.value)
            if key not in seen:
                seen.add(key)
                values[pseudonym(key[0], key[1], pseudonym_key)] = contact.value
    return values
