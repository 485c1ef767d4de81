"""Every generated number is possible but not valid (no real subscriber's), in fields and text."""

from __future__ import annotations

import random
from pathlib import Path

import phonenumbers
import pytest

from signaal.synth import read_pairs
from signaal.synth.phones import BLOCKS, display_forms, obfuscated_form, phone_number


def _check(e164: str) -> None:
    n = phonenumbers.parse(e164)
    assert phonenumbers.is_possible_number(n), e164
    assert not phonenumbers.is_valid_number(n), e164


@pytest.mark.parametrize("key", sorted(BLOCKS))
def test_blocks_are_possible_but_unallocated(key: str) -> None:
    block = BLOCKS[key]
    rng = random.Random(1)
    serials = [0, 1, block.size - 1] + [rng.randrange(block.size) for _ in range(2000)]
    numbers = {phone_number(block, s) for s in serials}
    assert len(numbers) == len(set(serials))  # distinct serials, distinct numbers
    for e164 in numbers:
        _check(e164)
        for form in display_forms(e164):
            region = "NL"  # the analysis parses with the Dutch default region
            assert (
                phonenumbers.format_number(
                    phonenumbers.parse(form, region), phonenumbers.PhoneNumberFormat.E164
                )
                == e164
            ), form
    with pytest.raises(ValueError, match="outside block"):
        phone_number(block, block.size)


def test_obfuscated_forms_hide_the_plain_number() -> None:
    rng = random.Random(2)
    e164 = phone_number(BLOCKS["NL"], 42)
    forms = {obfuscated_form(e164, rng, "nl") for _ in range(200)}
    assert len(forms) >= 5
    national = "0" + e164[3:]
    assert all(national not in f for f in forms)


def test_every_number_in_the_corpus_is_unallocated(corpus: Path) -> None:
    seen = 0
    for ad, truth in read_pairs(corpus):
        assert len(truth["phones"]) == 1
        e164 = truth["phones"][0]
        _check(e164)
        for shown in ad["phones"]:
            region = "NL"  # the analysis parses with the Dutch default region
            parsed = phonenumbers.parse(shown, region)
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164
            seen += 1
        in_text = any(f in ad["text"] for f in display_forms(e164))
        obscured = [c for c in truth["indicators"] if c["id"] == "A09"]
        # The number is shown somewhere: in the field, plainly in the text, or obscured (A09).
        assert ad["phones"] or in_text or obscured, ad["id"]
        for email in ad["emails"]:
            domain = email.rsplit("@", 1)[1]
            assert domain in {"example.com", "example.net", "example.org"} or domain.endswith(
                ".example"
            )
    assert seen > 0
