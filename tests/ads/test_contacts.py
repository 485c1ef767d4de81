import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaal.ads import contacts
from signaal.ads.contacts import (
    canonical_phone,
    contacts_in_text,
    email_from_field,
    find_emails,
    find_handles,
    find_phones,
    handle_from_field,
    phone_from_field,
)
from signaal.ads.types import ContactKind

NUMBER = "+31690123456"  # possible but unallocated (06-9 block)


def test_test_number_is_possible_but_not_valid() -> None:
    parsed = phonenumbers.parse(NUMBER)
    assert phonenumbers.is_possible_number(parsed)
    assert not phonenumbers.is_valid_number(parsed)


@pytest.mark.parametrize(
    ("text", "obscured"),
    [
        ("Bel 06-90123456 voor een afspraak", False),
        ("bel 0690123456", False),
        ("tel: 06 9012 3456", False),
        ("tel 06.90.12.34.56", False),
        ("+31 6 90123456", False),
        ("+31 (0)6 90123456", False),
        ("0031 6 9012 3456", False),
        ("0031690123456", False),
        ("bel O6-9 0 1 2 3 4 5 6", True),
        ("o 6 9 0 1 2 3 4 5 6", True),
        ("O6 9O12 3456", True),
        ("06-9O123456 is mijn nummer", True),
        ("06-9012345 6", False),
        ("0 6 9 0 1 2 3 4 5 6", True),
        ("nul zes negen nul een twee drie vier vijf zes", True),
        ("NUL ZES 9 0 1 2 3 4 5 6", True),
        ("zero six nine zero one two three four five six", True),
        ("06 nul negen 0 1 2 3 4 5 6", False),
    ],
)
def test_phone_forms(text: str, obscured: bool) -> None:
    found = find_phones(text)
    if text.startswith("06 nul negen"):
        # "06 nul negen 0…" is 06-09-0…: eleven digits, no Dutch number; make sure we do not
        # invent one from a part of it either.
        assert all(value != NUMBER for value, *_ in found) or found[0][3]
        return
    assert [value for value, *_ in found] == [NUMBER]
    _value, start, end, is_obscured = found[0]
    assert is_obscured is obscured
    assert canonical_phone(text[start:end].replace("O", "0").replace("o", "0")) in (NUMBER, None)


def test_letters_l_and_i_for_one() -> None:
    assert [v for v, *_ in find_phones("O6-9O12345l")] == ["+31690123451"]
    assert [v for v, *_ in find_phones("O6 9O I2 345 6")] == ["+31690123456"]


def test_mixed_words_and_digits() -> None:
    found = find_phones("app 06 nul 9 0 1 2 3 4 5 bellen")
    assert [(v, o) for v, _s, _e, o in found] == [("+31609012345", True)]


def test_span_points_into_the_text() -> None:
    text = "Hoi! Bel O6-9 0 1 2 3 4 5 6 na 18u."
    ((_value, start, end, _obscured),) = find_phones(text)
    assert text[start:end] == "O6-9 0 1 2 3 4 5 6"


def test_foreign_numbers_keep_their_country() -> None:
    assert [v for v, *_ in find_phones("Roemeens nummer +40 712 345 678")] == ["+40712345678"]


@pytest.mark.parametrize(
    "text",
    [
        "prijs 150 euro, 30 min 80 euro",
        "22 jaar, 1,70 m, 55 kg",
        "Postcode 3511 AB Utrecht",
        "open 10:00 - 22:00, ook 10.00-02.00",
        "op 01-02-2026 10.00 uur",
        "geboren 12-10-2004, 0,5 uur 60",
        "Hoi, ik ben Olga en ik ben 21",
        "tarief 100 200 300 400 500",
        "bel 0612",
    ],
)
def test_no_phone_in_prices_ages_dates_postcodes_times(text: str) -> None:
    assert find_phones(text) == []


def test_number_next_to_a_price_is_still_found() -> None:
    found = find_phones("150 per uur 0690123456 60min")
    assert [v for v, *_ in found] == [NUMBER]
    assert [v for v, *_ in find_phones("open 10-02 0690123456")] == [NUMBER]


def test_two_numbers() -> None:
    found = find_phones("app 0690123456 of 0690123457")
    assert [v for v, *_ in found] == [NUMBER, "+31690123457"]


@given(st.integers(min_value=0, max_value=99), st.integers(min_value=0, max_value=9999))
def test_prices_and_ages_never_become_phones(age: int, price: int) -> None:
    assert find_phones(f"{age} jaar, {price} euro per uur, {price // 2} per half uur") == []


def test_phone_field_values() -> None:
    assert phone_from_field("06-90123456") == (NUMBER, False)
    assert phone_from_field("+31690123456") == (NUMBER, False)
    assert phone_from_field("O6 9O12 3456") == (NUMBER, True)
    assert phone_from_field("bellen") is None


def test_emails_plain_and_obscured() -> None:
    text = "mail Anna.B@Example.NL of anna [at] example [dot] nl of bob at example dot com"
    assert [(v, o) for v, _s, _e, o in find_emails(text)] == [
        ("anna.b@example.nl", False),
        ("anna@example.nl", True),
        ("bob@example.com", True),
    ]
    assert email_from_field(" Anna@Example.nl ") == "anna@example.nl"
    assert email_from_field("geen mail") is None


def test_handles() -> None:
    text = "telegram: @Anna_x, snap anna123 en insta: anna.b of @lisa99; t.me/Anna_x"
    values = sorted({v for v, _s, _e in find_handles(text)})
    assert values == [
        "instagram:anna.b",
        "snapchat:anna123",
        "telegram:anna_x",
        "unknown:lisa99",
    ]
    assert list(find_handles("via whatsapp bellen of sms")) == []
    assert list(find_handles("een of twee uur")) == []
    assert handle_from_field("telegram:@Anna_x") == "telegram:anna_x"
    assert handle_from_field("@Lisa") == "unknown:lisa"
    assert handle_from_field("https://t.me/annax") == "telegram:annax"


def test_contacts_in_text_kinds_and_websites() -> None:
    text = (
        "www.anna-escort.example.com, mail anna@escort.example.com, https://t.me/annax, "
        "bel 06-90123456"
    )
    found = contacts_in_text(text, "text")
    assert [(c.kind, c.value) for c in found] == [
        (ContactKind.WEBSITE, "anna-escort.example.com"),
        (ContactKind.EMAIL, "anna@escort.example.com"),
        (ContactKind.HANDLE, "telegram:annax"),
        (ContactKind.PHONE, NUMBER),
    ]
    assert all(c.span is not None and c.source == "text" for c in found)


def test_wa_me_link_is_a_phone() -> None:
    found = contacts_in_text("app via wa.me/31690123456", "text")
    assert [(c.kind, c.value) for c in found] == [(ContactKind.PHONE, NUMBER)]


def test_country_code_shortcut_agrees_with_phonenumbers() -> None:
    import random

    from signaal.ads.contacts import _country_code

    rng = random.Random(7)
    checked = 0
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(5):
            rest = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 12)))
            number = f"+{code}{rest}"
            expected = phonenumbers.parse(number).country_code
            assert _country_code.__wrapped__(number) == expected, number
            checked += 1
    assert checked > 500


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(["tg", "WA", "sC", "ig", "of", "ſc", "x", " ", "\u2003", ":", "="]))
)
def test_short_handle_hint_is_the_regex_search(parts: list[str]) -> None:
    text = "".join(parts)
    assert contacts._short_handle_hint(text) == bool(contacts._SHORT_HANDLE_HINT_RE.search(text))
