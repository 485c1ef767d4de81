from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from signaal.ads.normalise import (
    detect_language,
    duration_minutes,
    normalise,
    price_per_hour,
)
from signaal.ads.records import AdRecord
from signaal.ads.types import ContactKind

RecordFactory = Callable[..., AdRecord]


def test_contacts_from_fields_and_text(make_record: RecordFactory) -> None:
    ad = normalise(
        make_record(
            phones=["06-90000001"],
            handles=["telegram:@Anna_X"],
            emails=["Anna@Example.NL"],
            title="Nieuw! bel O6-9 0 0 0 0 0 0 2",
            text="Of app 0690000001. Snap: anna99",
        )
    )
    phones = ad.contact_values(ContactKind.PHONE)
    assert phones == ("+31690000001", "+31690000002")
    assert ad.contact_values(ContactKind.EMAIL) == ("anna@example.nl",)
    assert ad.contact_values(ContactKind.HANDLE) == ("snapchat:anna99", "telegram:anna_x")
    obscured = [c for c in ad.contacts if c.obscured]
    assert [(c.value, c.source) for c in obscured] == [("+31690000002", "title")]
    assert ad.problems == ()


def test_bad_field_values_become_problems(make_record: RecordFactory) -> None:
    ad = normalise(make_record(phones=["bel mij"], emails=["nope"], city="Atlantis"))
    assert ad.contacts == ()
    assert ad.municipality is None
    assert any("phone 'bel mij'" in p for p in ad.problems)
    assert any("e-mail 'nope'" in p for p in ad.problems)
    assert any("city 'Atlantis' not recognised" in p for p in ad.problems)


@pytest.mark.parametrize(
    ("city", "municipality"),
    [("UTRECHT", "Utrecht"), ("Den Haag", "'s-Gravenhage"), ("den bosch", "'s-Hertogenbosch")],
)
def test_city_to_municipality(make_record: RecordFactory, city: str, municipality: str) -> None:
    assert normalise(make_record(city=city)).municipality == municipality


def test_age_from_field_or_text(make_record: RecordFactory) -> None:
    assert normalise(make_record(age=25, text="ik ben 22 jaar")).age == 25
    ad = normalise(make_record(age=None, text="Lieve meid van 22 jaar"))
    assert ad.age == 22
    assert ad.age_in_text_span is not None
    assert ad.record.text[slice(*ad.age_in_text_span)] == "22 jaar"
    assert normalise(make_record(age=None, text="sweet girl, 19 years old")).age == 19
    assert normalise(make_record(age=None, text="negentien jaar jong")).age == 19
    assert normalise(make_record(age=None, text="150 euro per uur")).age is None


def test_posted_at_to_utc(make_record: RecordFactory) -> None:
    ad = normalise(make_record(posted_at="2026-03-02T10:00:00+01:00"))
    assert ad.posted_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "minutes"),
    [("15min", 15), ("30 min", 30), ("60min", 60), ("1u", 60), ("2 uur", 120), ("1h", 60)],
)
def test_duration_keys(key: str, minutes: float) -> None:
    assert duration_minutes(key) == minutes


def test_price_per_hour() -> None:
    assert price_per_hour({"15min": 50, "30min": 80, "60min": 150}) == 150
    assert price_per_hour({"30min": 80}) == 160
    assert price_per_hour({"15min": 40, "90min": 180}) == 120  # 90 min is closest to an hour
    assert price_per_hour({"30min": None}) is None
    assert price_per_hour({}) is None


def test_language() -> None:
    assert detect_language("hoi ik ben anna en ik ben nieuw in de stad") == "nl"
    assert detect_language("hi i am anna and new in the city, call me") == "en"
    assert detect_language("hoi ik ben anna, i am new and the best for you en jij") == "mixed"
    assert detect_language("xxx") == "unknown"


def test_normalise_is_pure(make_record: RecordFactory) -> None:
    record = make_record(text="bel O6-9 0 0 0 0 0 0 1")
    assert normalise(record) == normalise(record)
