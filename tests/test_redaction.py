import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaal.ads.contacts import contacts_in_text
from signaal.ads.masking import contact_spans
from signaal.privacy.redaction import redact_spans


def test_spans_are_replaced_in_order_and_the_rest_is_kept() -> None:
    text = "bel 06-90000001 of mail a@example.com"
    redacted = redact_spans(text, [(24, 37, "[email:1]"), (4, 15, "[phone:2]")])
    assert redacted == "bel [phone:2] of mail [email:1]"


def test_overlapping_spans_are_replaced_once_and_no_character_of_either_survives() -> None:
    # The span that reaches further than the first one used to leave its tail ("fg") in the clear.
    assert redact_spans("abcdefgh", [(1, 5, "X"), (3, 7, "Y")]) == "aXh"
    assert redact_spans("abcdefgh", [(3, 7, "Y"), (1, 5, "X"), (2, 3, "Z")]) == "aXh"


def test_a_span_inside_another_is_replaced_with_it() -> None:
    assert redact_spans("abcdefgh", [(1, 7, "X"), (2, 4, "Y")]) == "aXh"


def test_no_spans_leave_the_text_unchanged() -> None:
    assert redact_spans("niets", []) == "niets"


def test_a_span_outside_the_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        redact_spans("kort", [(2, 10, "X")])


# ----------------------------------------------------------------------------------------------
# Property: no contact point found in a text survives its redaction, however it was written and
# however often it appears (the store once redacted only the first of two equal numbers).

DUTCH = ["nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"]
ENGLISH = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
FILLER = ["bel", "of", "app", "mij", "24/7", "nieuw in Utrecht", "€150", "22 jaar", "x", "😘"]


def _written(digits: str, style: int) -> str:
    """One Dutch mobile number, written as ads hide it from scrapers."""
    number = "06" + digits
    if style == 0:
        return f"{number[:2]}-{number[2:]}"
    if style == 1:
        return " ".join(number)
    if style == 2:
        return ".".join(number[i : i + 2] for i in range(0, 10, 2)).replace("0", "O")
    if style == 3:
        return " ".join(DUTCH[int(d)] for d in number)
    if style == 4:
        return " ".join(ENGLISH[int(d)] for d in number)
    if style == 5:
        return f"+31 6 {digits[:4]} {digits[4:]}"
    return f"{number[:2]} nul {number[3:]}" if number[2] == "0" else number


phones = st.builds(
    _written,
    st.text(alphabet="0123456789", min_size=8, max_size=8).filter(lambda d: d[0] != "0"),
    st.integers(0, 6),
)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10)
emails = st.builds(lambda local, domain: f"{local}@{domain}.nl", names, names)
handles = st.builds(lambda name: f"telegram: @{name}x", names)
websites = st.builds(lambda name: f"www.{name}-escort.nl", names)
fragments = st.lists(
    st.one_of(phones, emails, handles, websites, st.sampled_from(FILLER)), min_size=1, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    fragments, st.lists(st.integers(0, 5), max_size=4), st.sampled_from([" ", ", ", "\n", " - "])
)
def test_no_contact_point_found_in_a_text_survives_redaction(
    pool: list[str], repeats: list[int], separator: str
) -> None:
    # Some fragments twice or more, so the same number (in the same or another disguise) repeats.
    parts = pool + [pool[i % len(pool)] for i in repeats]
    text = separator.join(parts)
    found = contacts_in_text(text, "text")
    redacted = redact_spans(text, contact_spans(text, "text"))
    left = {(c.kind, c.value) for c in contacts_in_text(redacted, "text")}
    for contact in found:
        assert contact.span is not None
        written = text[contact.span[0] : contact.span[1]]
        assert written not in redacted, (text, redacted)
        assert (contact.kind, contact.value) not in left, (text, redacted)
        assert contact.value not in redacted


def test_the_same_number_twice_is_redacted_twice() -> None:
    text = "Bel 06-94320989 of app O6.94.32.09.89, nogmaals: 06-94320989"
    redacted = redact_spans(text, contact_spans(text, "text"))
    assert redacted == "Bel [06-•••••89] of app [06-•••••89], nogmaals: [06-•••••89]"
