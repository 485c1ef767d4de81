"""Redaction of identifiers inside free text, before the text leaves the analysis.

Ad texts are kept in the app store so that a reviewer can read what an ad says; the contact points
in them are replaced by their keyed pseudonyms, so the store holds no phone number, e-mail address
or handle in the clear, while two texts with the same number still show the same pseudonym.
Elsewhere (indicator evidence, reasons, report.html) they are replaced by their masked form
(:mod:`signaal.privacy.masking`).
"""

from __future__ import annotations

from collections.abc import Iterable


def redact_spans(text: str, replacements: Iterable[tuple[int, int, str]]) -> str:
    """Replace each ``(start, end, replacement)`` span of ``text``.

    Overlapping spans are merged: the union of spans that overlap is replaced as one, by the
    replacement of the span that starts first (so no character of any span survives, also when a
    later span reaches past the end of an earlier one). Spans outside the text are an error,
    since they mean the spans belong to another text.
    """
    spans = sorted(replacements, key=lambda item: (item[0], -item[1], item[2]))
    out: list[str] = []
    position = 0
    current: tuple[int, int, str] | None = None
    for start, end, replacement in spans:
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"span {start}-{end} is outside a text of {len(text)} characters")
        if start == end:
            continue
        if current is not None and start < current[1]:
            current = (current[0], max(current[1], end), current[2])
            continue
        if current is not None:
            out.append(text[position : current[0]])
            out.append(current[2])
            position = current[1]
        current = (start, end, replacement)
    if current is not None:
        out.append(text[position : current[0]])
        out.append(current[2])
        position = current[1]
    out.append(text[position:])
    return "".join(out)
