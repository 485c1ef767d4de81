"""Messenger words before spelled-out numbers or pronouns are not handles."""

from collections.abc import Callable

import pytest

from signaal.ads.contacts import contacts_in_text, find_handles, handle_from_field
from signaal.ads.normalise import normalise
from signaal.ads.records import AdRecord
from signaal.ads.types import ContactKind

NUMBER = "+31690123456"  # possible but unallocated (06-9 block)


def _handles(text: str) -> list[str]:
    return sorted({value for value, _start, _end in find_handles(text)})


@pytest.mark.parametrize(
    "text",
    [
        "WhatsApp nul zes negen nul 123456",
        "whatsapp NUL zes negen nul 1 2 3 4 5 6",
        "WA: nul-zes-negen-nul-123456",
        "wa=nul zes 90123456",
        "Telegram: zes negen",
        "telegram zero six nine zero 123456",
        "snapchat: één twee drie",
        "Signal: Nulzes9012",
        "whatsapp: 0690123456",
        "kik: one_two_three",
        "whatsapp: oh six",
    ],
)
def test_digit_words_after_a_service_are_not_handles(text: str) -> None:
    assert _handles(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "telegram me",
        "Telegram mij",
        "whatsapp mee",
        "WhatsApp: mij of bel",
        "telegram op 0690123456",
        "snapchat naar bella",
        "app via whatsapp en bellen",
        "instagram OF snapchat",
    ],
)
def test_stop_words_after_a_service_are_not_handles(text: str) -> None:
    assert all(
        not value.endswith((":me", ":mij", ":mee", ":op", ":naar", ":en", ":of"))
        for value in _handles(text)
    )


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("snapchat: bella_xx", "snapchat:bella_xx"),
        ("Telegram @Nulzes_girl", "telegram:nulzes_girl"),
        ("whatsapp: nina06", "whatsapp:nina06"),
        ("insta: oneandonly", "instagram:oneandonly"),
        ("kik tweety", "kik:tweety"),
    ],
)
def test_real_handles_still_found(text: str, handle: str) -> None:
    assert _handles(text) == [handle]


def test_spelled_number_after_whatsapp_is_only_a_phone() -> None:
    found = contacts_in_text("WhatsApp nul zes negen nul 123456", "text")
    assert [(c.kind, c.value) for c in found] == [(ContactKind.PHONE, NUMBER)]


def test_handle_fields_that_are_digit_words_or_stop_words_are_no_handle() -> None:
    assert handle_from_field("whatsapp:nul") is None
    assert handle_from_field("@mij") is None
    assert handle_from_field("telegram:@Bella_x") == "telegram:bella_x"


def test_a_handle_field_of_a_digit_word_is_a_noted_problem_not_a_contact_point(
    make_record: Callable[..., AdRecord],
) -> None:
    ad = normalise(make_record(handles=["whatsapp:nul", "snapchat:@bella_xx"]))
    handles = [c.value for c in ad.contacts if c.kind is ContactKind.HANDLE]
    assert handles == ["snapchat:bella_xx"]
    assert any("whatsapp:nul" in problem for problem in ad.problems)
