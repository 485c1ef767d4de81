import pytest

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
