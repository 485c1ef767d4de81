"""Phone numbers from unallocated blocks, their display forms and their obfuscations.

Every block below is one that libphonenumber (``phonenumbers``) considers *possible* (the right
length for the country) but *not valid* (no operator holds it), so no generated number is knowingly
a real subscriber's. ``tests/synth/test_phones.py`` checks every number of every corpus. The blocks
are documented in docs/synthetic-data.md.

Numbers are drawn without collisions: a phone's *serial* (unique in the corpus) is mapped into its
block by an affine permutation, so two phones never share a number by accident; shared numbers in
the corpus are always planted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class PhoneBlock:
    """An unallocated block: E.164 prefix (without '+') and the digits that follow it."""

    key: str
    country_code: str
    prefix: str  # national significant prefix after the country code
    free_digits: int

    @property
    def size(self) -> int:
        return int(10**self.free_digits)


#: Dutch mobile 06-9xxxxxxx (+31 6 9...): 06 numbers are allocated from 06-1 to 06-8 only.
NL = PhoneBlock("NL", "31", "69", 7)
#: Romanian mobile-length numbers +40 798 xxx xxx.
RO = PhoneBlock("RO", "40", "798", 6)
#: Bulgarian +359 85 xxx xxxx.
BG = PhoneBlock("BG", "359", "85", 7)
#: Spanish +34 59x xxx xxx.
ES = PhoneBlock("ES", "34", "59", 7)
#: Colombian mobile-length +57 39x xxx xxxx.
CO = PhoneBlock("CO", "57", "39", 8)
#: Venezuelan +58 49x xxx xxxx.
VE = PhoneBlock("VE", "58", "49", 8)

BLOCKS: dict[str, PhoneBlock] = {b.key: b for b in (NL, RO, BG, ES, CO, VE)}
#: Foreign blocks by origin region of a network.
FOREIGN_BY_REGION: dict[str, tuple[str, ...]] = {
    "east": ("RO", "BG"),
    "latin": ("ES", "CO", "VE"),
}

# Multipliers coprime to 10, so x -> (a * x + b) mod 10**k is a permutation of the block.
_MULTIPLIER = {6: 737_373, 7: 7_654_321, 8: 31_415_927}
_OFFSET = {6: 271_828, 7: 1_234_567, 8: 27_182_818}


def phone_number(block: PhoneBlock, serial: int) -> str:
    """The E.164 number of the ``serial``-th phone of a block (distinct serials -> distinct)."""
    k = block.free_digits
    if not 0 <= serial < block.size:
        raise ValueError(f"phone serial {serial} outside block {block.key} (size {block.size})")
    local = (_MULTIPLIER[k] * serial + _OFFSET[k]) % block.size
    return f"+{block.country_code}{block.prefix}{local:0{k}d}"


def _national(e164: str) -> tuple[str, str]:
    """Split an E.164 number of one of our blocks into (country code, national number)."""
    for block in BLOCKS.values():
        if e164.startswith("+" + block.country_code + block.prefix):
            return block.country_code, e164[1 + len(block.country_code) :]
    raise ValueError(f"{e164} is not in a synthetic block")


@lru_cache(maxsize=4096)
def display_forms(e164: str) -> tuple[str, ...]:
    """Plain (not obfuscated) ways sites and advertisers write the number."""
    cc, nat = _national(e164)
    if cc == "31":
        n = "0" + nat  # 0691234567
        return (
            f"{n[:2]}-{n[2:]}",
            f"{n[:2]} {n[2:]}",
            n,
            f"+31 {nat[0]} {nat[1:]}",
            e164,
            f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:8]} {n[8:]}",
            f"0031 {nat[0]} {nat[1:]}",
        )
    grouped = " ".join(nat[i : i + 3] for i in range(0, len(nat), 3))
    return (f"+{cc} {grouped}", e164, f"00{cc} {nat}", f"+{cc} {nat}")


_WORDS = {
    "nl": ("nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}


def obfuscated_form(e164: str, rng: random.Random, lang: str) -> str:
    """An obfuscated way to write the number (indicator A09): spaced digits, letter O for zero,
    digits as words, or a mix. Always in national form for Dutch numbers."""
    cc, nat = _national(e164)
    digits = "0" + nat if cc == "31" else f"+{cc}{nat}"
    style = rng.randrange(5)
    if style == 0:  # spaced digits
        return " ".join(digits)
    if style == 1:  # letter O for zero
        plain = rng.choice(display_forms(e164)[:3])
        return plain.replace("0", "O")
    if style == 2:  # digits as words
        words = _WORDS["en" if lang == "en" else "nl"]
        return " ".join(words[int(c)] if c.isdigit() else "plus" for c in digits)
    if style == 3:  # first digits as words, rest spaced in groups
        words = _WORDS["en" if lang == "en" else "nl"]
        head = " ".join(words[int(c)] if c.isdigit() else "plus" for c in digits[:3])
        tail = digits[3:]
        return head + " " + " ".join(tail[i : i + 2] for i in range(0, len(tail), 2))
    # dots and dashes between every digit pair
    return ".".join(digits[i : i + 2] for i in range(0, len(digits), 2)).replace("0", "O", 1)
