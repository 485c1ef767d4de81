"""The reader's limits: dates after conversion to UTC, nesting and size of extra fields, line
length without reading a long line whole, and per-record errors that never end a run."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import orjson
import pytest

from signaal.ads.pipeline import PipelineConfig, run_file
from signaal.ads.read import (
    MAX_EXTRA_DEPTH,
    MAX_LINE_BYTES,
    iter_lines,
    read_records,
)
from signaal.ads.records import AdRecord
from signaal.ads.types import Quarantined

from .adfactories import record_json


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _line(**overrides: object) -> bytes:
    return orjson.dumps(record_json(**overrides))


@pytest.mark.parametrize(
    ("posted_at", "why"),
    [
        ("0001-01-01T00:00:00+14:00", "out of range once converted to UTC"),
        ("9999-12-31T23:59:59-14:00", "out of range once converted to UTC"),
        ("0001-01-01T00:00:00Z", "in the year 1 in UTC"),
        ("1989-12-31T23:59:59+00:00", "in the year 1989 in UTC"),
        ("1990-01-01T00:30:00+01:00", "in the year 1989 in UTC"),
        ("2200-01-01T00:00:00Z", "in the year 2200 in UTC"),
        ("2199-12-31T23:30:00-01:00", "in the year 2200 in UTC"),
    ],
)
def test_dates_out_of_range_after_conversion_are_quarantined(
    tmp_path: Path, posted_at: str, why: str
) -> None:
    path = _write(tmp_path / "ads.jsonl", [_line(id="a:1", posted_at=posted_at), _line(id="a:2")])
    for engine_workers in (1, 2):
        result = run_file(path, PipelineConfig(pseudonym_key="k", workers=engine_workers))
        assert [ad.id for ad in result.ads] == ["a:2"]
        (bad,) = result.quarantined
        assert (bad.source, bad.line, bad.field) == ("ads.jsonl", 1, "posted_at")
        assert why in bad.reason


def test_the_edges_of_the_date_range_are_read(tmp_path: Path) -> None:
    lines = [
        _line(id="a:1", posted_at="1990-01-01T00:00:00Z"),
        _line(id="a:2", posted_at="2199-12-31T23:59:59Z"),
        _line(id="a:3", posted_at="1990-01-01T13:00:00+14:00"),
    ]
    items = list(read_records(_write(tmp_path / "ads.jsonl", lines)))
    assert [i.id for i in items if isinstance(i, AdRecord)] == ["a:1", "a:2"]
    assert isinstance(items[-1], Quarantined)  # 1989-12-31T23:00Z


@pytest.mark.parametrize("depth", [MAX_EXTRA_DEPTH + 1, 300, 1000, 5000])
def test_an_extra_field_nested_too_deep_is_quarantined(tmp_path: Path, depth: int) -> None:
    deep = _line(id="a:1")[:-1] + b',"nest":' + b"[" * depth + b"]" * depth + b"}"
    deep_objects = _line(id="a:2")[:-1] + b',"obj":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    path = _write(tmp_path / "ads.jsonl", [deep, deep_objects, _line(id="a:3")])
    result = run_file(path, PipelineConfig(pseudonym_key="k"))
    assert [ad.id for ad in result.ads] == ["a:3"]
    assert [(q.line, q.field) for q in result.quarantined] == (
        [(1, "nest"), (2, "obj")] if depth <= 1024 else [(1, None), (2, None)]
    )  # from 1024 levels orjson itself refuses the line ("malformed JSON")
    assert all(q.reason for q in result.quarantined)


def test_extra_fields_at_the_depth_limit_are_kept(tmp_path: Path) -> None:
    depth = MAX_EXTRA_DEPTH
    line = _line(id="a:1")[:-1] + b',"nest":' + b"[" * depth + b"]" * depth + b"}"
    (record,) = read_records(_write(tmp_path / "ads.jsonl", [line]))
    assert isinstance(record, AdRecord)
    assert "nest" in record.extra


def test_extra_fields_with_too_many_values_are_quarantined(tmp_path: Path) -> None:
    wide = _line(id="a:1")[:-1] + b',"many":' + orjson.dumps(list(range(20_000))) + b"}"
    (item,) = read_records(_write(tmp_path / "ads.jsonl", [wide]))
    assert isinstance(item, Quarantined)
    assert item.field == "many"
    assert "more than" in item.reason


def test_a_long_line_is_not_read_into_memory_whole(tmp_path: Path) -> None:
    path = tmp_path / "ads.jsonl"
    with path.open("wb") as handle:
        handle.write(_line(id="a:1") + b"\n")
        handle.write(b'{"id":"a:2","text":"')
        block = b"x" * (1 << 20)
        for _ in range(60):  # 60 MB on one line
            handle.write(block)
        handle.write(b'"}\n')
        handle.write(_line(id="a:3") + b"\n")
    tracemalloc.start()
    lines = [(number, len(data)) for number, data in iter_lines(path)]  # only lengths kept
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [n for n, _ in lines] == [1, 2, 3]
    assert lines[1][1] == MAX_LINE_BYTES + 2  # its start only
    assert peak < 10 * MAX_LINE_BYTES  # not the 60 MB of the line
    result = run_file(path, PipelineConfig(pseudonym_key="k"))
    assert [ad.id for ad in result.ads] == ["a:1", "a:3"]
    (bad,) = result.quarantined
    assert (bad.line, bad.field) == (2, None)
    assert bad.reason.startswith("line too long")
    assert len(bad.raw) <= 10_001


def test_a_line_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    base = _line(id="a:1")
    padded = base[:-1] + b',"pad":"' + b"p" * (MAX_LINE_BYTES - len(base) - 9) + b'"}'
    assert len(padded) == MAX_LINE_BYTES
    path = _write(tmp_path / "ads.jsonl", [padded, _line(id="a:2")])
    items = list(read_records(path))
    assert len(items) == 2  # read, then quarantined by the extra field's size or analysed
    assert not any(isinstance(i, Quarantined) and "line too long" in i.reason for i in items)


def test_a_bom_is_accepted_on_the_first_line_only(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    path = _write(tmp_path / "ads.jsonl", [bom + _line(id="a:1"), bom + _line(id="a:2")])
    items = list(read_records(path))
    assert isinstance(items[0], AdRecord)
    assert isinstance(items[1], Quarantined)
    assert items[1].line == 2


def test_a_csv_row_the_csv_reader_rejects_costs_only_that_row(tmp_path: Path) -> None:
    from signaal.ads.records import AD_RECORD_FIELDS

    header = ",".join(AD_RECORD_FIELDS)

    def row(ad_id: str, text: str = "Hoi") -> str:
        values = {
            "id": ad_id,
            "site": "s",
            "url": "u",
            "posted_at": "2026-03-02T10:00:00+01:00",
            "title": "t",
            "text": text,
            "phones": "06-90000001",
            "age": "25",
        }
        return ",".join(values.get(name, "") for name in AD_RECORD_FIELDS)

    text = "\n".join([header, row("c:1"), row("c:2", "y" * 200_000), row("c:3")]) + "\n"
    path = tmp_path / "ads.csv"
    path.write_text(text, "utf-8")
    items = list(read_records(path))
    assert [i.id for i in items if isinstance(i, AdRecord)] == ["c:1", "c:3"]
    (bad,) = [i for i in items if isinstance(i, Quarantined)]
    assert bad.line == 3
    assert "malformed CSV" in bad.reason
