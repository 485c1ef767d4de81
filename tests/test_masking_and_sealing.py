"""The masked form of contact points and the sealing of their clear values."""

from __future__ import annotations

import base64

import pytest

from signaal.privacy.masking import HIDDEN, masked_contact, masked_in_text
from signaal.privacy.sealing import Sealer, SealError, open_sealed, seal

KEY = "test-contact-key-0123456789abcdef-0123456789"


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("phone", "+31694320989", f"06-{HIDDEN}89"),
        ("phone", "+31201234567", f"02-{HIDDEN}67"),
        ("phone", "+32470123456", f"+32-{HIDDEN}56"),
        ("phone", "+4915112345678", f"+49-{HIDDEN}78"),
        ("email", "anna.b@example.nl", f"a{HIDDEN}@{HIDDEN}.nl"),
        ("handle", "telegram:sweetanna", f"telegram:s{HIDDEN}"),
        ("handle", "unknown:@bella_x", f"unknown:b{HIDDEN}"),
        ("website", "anna-escort.nl", f"{HIDDEN}.nl"),
    ],
)
def test_one_masked_form_per_kind(kind: str, value: str, masked: str) -> None:
    assert masked_contact(kind, value) == masked
    assert masked_in_text(kind, value) == f"[{masked}]"


def test_a_mask_shows_at_most_four_digits_and_not_the_length() -> None:
    for value in ("+31694320989", "+3120123456", "+4915112345678", "+3531234567"):
        masked = masked_contact("phone", value)
        assert sum(c.isdigit() for c in masked) <= 4
        assert masked.count("•") == len(HIDDEN)
        assert value[1:] not in masked
        assert value[3:] not in masked


def test_sealed_values_open_only_in_their_own_row() -> None:
    sealer = Sealer(KEY)
    sealed = sealer.seal("+31694320989", run_id=7, pseudonym="phone:0123456789abcdef")
    assert sealed.startswith("v1.")
    assert "+31694320989" not in sealed
    assert "694320989" not in base64.urlsafe_b64decode(sealed[3:]).decode("latin-1")
    assert sealer.open(sealed, run_id=7, pseudonym="phone:0123456789abcdef") == "+31694320989"
    # A sealed value copied to another run or under another pseudonym does not open.
    with pytest.raises(SealError, match="does not open"):
        sealer.open(sealed, run_id=8, pseudonym="phone:0123456789abcdef")
    with pytest.raises(SealError, match="does not open"):
        sealer.open(sealed, run_id=7, pseudonym="phone:fedcba9876543210")
    # Another key does not open it either.
    with pytest.raises(SealError):
        open_sealed(KEY + "x", sealed, run_id=7, pseudonym="phone:0123456789abcdef")


def test_the_same_value_seals_differently_each_time() -> None:
    a = seal(KEY, "anna@example.nl", run_id=1, pseudonym="email:00112233aabbccdd")
    b = seal(KEY, "anna@example.nl", run_id=1, pseudonym="email:00112233aabbccdd")
    assert a != b  # random nonce: equal sealed texts would show equal numbers


@pytest.mark.parametrize(
    ("sealed", "message"),
    [
        ("v2.AAAA", "unknown format"),
        ("plain text", "unknown format"),
        ("v1.!!!!", "not valid base64"),
        ("v1." + base64.urlsafe_b64encode(b"short").decode(), "too short"),
    ],
)
def test_damaged_or_foreign_sealed_values_are_refused(sealed: str, message: str) -> None:
    with pytest.raises(SealError, match=message):
        Sealer(KEY).open(sealed, run_id=1, pseudonym="phone:0123456789abcdef")


def test_a_flipped_bit_is_detected() -> None:
    sealer = Sealer(KEY)
    sealed = sealer.seal("+31694320989", run_id=3, pseudonym="phone:0123456789abcdef")
    data = bytearray(base64.urlsafe_b64decode(sealed[3:]))
    data[-1] ^= 1
    damaged = "v1." + base64.urlsafe_b64encode(bytes(data)).decode()
    with pytest.raises(SealError, match="does not open"):
        sealer.open(damaged, run_id=3, pseudonym="phone:0123456789abcdef")
