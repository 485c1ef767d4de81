"""Redaction of identifiers inside free text, before the text leaves the analysis.

Ad texts are kept in the app store so that a reviewer can read what an ad says; the contact points
in them are replaced by their keyed pseudonyms, so the store holds no phone number, e-mail address
or handle in the clear, while two texts with the same number still show the same pseudonym.
"""

from __future__ import annotations

from collections.abc import Iterable


def redact_spans(text: str, replacements: Iterable[tuple[int, int, str]]) -> str:
    """Replace each ``(start, end, replacement)`` span of ``text``.

    Overlapping spans are merged into the first one that covers them; spans outside the text are
    an error, since they mean the spans belong to another text.
    """
    spans = sorted(replacements)
    out: list[str] = []
    position = 0
    for start, end, replacement in spans:
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"span {start}-{end} is outside a text of {len(text)} characters")
        if start < position:  # overlaps the span before: already replaced
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)
