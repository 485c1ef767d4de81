"""Fuzzing the reader and the per-ad stages: any value in any field is read or quarantined.

Hostile input is normal input: whatever a line holds (random JSON in every field, odd unicode,
huge numbers, deep nesting, broken CSV), reading never raises, and every record that is read
goes through normalising, indicators and the whole pipeline without an error.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaal.ads.indicators import default_matcher, detect
from signaal.ads.normalise import normalise
from signaal.ads.outputs import (
    ADS_COLUMNS,
    FORMULA_STARTS,
    LINKS_COLUMNS,
    NETWORKS_COLUMNS,
    PERSONAS_COLUMNS,
    build_tables,
    csv_text,
)
from signaal.ads.pipeline import PipelineConfig, run
from signaal.ads.read import ParsedLine, parse_line, read_records
from signaal.ads.records import AD_RECORD_FIELDS, AdRecord
from signaal.ads.types import Quarantined

from .adfactories import record_json

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # JSON cannot carry lone surrogates
    max_size=60,
)
_odd_text = st.one_of(
    _text,
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e06-12345678",
            "０６‐１２３４５６７８",
            "O6.94.32.09.89",
            "nul zes negen vier",
            '=HYPERLINK("http://x.test")',
            "𝟎𝟔𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖",
            "\ufeff",
            "🙂" * 30,
            "ǅ" * 10,
        ]
    ),
)
_numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 151, 2**63, 1e308, -1e-308, 5e-324]),
)
_json: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), _numbers, _odd_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_odd_text, children, max_size=4)
    ),
    max_leaves=12,
)
_dates = st.one_of(
    _json,
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00Z",
            "1989-12-31T23:59:59Z",
            "2026-03-02T10:00:00+01:00",
            "2026-03-02T10:00:00",
            "2026-02-30T10:00:00Z",
            "2026-03-02T25:00:00Z",
            "2026-03-02T10:00:00+23:59",
        ]
    ),
)
_field_values: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(_odd_text, _json),
    "site": st.one_of(_odd_text, _json),
    "url": st.one_of(_odd_text, _json),
    "posted_at": _dates,
    "title": st.one_of(_odd_text, _json),
    "text": st.one_of(_odd_text, _json),
    "city": st.one_of(st.none(), _odd_text, st.sampled_from(["Utrecht", "'s-Hertogenbosch"])),
    "phones": st.one_of(st.lists(_odd_text, max_size=3), _json),
    "emails": st.one_of(st.lists(_odd_text, max_size=3), _json),
    "handles": st.one_of(st.lists(_odd_text, max_size=3), _json),
    "name": st.one_of(st.none(), _odd_text, _json),
    "age": st.one_of(st.none(), _numbers, _json),
    "origin": st.one_of(st.none(), _odd_text),
    "category": st.one_of(st.none(), _odd_text),
    "prices": st.one_of(
        st.dictionaries(_odd_text, st.one_of(st.none(), _numbers), max_size=4), _json
    ),
    "images": st.one_of(st.just([]), _json),
}
#: Values the schema accepts, but odd ones: most records of this kind are analysed, not quarantined.
_valid_odd = st.fixed_dictionaries(
    {},
    optional={
        "title": _odd_text,
        "text": st.lists(_odd_text, max_size=6).map(" ".join),
        "city": st.one_of(st.none(), _odd_text),
        "phones": st.lists(_odd_text, max_size=3),
        "emails": st.lists(_odd_text, max_size=2),
        "handles": st.lists(_odd_text, max_size=2),
        "name": st.one_of(st.none(), _odd_text),
        "age": st.one_of(st.none(), st.integers(min_value=0, max_value=150)),
        "prices": st.dictionaries(
            _odd_text,
            st.one_of(
                st.none(),
                st.integers(min_value=0, max_value=2**64 - 1),
                st.floats(min_value=0, allow_infinity=False),
            ),
            max_size=4,
        ),
        "posted_at": st.sampled_from(
            ["1990-01-01T00:00:00+14:00", "2199-12-31T23:59:59-14:00", "2026-03-02T10:00:00Z"]
        ),
        "extra": _json,
    },
)
_records = st.fixed_dictionaries(
    {},
    optional={**_field_values, "extra": _json, "nested": _json},
)


def _complete(partial: dict[str, Any]) -> dict[str, Any]:
    record = record_json()
    record.update(partial)
    return record


def _analysed(item: ParsedLine | Quarantined | None) -> None:
    if isinstance(item, ParsedLine):
        ad = normalise(item.record)
        detect(ad, default_matcher())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records)
def test_any_json_values_in_any_field_are_read_or_quarantined(partial: dict[str, Any]) -> None:
    line = orjson.dumps(_complete(partial))
    item = parse_line(line, "fuzz.jsonl", 1)
    assert item is not None
    if isinstance(item, Quarantined):
        assert (item.source, item.line) == ("fuzz.jsonl", 1)
        assert item.reason
    _analysed(item)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_quarantined(data: bytes) -> None:
    item = parse_line(data, "fuzz.jsonl", 7)
    if isinstance(item, Quarantined):
        assert item.line == 7
    _analysed(item)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(_text, _odd_text), min_size=len(AD_RECORD_FIELDS), max_size=20))
def test_any_csv_row_is_read_or_quarantined(tmp_path_factory: Any, cells: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(AD_RECORD_FIELDS)
    writer.writerow(list(record_json().values())[: len(AD_RECORD_FIELDS)])
    writer.writerow(cells)
    path = Path(tmp_path_factory.mktemp("csv")) / "ads.csv"
    path.write_text(buffer.getvalue(), "utf-8")
    items = list(read_records(path))
    assert items  # the good row at least
    for item in items:
        if isinstance(item, AdRecord):
            detect(normalise(item), default_matcher())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_valid_odd, _records), min_size=1, max_size=6))
def test_whatever_is_read_goes_through_the_whole_pipeline(partials: list[dict[str, Any]]) -> None:
    items: list[AdRecord | Quarantined] = []
    for number, partial in enumerate(partials, start=1):
        record = _complete(partial)
        record["id"] = f"fuzz:{number}"
        item = parse_line(orjson.dumps(record), "fuzz.jsonl", number)
        if isinstance(item, ParsedLine):
            items.append(item.record)
    result = run(items, PipelineConfig(pseudonym_key="fuzz-key", photos=False))
    assert len(result.ads) == len(items)
    tables = build_tables(result, pseudonym_key="fuzz-key")
    for rows, columns in (
        (tables.ads, ADS_COLUMNS),
        (tables.personas, PERSONAS_COLUMNS),
        (tables.networks, NETWORKS_COLUMNS),
        (tables.links, LINKS_COLUMNS),
    ):
        for row in csv.reader(io.StringIO(csv_text(rows, columns))):
            assert not any(cell.startswith(FORMULA_STARTS) for cell in row)
