import csv
import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaal.ads.read import (
    ReadStats,
    _quick_valid,
    _schema_validator,
    read_csv,
    read_jsonl,
    read_records,
)
from signaal.ads.records import AD_RECORD_FIELDS, AdRecord
from signaal.ads.types import Quarantined
from signaal.errors import InputError

from .adfactories import record_json


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _line(**overrides: object) -> bytes:
    return orjson.dumps(record_json(**overrides))


def test_good_records_in_order(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "ads.jsonl", [_line(id="a:1"), b"", _line(id="a:2")])
    stats = ReadStats()
    items = list(read_jsonl(path, stats))
    assert [i.id for i in items if isinstance(i, AdRecord)] == ["a:1", "a:2"]
    assert (stats.records, stats.quarantined, stats.duplicates) == (2, 0, 0)


def test_bad_lines_are_quarantined_with_line_field_and_reason(tmp_path: Path) -> None:
    record = record_json(id="a:9")
    del record["site"]
    lines = [
        _line(id="a:1"),
        b"{not json",
        b"[1, 2]",
        orjson.dumps(record),
        _line(id="a:3", posted_at="2026-03-02"),
        _line(id="a:4", posted_at="2026-13-02T10:00:00+01:00"),
        _line(id="a:5", text="x" * 20001),
        _line(id="a:6", age="twenty"),
        b'{"id": "a:7", "text": "caf\xe9"}',
        _line(id="a:8"),
    ]
    path = _write_lines(tmp_path / "ads.jsonl", lines)
    stats = ReadStats()
    items = list(read_jsonl(path, stats))
    good = [i.id for i in items if isinstance(i, AdRecord)]
    bad = {i.line: i for i in items if isinstance(i, Quarantined)}
    assert good == ["a:1", "a:8"]
    assert sorted(bad) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert all(q.source == "ads.jsonl" for q in bad.values())
    assert bad[2].reason.startswith("malformed JSON")
    assert bad[3].reason == "not a JSON object but array"
    assert bad[4].field == "site"
    assert "missing required field" in bad[4].reason
    assert bad[5].field == "posted_at"
    assert bad[6].field == "posted_at"
    assert bad[6].reason.startswith("bad date")
    assert bad[7].field == "text"
    assert "too long" in bad[7].reason
    assert bad[8].field == "age"
    assert bad[9].reason.startswith("not UTF-8")
    assert "\ufffd" in bad[9].raw
    assert stats.quarantined == 8
    assert stats.records == 2


def test_duplicates_dropped_and_conflicts_quarantined(tmp_path: Path) -> None:
    same = record_json(id="a:1")
    reordered = json.dumps(dict(reversed(list(same.items())))).encode()
    lines = [_line(id="a:1"), reordered, _line(id="a:1", text="anders")]
    stats = ReadStats()
    items = list(read_jsonl(_write_lines(tmp_path / "ads.jsonl", lines), stats))
    assert [type(i).__name__ for i in items] == ["AdRecord", "Quarantined"]
    conflict = items[1]
    assert isinstance(conflict, Quarantined)
    assert conflict.line == 3
    assert conflict.field == "id"
    assert "conflicting record" in conflict.reason
    assert "line 1" in conflict.reason
    assert stats.duplicates == 1


def test_absurdly_long_line(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "ads.jsonl", [b'{"id": "' + b"x" * 1_100_000 + b'"}'])
    (item,) = list(read_jsonl(path))
    assert isinstance(item, Quarantined)
    assert item.reason.startswith("line too long")
    assert len(item.raw) <= 10_001


def _write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(AD_RECORD_FIELDS))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def _csv_row(**overrides: object) -> dict[str, object]:
    row = record_json(**overrides)
    for name in ("phones", "emails", "handles", "images"):
        row[name] = ";".join(row[name])  # type: ignore[arg-type]
    row["prices"] = json.dumps(row["prices"])
    for name in ("city", "name", "origin", "category", "age"):
        row[name] = "" if row[name] is None else row[name]
    return row


def test_csv_same_columns(tmp_path: Path) -> None:
    rows = [
        _csv_row(id="c:1", phones=["06-90000001", "06-90000002"]),
        _csv_row(id="c:2", age=None, city=None) | {"emails": '["a@example.nl"]'},
        _csv_row(id="c:3") | {"age": "jong"},
        _csv_row(id="c:4") | {"prices": "{bad"},
    ]
    items = list(read_csv(_write_csv(tmp_path / "ads.csv", rows)))
    records = [i for i in items if isinstance(i, AdRecord)]
    bad = [i for i in items if isinstance(i, Quarantined)]
    assert [r.id for r in records] == ["c:1", "c:2"]
    assert records[0].phones == ("06-90000001", "06-90000002")
    assert records[1].age is None
    assert records[1].city is None
    assert records[1].emails == ("a@example.nl",)
    assert [(q.line, q.field) for q in bad] == [(4, "age"), (5, "prices")]


def test_csv_missing_column_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "ads.csv"
    path.write_text("id,site\nx,y\n", "utf-8")
    with pytest.raises(InputError, match="lacks column"):
        list(read_csv(path))


def test_csv_non_utf8_row_is_quarantined(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "ads.csv", [_csv_row(id="c:1"), _csv_row(id="c:2")])
    data = path.read_bytes().replace(b"c:2", b"c:\xff2")
    path.write_bytes(data)
    items = list(read_csv(path))
    assert [i.id for i in items if isinstance(i, AdRecord)] == ["c:1"]
    (bad,) = [i for i in items if isinstance(i, Quarantined)]
    assert bad.line == 3
    assert bad.reason.startswith("not UTF-8")


def test_read_records_dispatch(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_records(tmp_path / "missing.jsonl")
    other = tmp_path / "ads.xml"
    other.write_text("<x/>")
    with pytest.raises(InputError, match="unknown input format"):
        read_records(other)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(-1, 300)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(AD_RECORD_FIELDS), _values), st.data())
def test_quick_check_accepts_only_what_the_schema_accepts(
    changes: dict[str, object], data: st.DataObject
) -> None:
    record = record_json()
    record.update(changes)
    if data.draw(st.booleans()):
        record.pop(data.draw(st.sampled_from(AD_RECORD_FIELDS)))
    if _quick_valid(record):
        _schema_validator()(record)  # raises if the quick check let an invalid record through


def test_fields_beyond_the_record_are_kept_as_extras() -> None:
    plain = AdRecord.from_json(record_json())
    assert plain.extra == {}
    obj = record_json(scraped_by="crawler-7", rank=3)
    record = AdRecord.from_json(obj)
    assert record.extra == {"scraped_by": "crawler-7", "rank": 3}
    assert record.to_json() == obj
