"""Text folding for matching, with a map back to the original text.

Indicator patterns and ad texts go through the same :func:`fold`, so a pattern matches however the
ad spells it: upper case, diacritics ("één"), leetspeak inside words ("n0 l1m1ts"), letters or
digits spread out with spaces or dots ("a l l e s  m a g", "2 4 / 7"), zero-width characters and
emoji variation selectors. Every folded character remembers the index of the original character it
came from, so a match in the folded text gives a span that points into the ORIGINAL text
(``text[start:end]`` is the evidence shown to the reviewer).

Speed matters (a million ads per run): most texts need only length-preserving steps
(``str.lower`` and ``str.translate``), for which the offset map is the identity and is never
built. Only texts with spaced-out letters, runs of whitespace or invisible characters take the
slower path that builds an explicit offset list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Characters that hide words without being visible: zero-width space/joiners, soft hyphen,
# word joiner, BOM, and the emoji variation selectors (✈️ is "✈" + U+FE0F).
_INVISIBLE = "\u200b\u200c\u200d\u00ad\u2060\ufeff\ufe0e\ufe0f"

# Leetspeak digits and symbols, replaced only where they touch a letter ("n0", "l1m1ts", "s3x"),
# so that numbers such as "24/7", "100%" or "18" stay numbers.
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_RE = re.compile(r"(?<=[a-z])[013457@$]|[013457@$](?=[a-z])")

# Runs of at least three single characters separated by one space, dot, dash, underscore or
# star: "a l l e s", "g-a-n-g-b-a-n-g", "2 4 / 7". Words of a spaced-out phrase are separated by
# two or more spaces ("a l l e s  m a g"), which fold to one space like any whitespace run.
_RUN_CHAR = rf"[^\s{_INVISIBLE}]"
_SPACED_RUN = rf"(?<![^\W_]){_RUN_CHAR}(?:[ ._*\-]{_RUN_CHAR}){{2,}}(?![^\W_])"
_SLOW_PATH_RE = re.compile(rf"(?P<ws>\s\s+)|(?P<inv>[{_INVISIBLE}]+)|(?P<run>{_SPACED_RUN})")


def _build_char_table() -> dict[int, str]:
    """One character to one character: accents removed, typographic variants made plain."""
    table: dict[int, str] = {}
    for code in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[:1]
        if base != char and base.isascii() and base.isalpha():
            table[code] = base.lower()
    table.update({ord("ß"): "s", ord("ø"): "o", ord("Ø"): "o", ord("ł"): "l", ord("Ł"): "l"})
    table.update({ord("æ"): "a", ord("Æ"): "a", ord("đ"): "d", ord("Đ"): "d"})
    for quote in "‘’‚‛′`´":
        table[ord(quote)] = "'"
    for quote in "“”„‟″":
        table[ord(quote)] = '"'
    for dash in "‐‑‒–—―−":
        table[ord(dash)] = "-"
    spaces = "\t\n\r\v\f\u00a0\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
    for space in spaces:
        table[ord(space)] = " "
    # Full-width ASCII (used to dodge filters) to plain ASCII.
    for code in range(0xFF01, 0xFF5F):
        table[code] = chr(code - 0xFEE0).lower()
    return table


_CHAR_TABLE = _build_char_table()


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and where each of its characters came from in the original."""

    original: str
    text: str
    # offsets[i] is the index in ``original`` of folded character i; None means the identity.
    offsets: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span in the original text that folded ``text[start:end]`` came from."""
        if self.offsets is None:
            return start, end
        if end <= start:
            position = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return position, position
        return self.offsets[start], self.offsets[end - 1] + 1


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters grow when lower-cased ("İ" -> "i̇"); keep one character per character.
    return "".join(c.lower()[:1] for c in text)


def _leet(match: re.Match[str]) -> str:
    return _LEET[match.group()]


def _basic(text: str, encoded: bytes | None = None) -> str:
    """The length-preserving steps: case, accents, typographic variants, leetspeak."""
    folded = _lower(text)
    if not folded.isascii() or "\t" in folded or "\n" in folded or "\r" in folded:
        folded = folded.translate(_CHAR_TABLE)
    if encoded is None:
        encoded = text.encode("utf-8", "surrogatepass")
    leet_shape = encoded.translate(_LEET_SHAPE)
    if b"a1" in leet_shape or b"1a" in leet_shape:
        return _LEET_RE.sub(_leet, folded)
    return folded


def _byte_table(classes: dict[bytes, bytes], default: bytes) -> bytes:
    table = bytearray(default * 256)
    for members, cls in classes.items():
        for byte in members:
            table[byte] = cls[0]
    return bytes(table)


_LETTERS = bytes(range(ord("a"), ord("z") + 1)) + bytes(range(ord("A"), ord("Z") + 1))
# Shapes of a text as bytes, for quick substring checks that decide whether a slow regex step is
# needed at all (Python's regex engine is slow on patterns that start with a character class).
_SHAPE = _byte_table({b" \t\n\r\x0b\x0c": b" ", b"._*-": b"."}, b"a")
_LEET_SHAPE = _byte_table({_LETTERS: b"a", b"013457@$": b"1"}, b".")


def _needs_slow_path(text: str, encoded: bytes) -> bool:
    shape = b" " + encoded.translate(_SHAPE)
    if b"  " in shape or b" a a a" in shape or b" a.a.a" in shape:
        return True
    if len(encoded) == len(text):  # ASCII: no invisible characters
        return False
    return any(char in text for char in _INVISIBLE)


def fold(text: str) -> Folded:
    """Fold ``text`` for matching; see the module docstring for what is folded."""
    encoded = text.encode("utf-8", "surrogatepass")
    if not _needs_slow_path(text, encoded) or not _SLOW_PATH_RE.search(text):
        return Folded(text, _basic(text, encoded))
    return _fold_slow(text)


def _fold_slow(text: str) -> Folded:
    """Fold with the steps that change the length, keeping the origin of every character."""
    chars: list[str] = []
    origin: list[int] = []
    position = 0
    for match in _SLOW_PATH_RE.finditer(text):
        start, end = match.span()
        chars.append(text[position:start])
        origin.extend(range(position, start))
        kind = match.lastgroup
        if kind == "ws":
            chars.append(" ")
            origin.append(start)
        elif kind == "run":
            # Keep the characters, drop the single separators between them.
            chars.append(text[start:end:2])
            origin.extend(range(start, end, 2))
        # "inv": invisible characters are dropped.
        position = end
    chars.append(text[position:])
    origin.extend(range(position, len(text)))
    joined = "".join(chars)
    assert len(joined) == len(origin)
    return Folded(text, _basic(joined), tuple(origin))


@cache
def fold_pattern(pattern: str) -> str:
    """Fold an indicator pattern the way ad texts are folded (cached: patterns repeat)."""
    return fold(pattern).text


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
