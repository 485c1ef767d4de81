from hypothesis import given
from hypothesis import strategies as st

from signaal.ads.text import fold


def test_case_diacritics_and_typography_fold() -> None:
    assert fold("ÉÉN Keer – ‘echt’").text == "een keer - 'echt'"


def test_leetspeak_only_inside_words() -> None:
    assert fold("n0 l1m1ts, s3x").text == "no limits, sex"
    # Numbers stay numbers.
    assert fold("24/7 voor 100% en 18 jaar").text == "24/7 voor 100% en 18 jaar"


def test_spaced_letters_and_digits_are_joined() -> None:
    assert fold("a l l e s  m a g").text == "alles mag"
    assert fold("2 4 / 7 beschikbaar").text == "24/7 beschikbaar"
    assert fold("g-a-n-g-b-a-n-g!").text == "gangbang!"
    assert fold("beschikbaar, a l l e s  m a g, ok").text == "beschikbaar, alles mag, ok"


def test_two_letter_words_are_not_joined() -> None:
    assert fold("ik ga nu op en af").text == "ik ga nu op en af"


def test_invisible_characters_and_whitespace_runs() -> None:
    folded = fold("al\u200bles\u00admag\n\n  dag ✈️ nacht")
    assert folded.text == "allesmag dag ✈ nacht"


def test_span_maps_back_to_original() -> None:
    original = "Ben je er klaar voor? A L L E S  M A G en 2 4 / 7!"
    folded = fold(original)
    for needle in ("alles mag", "24/7"):
        start = folded.text.index(needle)
        a, b = folded.original_span(start, start + len(needle))
        assert fold(original[a:b]).text == needle
    start = folded.text.index("alles mag")
    a, b = folded.original_span(start, start + len("alles mag"))
    assert original[a:b] == "A L L E S  M A G"


@given(st.text(max_size=200))
def test_every_folded_character_comes_from_the_original(text: str) -> None:
    folded = fold(text)
    if folded.offsets is None:
        assert len(folded.text) == len(text)
    else:
        assert len(folded.offsets) == len(folded.text)
        assert list(folded.offsets) == sorted(folded.offsets)
        assert all(0 <= i < len(text) for i in folded.offsets)
    for start in range(len(folded.text)):
        a, b = folded.original_span(start, start + 1)
        assert 0 <= a < b <= len(text)
