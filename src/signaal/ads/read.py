"""Read: ad records from JSON Lines and CSV files, bad records quarantined with the reason.

Every input line (or CSV row) becomes either an :class:`AdRecord` or a :class:`Quarantined` that
says which file, which line, which field and why: not UTF-8, malformed JSON, not an object, a
schema violation (missing field, wrong type, absurdly long value), or a ``posted_at`` that is not
a real time with a UTC offset. The rest of the file is still read.

The same ad twice is one ad: :class:`Deduplicator` drops a record whose id and content were seen
before (counted, not quarantined) and quarantines a *different* record under an id already seen
("conflicting record"). Deduplication is separate from parsing so that parsing (the expensive
part) can run in worker processes on chunks of lines while the deduplicator keeps the order of
the file in the main process.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from signaal.ads.records import AD_RECORD_FIELDS, AdRecord, ad_record_schema
from signaal.ads.types import Quarantined
from signaal.errors import InputError

#: Lines longer than this are quarantined without being parsed (the schema's limits add up to
#: far less; a longer line is a broken file or an attack on memory).
MAX_LINE_BYTES = 1_000_000
#: How much of a bad line is kept in the quarantine file.
MAX_RAW_CHARS = 10_000

_POSTED_AT_RE = re.compile(ad_record_schema()["properties"]["posted_at"]["pattern"])


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A record parsed from one line, with a digest of its content for deduplication."""

    record: AdRecord
    line: int
    digest: bytes


@dataclass(slots=True)
class ReadStats:
    lines: int = 0
    records: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def count_quarantined(self, item: Quarantined) -> None:
        self.quarantined += 1
        key = item.reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1


@cache
def _schema_validator() -> Any:
    return fastjsonschema.compile(ad_record_schema())


_STRING_LIMITS: dict[str, tuple[int, int, bool]] = {}  # field -> (min, max, nullable)
_ARRAY_LIMITS: dict[str, tuple[int, int]] = {}  # field -> (max items, max item length)


def _init_limits() -> None:
    properties = ad_record_schema()["properties"]
    for name, spec in properties.items():
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if "string" in types:
            _STRING_LIMITS[name] = (
                spec.get("minLength", 0),
                spec.get("maxLength", 10**9),
                "null" in types,
            )
        elif "array" in types:
            item_length = spec["items"].get("maxLength", 10**9)
            _ARRAY_LIMITS[name] = (spec.get("maxItems", 10**9), item_length)


_init_limits()
_AGE = ad_record_schema()["properties"]["age"]
_PRICES = ad_record_schema()["properties"]["prices"]


def _quick_valid(obj: dict[str, Any]) -> bool:
    """A fast check that accepts only schema-valid records (tested against the schema itself).

    When it says no, the compiled schema decides and explains; most records never need that.
    """
    for name in AD_RECORD_FIELDS:
        if name not in obj:
            return False
    for name, (low, high, nullable) in _STRING_LIMITS.items():
        value = obj[name]
        if value is None:
            if not nullable:
                return False
        elif type(value) is not str or not low <= len(value) <= high:
            return False
    for name, (max_items, max_length) in _ARRAY_LIMITS.items():
        items = obj[name]
        if type(items) is not list or len(items) > max_items:
            return False
        for item in items:
            if type(item) is not str or len(item) > max_length:
                return False
    age = obj["age"]
    if age is not None and (type(age) is not int or not _AGE["minimum"] <= age <= _AGE["maximum"]):
        return False
    prices = obj["prices"]
    if type(prices) is not dict or len(prices) > _PRICES["maxProperties"]:
        return False
    for value in prices.values():
        if value is not None and (type(value) not in (int, float) or value < 0):
            return False
    return _POSTED_AT_RE.match(obj["posted_at"]) is not None


def _schema_problem(obj: dict[str, Any]) -> tuple[str | None, str] | None:
    """(field, reason) of the first schema violation, or None when the record is valid."""
    if _quick_valid(obj):
        return None
    try:
        _schema_validator()(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        path = [str(p) for p in (exc.path or [])][1:]
        message = exc.message
        if exc.rule == "required":
            missing = [name for name in AD_RECORD_FIELDS if name not in obj]
            reason = f"missing required field(s): {', '.join(missing)}"
            return (missing[0] if missing else None), reason
        name = path[0] if path else None
        location = exc.name or "data"
        reason = message.replace(location, "value", 1) if message.startswith(location) else message
        if exc.rule == "maxLength":
            reason = f"too long: {reason}"
        return name, f"schema: {'.'.join(path) or 'record'}: {reason}"
    return None


def _posted_at_problem(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        return f"bad date: {value!r} ({exc})"
    if parsed.tzinfo is None:
        return f"bad date: {value!r} has no UTC offset"
    return None


def _clip(raw: str | bytes) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "…"


def content_digest(obj: dict[str, Any]) -> bytes:
    """A digest of a record's content that ignores key order and formatting."""
    return hashlib.blake2b(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


def record_from_object(
    obj: Any, source: str, line: int, raw: str | bytes
) -> ParsedLine | Quarantined:
    """Validate one decoded JSON value and build the record (pure)."""
    if not isinstance(obj, dict):
        kind = type(obj).__name__.replace("dict", "object").replace("list", "array")
        return Quarantined(source, line, None, f"not a JSON object but {kind}", _clip(raw))
    problem = _schema_problem(obj)
    if problem is not None:
        return Quarantined(source, line, problem[0], problem[1], _clip(raw))
    date_problem = _posted_at_problem(obj["posted_at"])
    if date_problem is not None:
        return Quarantined(source, line, "posted_at", date_problem, _clip(raw))
    return ParsedLine(AdRecord.from_json(obj), line, content_digest(obj))


def parse_line(data: bytes, source: str, line: int) -> ParsedLine | Quarantined | None:
    """One JSON Lines line to a record, a quarantined line, or None for a blank line (pure)."""
    if len(data) > MAX_LINE_BYTES:
        return Quarantined(
            source,
            line,
            None,
            f"line too long: {len(data):,} bytes (limit {MAX_LINE_BYTES:,})",
            _clip(data[:MAX_RAW_CHARS].decode("utf-8", "replace")),
        )
    stripped = data.strip()
    if not stripped:
        return None
    try:
        obj = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        try:
            text = stripped.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Quarantined(
                source,
                line,
                None,
                f"not UTF-8: byte 0x{stripped[bad.start]:02x} at position {bad.start}",
                _clip(stripped.decode("utf-8", "replace")),
            )
        return Quarantined(source, line, None, f"malformed JSON: {exc}", _clip(text))
    return record_from_object(obj, source, line, stripped)


class Deduplicator:
    """The same ad twice is one ad; a different record under a known id is a conflict."""

    def __init__(self) -> None:
        # id -> (first 8 bytes of the content digest as an int, line): compact for millions.
        self._seen: dict[str, tuple[int, int]] = {}

    def check(self, parsed: ParsedLine, source: str) -> AdRecord | Quarantined | None:
        """The record when new, None for an identical duplicate, Quarantined for a conflict."""
        record = parsed.record
        previous = self._seen.get(record.id)
        digest = int.from_bytes(parsed.digest[:8], "little")
        if previous is None:
            self._seen[record.id] = (digest, parsed.line)
            return record
        if previous[0] == digest:
            return None
        return Quarantined(
            source,
            parsed.line,
            "id",
            f"conflicting record: id {record.id!r} was already read on line {previous[1]} "
            "with different content",
            _clip(orjson.dumps(record.to_json())),
        )


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of a file; long lines are cut at MAX_LINE_BYTES + 1."""
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def read_jsonl(path: Path, stats: ReadStats | None = None) -> Iterator[AdRecord | Quarantined]:
    """Ad records and quarantined lines of a JSON Lines file, in file order (duplicates dropped)."""
    stats = stats if stats is not None else ReadStats()
    source = path.name
    items = (parse_line(data, source, number) for number, data in iter_lines(path))
    yield from _deduplicated(items, source, stats)


def _deduplicated(
    items: Iterable[ParsedLine | Quarantined | None], source: str, stats: ReadStats
) -> Iterator[AdRecord | Quarantined]:
    dedup = Deduplicator()
    for item in items:
        if item is None:
            continue
        stats.lines += 1
        if isinstance(item, Quarantined):
            stats.count_quarantined(item)
            yield item
            continue
        checked = dedup.check(item, source)
        if checked is None:
            stats.duplicates += 1
        elif isinstance(checked, Quarantined):
            stats.count_quarantined(checked)
            yield checked
        else:
            stats.records += 1
            yield checked


_LIST_FIELDS = ("phones", "emails", "handles", "images")


def csv_row_to_object(row: dict[str, str | None]) -> tuple[dict[str, Any] | None, str | None, str]:
    """A CSV row (same columns as the JSON record) to a JSON object, or (None, field, reason)."""
    obj: dict[str, Any] = {}
    for name, value in row.items():
        if name is None:
            return None, None, "more values than columns"
        obj[name] = value
    for name in AD_RECORD_FIELDS:
        if name not in obj:
            continue  # the schema reports missing fields
        value = obj[name]
        if value is None:
            return None, name, "row has fewer values than columns"
        if name in _LIST_FIELDS:
            stripped = value.strip()
            if stripped.startswith("["):
                try:
                    obj[name] = orjson.loads(stripped)
                except orjson.JSONDecodeError as exc:
                    return None, name, f"malformed JSON array: {exc}"
            else:
                obj[name] = [part.strip() for part in stripped.split(";") if part.strip()]
        elif name == "prices":
            stripped = value.strip()
            if not stripped:
                obj[name] = {}
            else:
                try:
                    obj[name] = orjson.loads(stripped)
                except orjson.JSONDecodeError as exc:
                    return None, name, f"malformed JSON object: {exc}"
        elif name == "age":
            stripped = value.strip()
            if not stripped:
                obj[name] = None
            elif stripped.isdigit():
                obj[name] = int(stripped)
            else:
                return None, name, f"age {stripped!r} is not a whole number"
        elif name in ("city", "name", "origin", "category"):
            obj[name] = value if value != "" else None
    return obj, None, ""


def read_csv(path: Path, stats: ReadStats | None = None) -> Iterator[AdRecord | Quarantined]:
    """Ad records from a CSV file with the record's columns (header row first)."""
    stats = stats if stats is not None else ReadStats()
    source = path.name
    yield from _deduplicated(_parse_csv(path, source), source, stats)


def _parse_csv(path: Path, source: str) -> Iterator[ParsedLine | Quarantined | None]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None:
        # Decode line by line so that only the bad rows are lost.
        yield from _parse_csv_lines(data, source)
        return
    yield from _parse_csv_text(text, source)


def _parse_csv_text(text: str, source: str) -> Iterator[ParsedLine | Quarantined | None]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        return
    missing = [name for name in AD_RECORD_FIELDS if name not in reader.fieldnames]
    if missing:
        raise InputError(f"{source}: CSV header lacks column(s): {', '.join(missing)}")
    try:
        for row in reader:
            line = reader.line_num
            raw = ",".join("" if v is None else str(v) for v in row.values())
            obj, name, reason = csv_row_to_object(row)
            if obj is None:
                yield Quarantined(source, line, name, reason, _clip(raw))
                continue
            yield record_from_object(obj, source, line, raw)
    except csv.Error as exc:
        yield Quarantined(source, reader.line_num, None, f"malformed CSV: {exc}", "")


def _parse_csv_lines(data: bytes, source: str) -> Iterator[ParsedLine | Quarantined | None]:
    lines = data.splitlines(keepends=True)
    good: list[str] = []
    bad: dict[int, Quarantined] = {}
    for number, line in enumerate(lines, start=1):
        try:
            good.append(line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            bad[number] = Quarantined(
                source,
                number,
                None,
                f"not UTF-8: byte 0x{line[exc.start]:02x} at position {exc.start}",
                _clip(line.decode("utf-8", "replace").rstrip("\r\n")),
            )
            good.append("\n")  # keep the line numbers of the rows after it
    for item in _parse_csv_text("".join(good), source):
        if item is not None and not isinstance(item, Quarantined) and item.line in bad:
            continue
        if isinstance(item, Quarantined) and item.line in bad:
            continue
        yield item
    yield from (bad[n] for n in sorted(bad))


def parsed_items(path: Path) -> Iterator[ParsedLine | Quarantined | None]:
    """Parsed, validated items of an input in file order, before deduplication.

    ``path`` is a .jsonl/.ndjson/.json file, a .csv file or a folder of saved HTML pages.
    Raises InputError for a missing path or an unknown format.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        return _parse_pages(path)
    suffix = path.suffix.lower()
    source = path.name
    if suffix == ".csv":
        return _parse_csv(path, source)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return (parse_line(data, source, number) for number, data in iter_lines(path))
    raise InputError(f"{path}: unknown input format {suffix!r} (use .jsonl, .csv or a folder)")


def read_records(path: Path, stats: ReadStats | None = None) -> Iterator[AdRecord | Quarantined]:
    """Records from a .jsonl/.json/.ndjson file, a .csv file, or a folder of saved HTML pages."""
    items = parsed_items(path)
    return _deduplicated(items, path.name, stats if stats is not None else ReadStats())


def _parse_pages(folder: Path) -> Iterator[ParsedLine | Quarantined | None]:
    try:
        sites = importlib.import_module("signaal.ads.sources.sites")
    except ImportError as exc:
        raise InputError(
            f"{folder}: the site adapters (signaal.ads.sources.sites) are not available"
        ) from exc
    pages = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".html", ".htm"))
    if not pages:
        raise InputError(f"{folder}: no saved HTML pages (*.html) in this folder")
    return _page_items(sites.parse_pages(pages))


def _page_items(items: Iterable[AdRecord | Quarantined]) -> Iterator[ParsedLine | Quarantined]:
    for number, item in enumerate(items, start=1):
        if isinstance(item, Quarantined):
            yield item
        else:
            obj = item.to_json()
            yield ParsedLine(item, number, content_digest(obj))
