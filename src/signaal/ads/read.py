"""Read: ad records from JSON Lines and CSV files, bad records quarantined with the reason.

Every input line (or CSV row) becomes either an :class:`AdRecord` or a :class:`Quarantined` that
says which file, which line, which field and why: not UTF-8, malformed JSON, not an object, a
schema violation (missing field, wrong type, absurdly long value), a ``posted_at`` that is not
a real time with a UTC offset or lies outside the years ads can have been posted in (checked after
conversion to UTC), extra fields nested too deep or too large, or a line longer than the limit
(skipped without being read into memory whole). The rest of the file is still read.

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
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
#: ``posted_at`` must fall in these years once converted to UTC: online ads did not exist before,
#: and a far-future time is a broken clock or an attack on the date arithmetic of later stages.
MIN_POSTED_YEAR = 1990
MAX_POSTED_YEAR = 2199
#: Extra (unknown) fields are kept and written back: at most this deep (an object or array in a
#: field is depth 1) and this many values in all, so that no later encoder or store recurses
#: without bound or is fed a bomb.
MAX_EXTRA_DEPTH = 16
MAX_EXTRA_VALUES = 10_000
#: A saved HTML page larger than this is quarantined without being parsed.
MAX_PAGE_BYTES = 5_000_000

_BOM = b"\xef\xbb\xbf"
_FIELD_NAMES = frozenset(AD_RECORD_FIELDS)
_FIELD_COUNT = len(_FIELD_NAMES)
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


def posted_at_problem(value: str) -> str | None:
    """Why ``value`` is no usable ``posted_at`` (None when it is one)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        return f"bad date: {value!r} ({exc})"
    if parsed.tzinfo is None:
        return f"bad date: {value!r} has no UTC offset"
    if MIN_POSTED_YEAR < parsed.year < MAX_POSTED_YEAR:
        return None  # an offset is less than a day: the UTC time is in range too
    try:
        year = parsed.astimezone(UTC).year
    except OverflowError:
        return f"bad date: {value!r} is out of range once converted to UTC"
    if not MIN_POSTED_YEAR <= year <= MAX_POSTED_YEAR:
        return (
            f"bad date: {value!r} is in the year {year} in UTC "
            f"(allowed {MIN_POSTED_YEAR}-{MAX_POSTED_YEAR})"
        )
    return None


def _extra_problem(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) when the extra fields are nested too deep or hold too many values."""
    values = 0
    # Iterative, so that a hostile nesting cannot exhaust the stack here either.
    stack: list[tuple[str, Any, int]] = [
        (name, value, 0) for name, value in obj.items() if name not in _FIELD_NAMES
    ]
    while stack:
        name, value, depth = stack.pop()
        values += 1
        if values > MAX_EXTRA_VALUES:
            return name, f"extra fields hold more than {MAX_EXTRA_VALUES:,} values"
        if isinstance(value, dict | list):
            if depth >= MAX_EXTRA_DEPTH:
                return name, f"extra field nested deeper than {MAX_EXTRA_DEPTH} levels"
            items = value.values() if isinstance(value, dict) else value
            stack.extend((name, item, depth + 1) for item in items)
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
    if len(obj) != _FIELD_COUNT:
        extra_problem = _extra_problem(obj)
        if extra_problem is not None:
            return Quarantined(source, line, extra_problem[0], extra_problem[1], _clip(raw))
    problem = _schema_problem(obj)
    if problem is not None:
        return Quarantined(source, line, problem[0], problem[1], _clip(raw))
    date_problem = posted_at_problem(obj["posted_at"])
    if date_problem is not None:
        return Quarantined(source, line, "posted_at", date_problem, _clip(raw))
    return ParsedLine(AdRecord.from_json(obj), line, content_digest(obj))


def parse_line(data: bytes, source: str, line: int) -> ParsedLine | Quarantined | None:
    """One JSON Lines line to a record, a quarantined line, or None for a blank line (pure)."""
    if len(data) > MAX_LINE_BYTES and line_too_long(data):
        # ``iter_lines`` hands over only the start of such a line; the rest was skipped unread.
        return Quarantined(
            source,
            line,
            None,
            f"line too long: more than {MAX_LINE_BYTES:,} bytes (the limit)",
            _clip(data[:MAX_RAW_CHARS].decode("utf-8", "replace")),
        )
    stripped = data.strip()
    if line == 1 and stripped.startswith(_BOM):  # a file saved by a Windows tool
        stripped = stripped[len(_BOM) :].strip()
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
    """(1-based line number, bytes with the line end) of a file; longer lines are cut.

    A line is too long (``line_too_long``) when it holds more than MAX_LINE_BYTES besides its
    newline; such a line is cut at MAX_LINE_BYTES + 2 bytes.

    The rest of a longer line is skipped in blocks, never held in memory: a line of any length
    costs at most the limit (``parse_line`` quarantines it as too long).
    """
    limit = MAX_LINE_BYTES + 2  # the limit, its newline, and one byte to tell a longer line
    with path.open("rb") as handle:
        readline = handle.readline
        number = 0
        while line := readline(limit):
            number += 1
            if len(line) == limit and not line.endswith(b"\n"):
                _skip_rest_of_line(readline)
            yield number, line


def line_too_long(data: bytes) -> bool:
    """Whether a line from ``iter_lines`` holds more than MAX_LINE_BYTES besides its newline."""
    return len(data) > MAX_LINE_BYTES + 1 or (
        len(data) == MAX_LINE_BYTES + 1 and not data.endswith(b"\n")
    )


def _skip_rest_of_line(readline: Callable[[int], bytes]) -> None:
    while (block := readline(1 << 20)) and not block.endswith(b"\n"):
        pass


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
#: ASCII digits only (``str.isdigit`` accepts '²', which ``int`` refuses), and few of them.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,6}")


def csv_row_to_object(
    row: dict[str | None, str | None],
) -> tuple[dict[str, Any] | None, str | None, str]:
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
            elif _WHOLE_NUMBER.fullmatch(stripped):
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
    """The rows of a CSV file, streamed: a bad line or row is quarantined, the rest is read.

    Each physical line is read with the length limit and decoded on its own, so a line that is
    too long or not UTF-8 costs only that line (its place is kept for the line numbers after
    it); a row the CSV reader rejects (e.g. a field over the reader's size limit) costs only
    that row.
    """
    bad: list[Quarantined] = []
    reader = csv.reader(_csv_lines(path, source, bad))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(f"{source}: unreadable CSV header: {exc}") from exc
    missing = [name for name in AD_RECORD_FIELDS if name not in header]
    if missing:
        raise InputError(f"{source}: CSV header lacks column(s): {', '.join(missing)}")
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield from _drain(bad)
            yield Quarantined(source, reader.line_num, None, f"malformed CSV: {exc}", "")
            continue
        yield from _drain(bad)
        if not values:
            continue  # a blank line (or the place of a bad one)
        line = reader.line_num
        row: dict[str | None, str | None] = dict(zip(header, values, strict=False))
        if len(values) > width:
            row[None] = ",".join(values[width:])
        else:
            for column in header[len(values) :]:
                row[column] = None
        raw = ",".join(values)
        obj, bad_field, reason = csv_row_to_object(row)
        if obj is None:
            yield Quarantined(source, line, bad_field, reason, _clip(raw))
            continue
        yield record_from_object(obj, source, line, raw)
    yield from _drain(bad)


def _drain(bad: list[Quarantined]) -> Iterator[Quarantined]:
    yield from bad
    bad.clear()


def _csv_lines(path: Path, source: str, bad: list[Quarantined]) -> Iterator[str]:
    """The decoded lines of a CSV file; a bad line is noted in ``bad`` and read as blank."""
    for number, data in iter_lines(path):
        problem: str | None = None
        text = ""
        if len(data) > MAX_LINE_BYTES and line_too_long(data):
            problem = f"line too long: more than {MAX_LINE_BYTES:,} bytes (the limit)"
        else:
            try:
                text = data.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                problem = f"not UTF-8: byte 0x{data[exc.start]:02x} at position {exc.start}"
        if problem is not None:
            raw = _clip(data[:MAX_RAW_CHARS].decode("utf-8", "replace").rstrip("\r\n"))
            bad.append(Quarantined(source, number, None, problem, raw))
            text = "\n"
        yield text


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
    return _page_items(sites.parse_pages(pages, root=folder, max_bytes=MAX_PAGE_BYTES))


def _page_items(items: Iterable[AdRecord | Quarantined]) -> Iterator[ParsedLine | Quarantined]:
    for number, item in enumerate(items, start=1):
        if isinstance(item, Quarantined):
            yield item
        else:
            obj = item.to_json()
            yield ParsedLine(item, number, content_digest(obj))
