"""The ads pipeline: read -> normalise -> indicators -> link -> movement -> risk.

Each stage is a pure function over records or tables (``normalise.normalise``,
``indicators.detect``, ``indicators.price_hits``, ``link.link``, ``movement.movement``,
``risk.score``); this module only chains them. The per-ad stages (parsing, normalising,
indicators) run chunk by chunk through an engine (``signaal.engines.local.LocalEngine``: one or
more local processes; a Spark engine can run the same chunk functions), and come back in input
order. Linking, movement and risk need the whole corpus and run once, in this process. Reposts
(the same content under a new id and time) are analysed once: for JSON Lines the main process
keeps them out of the workers' chunks and gives each its original's results (``_Reposts``).

The same input gives the same result on every run and for every number of workers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from multiprocessing.reduction import ForkingPickler
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

from signaal.ads.indicators import IndicatorSet, Matcher, default_matcher, detect, price_hits
from signaal.ads.memory import paused_gc
from signaal.ads.normalise import normalise, parse_posted_at
from signaal.ads.read import (
    MAX_LINE_BYTES,
    Deduplicator,
    ParsedLine,
    ReadStats,
    content_digest,
    iter_lines,
    line_too_long,
    parse_line,
    parsed_items,
    record_from_object,
)
from signaal.ads.records import AdRecord
from signaal.ads.types import (
    ContactPoint,
    IndicatorHit,
    Linkage,
    MovementResult,
    NormalisedAd,
    PhotoHash,
    Quarantined,
    RiskResult,
)
from signaal.engines.local import LocalEngine, chunked

if TYPE_CHECKING:
    from signaal.ads.photos import PhotoLimits

#: ``progress(stage, done, total)``; total is None while unknown. The CLI draws bars with it.
Progress = Callable[[str, int, int | None], None]

T = TypeVar("T")
R = TypeVar("R")

STAGES = ("read", "normalise", "indicators", "photos", "link", "movement", "risk")


class Engine(Protocol):
    workers: int

    def map_chunks(self, function: Callable[[T], R], chunks: Iterable[T]) -> Iterator[R]: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """What a run needs besides the records. ``pseudonym_key`` keys the contact pseudonyms."""

    pseudonym_key: str
    workers: int = 1
    chunk_size: int = 2000
    #: Folder that relative image paths are resolved against (default: the input's folder).
    photos_dir: Path | None = None
    #: Hash photos (off: images are ignored, e.g. for corpora without photo files).
    photos: bool = True
    weights_path: Path | None = None
    indicators: IndicatorSet | None = None
    #: Byte, pixel and time limits per photo (default: ``photos.DEFAULT_LIMITS``).
    photo_limits: PhotoLimits | None = None


@dataclass(frozen=True, slots=True)
class StageTiming:
    """Seconds spent in one stage: wall time, and CPU seconds summed over workers."""

    stage: str
    items: int
    wall_seconds: float
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything the outputs need. ``ads`` are in input order (first occurrence)."""

    ads: tuple[NormalisedAd, ...]
    hits: Mapping[str, tuple[IndicatorHit, ...]]
    photo_hashes: Mapping[str, tuple[PhotoHash, ...]]
    linkage: Linkage
    movement: MovementResult
    risk: RiskResult
    quarantined: tuple[Quarantined, ...]
    stats: ReadStats
    timings: tuple[StageTiming, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)  # ad id -> line in its input file
    source: str = ""


@dataclass(frozen=True, slots=True)
class _AdResult:
    """Output of the per-ad stages for one input line or record."""

    item: ParsedLine | Quarantined | None
    ad: NormalisedAd | None
    hits: tuple[IndicatorHit, ...]


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    results: tuple[_AdResult, ...]
    seconds: dict[str, float]


# Reposts repeat everything but their id, address and time: the per-ad stages of an earlier
# ad with the same content are reused (per worker process, bounded).
_REPOST_CACHE: dict[tuple[object, ...], tuple[NormalisedAd, tuple[IndicatorHit, ...]]] = {}
_REPOST_CACHE_SIZE = 50_000


def _content_key(record: AdRecord) -> tuple[object, ...]:
    return (
        record.title,
        record.text,
        record.city,
        record.phones,
        record.emails,
        record.handles,
        record.age,
        tuple(record.prices.items()),
    )


def _per_ad(
    items: Sequence[ParsedLine | Quarantined | None],
    matcher: Matcher,
    seconds: dict[str, float],
    *,
    reuse: bool = True,
) -> tuple[_AdResult, ...]:
    """Normalise and detect a chunk's parsed lines, stage by stage (timed per stage, not per ad).

    With ``reuse``, a repost of an ad analysed before (earlier in this chunk or in an earlier
    chunk of this process) reuses its normalised form and hits with its own record and time;
    without it (the lines of a ``_Reposts`` chunk hold no reposts) every item is analysed.
    """
    if _REPOST_MATCHER[0] is not matcher:
        _REPOST_CACHE.clear()
        _REPOST_MATCHER[0] = matcher
    started = time.process_time()
    results: list[_AdResult | None] = []
    # Ads still to detect: (position in results, content key, ad), and reposts of those.
    to_detect: list[tuple[int, tuple[object, ...], NormalisedAd]] = []
    first_in_chunk: dict[tuple[object, ...], int] = {}
    reposts: list[tuple[int, int]] = []  # (position, position of the ad it repeats)
    for item in items:
        if not isinstance(item, ParsedLine):
            results.append(_AdResult(item, None, ()))
            continue
        record = item.record
        key = _content_key(record) if reuse else ()
        cached = _REPOST_CACHE.get(key) if reuse else None
        earlier = first_in_chunk.get(key) if reuse and cached is None else None
        if cached is not None or earlier is not None:
            try:
                posted_at = parse_posted_at(record.posted_at)
            except ValueError:
                posted_at = None
            if posted_at is not None:
                if cached is not None:
                    template, cached_hits = cached
                    ad = _repost_of(template, record, posted_at)
                    results.append(_AdResult(item, ad, cached_hits))
                else:
                    assert earlier is not None
                    template = to_detect[earlier][2]
                    ad = _repost_of(template, record, posted_at)
                    reposts.append((len(results), earlier))
                    results.append(_AdResult(item, ad, ()))
                continue
        try:
            ad = normalise(record)
        except ValueError as exc:
            # Only records built in code can get here (the readers validate posted_at).
            raw = orjson.dumps(record.to_json()).decode()
            bad = Quarantined("", item.line, "posted_at", str(exc), raw)
            results.append(_AdResult(bad, None, ()))
            continue
        if reuse:
            first_in_chunk.setdefault(key, len(to_detect))
        to_detect.append((len(results), key, ad))
        results.append(None)
    normalised = time.process_time()
    detected: list[tuple[IndicatorHit, ...]] = []
    for position, key, ad in to_detect:
        hits = detect(ad, matcher)
        detected.append(hits)
        results[position] = _AdResult(items[position], ad, hits)
        if reuse:
            if len(_REPOST_CACHE) >= _REPOST_CACHE_SIZE:
                _REPOST_CACHE.clear()
            _REPOST_CACHE[key] = (ad, hits)
    for position, earlier in reposts:
        result = results[position]
        assert result is not None
        results[position] = _AdResult(result.item, result.ad, detected[earlier])
    seconds["normalise"] += normalised - started
    seconds["indicators"] += time.process_time() - normalised
    done = tuple(r for r in results if r is not None)
    assert len(done) == len(items)
    return done


_REPOST_MATCHER: list[Matcher | None] = [None]


@dataclass(frozen=True, slots=True)
class LineChunk:
    """A chunk of raw JSON Lines for a worker: parse, normalise and detect in one go."""

    source: str
    lines: tuple[tuple[int, bytes], ...]
    indicators: IndicatorSet | None = None


def process_line_chunk(chunk: LineChunk) -> _ChunkResult:
    """The per-ad stages over raw lines (runs in a worker process)."""
    with paused_gc():
        return _process_line_chunk(chunk)


def _process_line_chunk(chunk: LineChunk) -> _ChunkResult:
    matcher = _matcher(chunk.indicators)
    started = time.process_time()
    source = chunk.source
    items = [parse_line(data, source, number) for number, data in chunk.lines]
    seconds = {"read": time.process_time() - started, "normalise": 0.0, "indicators": 0.0}
    # The main process took the reposts out of the chunk already (``_Reposts``).
    return _ChunkResult(_per_ad(items, matcher, seconds, reuse=False), seconds)


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """A chunk of already-read records (from CSV, site pages or code)."""

    items: tuple[ParsedLine | Quarantined, ...]
    indicators: IndicatorSet | None = None


def process_record_chunk(chunk: RecordChunk) -> _ChunkResult:
    with paused_gc():
        return _process_record_chunk(chunk)


def _process_record_chunk(chunk: RecordChunk) -> _ChunkResult:
    matcher = _matcher(chunk.indicators)
    seconds = {"read": 0.0, "normalise": 0.0, "indicators": 0.0}
    return _ChunkResult(_per_ad(chunk.items, matcher, seconds), seconds)


_MATCHERS: dict[int, Matcher] = {}


def _matcher(indicators: IndicatorSet | None) -> Matcher:
    if indicators is None:
        return default_matcher()
    key = id(indicators)
    if key not in _MATCHERS:
        _MATCHERS.clear()
        _MATCHERS[key] = Matcher(indicators)
    return _MATCHERS[key]


def _record_items(
    records: Iterable[AdRecord | Quarantined],
) -> Iterator[ParsedLine | Quarantined]:
    for number, item in enumerate(records, start=1):
        if isinstance(item, Quarantined):
            yield item
        else:
            yield ParsedLine(item, number, content_digest(item.to_json()))


def _register_fast_pickling(*classes: type) -> None:
    """Pickle these frozen dataclasses as ``cls(*values)`` between worker processes.

    The default pickling of slotted dataclasses walks ``dataclasses.fields`` for every object on
    both sides, which cost more than the analysis itself; a positional tuple is several times
    cheaper and rebuilds an equal object. Only the multiprocessing pickler is changed.
    """
    for cls in classes:
        names = tuple(f.name for f in fields(cls))
        assert len(names) > 1  # attrgetter returns a tuple only for two or more names
        ForkingPickler.register(cls, _positional_reducer(cls, attrgetter(*names)))


def _positional_reducer(
    cls: type, values: Callable[[object], tuple[object, ...]]
) -> Callable[[object], tuple[type, tuple[object, ...]]]:
    def reduce(obj: object) -> tuple[type, tuple[object, ...]]:
        return cls, values(obj)

    return reduce


_register_fast_pickling(
    AdRecord,
    NormalisedAd,
    ContactPoint,
    IndicatorHit,
    Quarantined,
    ParsedLine,
    _AdResult,
    _ChunkResult,
    LineChunk,
    RecordChunk,
)


class _Reposts:
    """Reposts of JSON Lines are analysed once, corpus-wide, in the main process.

    A repost repeats an earlier ad's content (title, text, city, contact fields, age, prices)
    under a new id, address and time; in large corpora about a third of all lines are reposts,
    often far apart in the file. The main process decodes every line (cheap) and sends only
    lines with content not seen before to the workers; when a chunk's results come back, every
    repost is read and validated here and takes the normalised form and hits of its original
    with its own record and time (as ``_per_ad`` does within a worker). The content is compared
    in full before it is reused, so a hash collision only costs a normal analysis. The result is
    the same, line for line, as analysing every line in the workers.
    """

    def __init__(self, source: str, chunk_size: int, indicators: IndicatorSet | None) -> None:
        self.source = source
        self.chunk_size = chunk_size
        self.indicators = indicators
        # Content hashes of the lines sent to the workers.
        self.seen: set[int] = set()
        # Content hash -> (normalised ad, hits) of the first analysed line with that content.
        self.templates: dict[int, tuple[NormalisedAd, tuple[IndicatorHit, ...]]] = {}
        # Per chunk sent, in order: each line as the position of its result in the worker's
        # chunk, or a repost kept here as (line number, bytes, content hash, decoded object);
        # and the content hash of each line sent (None for a line that is no JSON object).
        self.plans: deque[tuple[list[int | _Repost], list[int | None]]] = deque()
        self.split_seconds = 0.0

    def chunks(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[LineChunk]:
        started = time.thread_time()
        plan: list[int | _Repost] = []
        sent: list[tuple[int, bytes]] = []
        sent_keys: list[int | None] = []
        seen = self.seen
        for number, data in lines:
            decoded = _decode_content(data)
            key = None
            if decoded is not None and decoded[0] in seen:
                plan.append((number, data, *decoded))
            else:
                if decoded is not None:
                    key = decoded[0]
                    seen.add(key)
                plan.append(len(sent))
                sent.append((number, data))
                sent_keys.append(key)
            # A chunk goes out when it is full, or when reposts kept here (decoded) pile up.
            if len(sent) >= self.chunk_size or len(plan) >= _MAX_PLAN * self.chunk_size:
                self.plans.append((plan, sent_keys))
                self.split_seconds += time.thread_time() - started
                yield LineChunk(self.source, tuple(sent), self.indicators)
                started = time.thread_time()
                plan, sent, sent_keys = [], [], []
        if plan:
            self.plans.append((plan, sent_keys))
            self.split_seconds += time.thread_time() - started
            yield LineChunk(self.source, tuple(sent), self.indicators)

    def assemble(self, results: Iterable[_ChunkResult]) -> Iterator[_ChunkResult]:
        """The workers' chunk results with the reposts put back in their places, in order."""
        matcher = _matcher(self.indicators)
        for chunk in results:
            plan, sent_keys = self.plans.popleft()
            seconds = dict(chunk.seconds)
            # Timed per chunk, not per line: reading the clock costs more than reusing an ad.
            started = time.thread_time()
            source = self.source
            parsed = [
                entry
                if isinstance(entry, int)
                else (record_from_object(entry[3], source, entry[0], entry[1].strip()), entry[2])
                for entry in plan
            ]
            read = time.thread_time()
            seconds["read"] += self.split_seconds + read - started
            self.split_seconds = 0.0
            out: list[_AdResult] = []
            for entry in parsed:
                if isinstance(entry, int):
                    result = chunk.results[entry]
                    out.append(result)
                    key = sent_keys[entry]
                    if result.ad is not None and key is not None:
                        self.templates.setdefault(key, (result.ad, result.hits))
                else:
                    out.append(self._repost(*entry, matcher, seconds))
            seconds["normalise"] += time.thread_time() - read
            yield _ChunkResult(tuple(out), seconds)

    def _repost(
        self,
        item: ParsedLine | Quarantined | None,
        key: int,
        matcher: Matcher,
        seconds: dict[str, float],
    ) -> _AdResult:
        template = self.templates.get(key)
        if isinstance(item, ParsedLine) and template is not None:
            record = item.record
            original, hits = template
            if _same_content(record, original.record):
                try:
                    posted_at = parse_posted_at(record.posted_at)
                except ValueError:
                    posted_at = None
                if posted_at is not None:
                    # The content's strings are shared with the original: less memory, and the
                    # later stages find equal texts by identity.
                    shared = _sharing_content(record, original.record)
                    ad = _repost_of(original, shared, posted_at)
                    return _AdResult(ParsedLine(shared, item.line, item.digest), ad, hits)
        # No usable original (it was quarantined, or only the hash was equal): analyse it here.
        (result,) = _per_ad([item], matcher, {"read": 0.0, "normalise": 0.0, "indicators": 0.0})
        if result.ad is not None and isinstance(item, ParsedLine) and template is None:
            self.templates[key] = (result.ad, result.hits)
        return result


_Repost = tuple[int, bytes, int, dict[str, Any]]
# Lines (new and reposted) per chunk at most, in chunk sizes: bounds the decoded reposts held.
_MAX_PLAN = 4


def _decode_content(data: bytes) -> tuple[int, dict[str, Any]] | None:
    """A JSON line's object and the hash of its content fields; None when it is no object."""
    if len(data) > MAX_LINE_BYTES and line_too_long(data):
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    try:
        get = obj.get
        phones, emails, handles, prices = (
            get("phones"),
            get("emails"),
            get("handles"),
            get("prices"),
        )
        key = hash(
            (
                get("title"),
                get("text"),
                get("city"),
                tuple(phones) if type(phones) is list else phones,
                tuple(emails) if type(emails) is list else emails,
                tuple(handles) if type(handles) is list else handles,
                get("age"),
                tuple(prices.items()) if type(prices) is dict else prices,
            )
        )
    except TypeError:  # nested unhashable values: not a valid record anyway
        return None
    return key, obj


_NORMALISED_FIELDS = tuple(f.name for f in fields(NormalisedAd))
assert _NORMALISED_FIELDS[:2] == ("record", "posted_at")
_normalised_values = attrgetter(*_NORMALISED_FIELDS[2:])


def _repost_of(original: NormalisedAd, record: AdRecord, posted_at: datetime) -> NormalisedAd:
    """``replace(original, record=record, posted_at=posted_at)``, several times faster."""
    return NormalisedAd(record, posted_at, *_normalised_values(original))


def _sharing_content(record: AdRecord, original: AdRecord) -> AdRecord:
    """``record`` with the (equal) content values of ``original``: one copy of each text."""
    return replace(
        record,
        title=original.title,
        text=original.text,
        city=original.city,
        phones=original.phones,
        emails=original.emails,
        handles=original.handles,
    )


def _same_content(a: AdRecord, b: AdRecord) -> bool:
    """``_content_key(a) == _content_key(b)``, without building the keys."""
    return (
        a.text == b.text
        and a.title == b.title
        and a.city == b.city
        and a.phones == b.phones
        and a.emails == b.emails
        and a.handles == b.handles
        and a.age == b.age
        and tuple(a.prices.items()) == tuple(b.prices.items())
    )


def run(
    records: Iterable[AdRecord | Quarantined],
    config: PipelineConfig,
    *,
    progress: Progress | None = None,
    engine: Engine | None = None,
    source: str = "",
) -> AnalysisResult:
    """Analyse ad records (as read by ``read_records``; quarantined items are passed through)."""
    engine = engine or LocalEngine(config.workers)
    chunks = (
        RecordChunk(tuple(chunk), config.indicators)
        for chunk in chunked(_record_items(records), config.chunk_size)
    )
    results = engine.map_chunks(process_record_chunk, chunks)
    return _finish(results, config, progress, source=source, base_dir=config.photos_dir)


def run_file(
    path: Path,
    config: PipelineConfig,
    *,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> AnalysisResult:
    """Analyse a JSON Lines or CSV file, or a folder of saved pages (InputError if unreadable).

    JSON Lines are parsed in the worker processes too (parsing is a large share of the work);
    CSV files and pages are parsed here and analysed in the workers.
    """
    engine = engine or LocalEngine(config.workers)
    base_dir = config.photos_dir or (path if path.is_dir() else path.parent)
    source = path.name
    results: Iterable[_ChunkResult]
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        reposts = _Reposts(source, config.chunk_size, config.indicators)
        line_chunks = reposts.chunks(iter_lines(path))
        results = reposts.assemble(engine.map_chunks(process_line_chunk, line_chunks))
    else:
        items = (item for item in parsed_items(path) if item is not None)
        record_chunks = (
            RecordChunk(tuple(chunk), config.indicators)
            for chunk in chunked(items, config.chunk_size)
        )
        results = engine.map_chunks(process_record_chunk, record_chunks)
    return _finish(results, config, progress, source=source, base_dir=base_dir)


def _finish(
    results: Iterable[_ChunkResult],
    config: PipelineConfig,
    progress: Progress | None,
    *,
    source: str,
    base_dir: Path | None,
) -> AnalysisResult:
    # The collector stays paused for the whole analysis: the stages make no reference cycles,
    # and every full collection would walk the millions of objects kept for later stages.
    with paused_gc():
        return _analyse(results, config, progress, source=source, base_dir=base_dir)


def _analyse(
    results: Iterable[_ChunkResult],
    config: PipelineConfig,
    progress: Progress | None,
    *,
    source: str,
    base_dir: Path | None,
) -> AnalysisResult:
    from signaal.ads.link import link
    from signaal.ads.movement import movement
    from signaal.ads.risk import load_weights, score

    report = progress or (lambda stage, done, total: None)
    stats = ReadStats()
    dedup = Deduplicator()
    ads: list[NormalisedAd] = []
    hits: dict[str, tuple[IndicatorHit, ...]] = {}
    lines: dict[str, int] = {}
    quarantined: list[Quarantined] = []
    cpu = {"read": 0.0, "normalise": 0.0, "indicators": 0.0}
    wall_started = time.perf_counter()
    _collect(results, source, stats, dedup, ads, hits, lines, quarantined, cpu, report)
    per_ad_wall = time.perf_counter() - wall_started
    timings = [
        StageTiming(name, stats.lines if name == "read" else len(ads), per_ad_wall, seconds)
        for name, seconds in cpu.items()
    ]

    def timed(stage: str, items: int) -> _Timer:
        return _Timer(stage, items, timings, report)

    with timed("indicators (corpus)", len(ads)):
        for ad_id, hit in price_hits(ads, config.indicators).items():
            hits[ad_id] = tuple(sorted(hits[ad_id] + (hit,), key=_hit_key))

    photo_hashes: dict[str, tuple[PhotoHash, ...]] = {}
    if config.photos:
        with timed("photos", sum(len(a.record.images) for a in ads)):
            photo_hashes, photo_problems = hash_ad_photos(
                ads,
                base_dir or Path("."),
                workers=config.workers,
                lines=lines,
                source=source,
                limits=config.photo_limits,
            )
        for problem in photo_problems:
            stats.count_quarantined(problem)
            quarantined.append(problem)

    with timed("link", len(ads)):
        linkage = link(ads, hits, photo_hashes, pseudonym_key=config.pseudonym_key)
    with timed("movement", len(ads)):
        moves = movement(ads, linkage)
    with timed("risk", len(ads)):
        risk = score(ads, hits, linkage, moves, load_weights(config.weights_path))
    return AnalysisResult(
        ads=tuple(ads),
        hits=hits,
        photo_hashes=photo_hashes,
        linkage=linkage,
        movement=moves,
        risk=risk,
        quarantined=tuple(quarantined),
        stats=stats,
        timings=tuple(timings),
        lines=lines,
        source=source,
    )


def _collect(
    results: Iterable[_ChunkResult],
    source: str,
    stats: ReadStats,
    dedup: Deduplicator,
    ads: list[NormalisedAd],
    hits: dict[str, tuple[IndicatorHit, ...]],
    lines: dict[str, int],
    quarantined: list[Quarantined],
    cpu: dict[str, float],
    report: Progress,
) -> None:
    """Gather the per-ad results in input order: deduplicate, count, keep the ads."""
    for chunk in results:
        for name, seconds in chunk.seconds.items():
            cpu[name] += seconds
        for result in chunk.results:
            item = result.item
            if item is None:
                continue
            stats.lines += 1
            if isinstance(item, Quarantined):
                bad = item if item.source else replace(item, source=source)
                stats.count_quarantined(bad)
                quarantined.append(bad)
                continue
            checked = dedup.check(item, source)
            if checked is None:
                stats.duplicates += 1
                continue
            if isinstance(checked, Quarantined):
                stats.count_quarantined(checked)
                quarantined.append(checked)
                continue
            assert result.ad is not None
            stats.records += 1
            ads.append(result.ad)
            hits[result.ad.id] = result.hits
            lines[result.ad.id] = item.line
        report("analyse ads", stats.lines, None)


def _hit_key(hit: IndicatorHit) -> tuple[int, int, str, str]:
    field_rank = {"title": 0, "text": 1}.get(hit.field, 2)
    return field_rank, hit.span[0] if hit.span else -1, hit.indicator_id, hit.field


class _Timer:
    def __init__(
        self, stage: str, items: int, timings: list[StageTiming], report: Progress
    ) -> None:
        self.stage, self.items, self.timings, self.report = stage, items, timings, report

    def __enter__(self) -> None:
        self.report(self.stage, 0, 1)
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        self.timings.append(StageTiming(self.stage, self.items, wall, cpu))
        self.report(self.stage, 1, 1)


def hash_ad_photos(
    ads: Sequence[NormalisedAd],
    base_dir: Path,
    *,
    workers: int = 1,
    lines: Mapping[str, int] | None = None,
    source: str = "",
    limits: PhotoLimits | None = None,
) -> tuple[dict[str, tuple[PhotoHash, ...]], list[Quarantined]]:
    """PDQ hashes of every ad's images, keyed by ad id; a problem per missing, refused or
    corrupt image.

    Only regular files inside ``base_dir`` are read (no ``..``, absolute paths or symbolic links
    out of it, no FIFOs or devices), within the byte, pixel and time limits of ``limits``.
    ``PhotoHash.path`` is the path as written in the ad record. An ad with a bad image is still
    analysed (with its other images); the problem is quarantined with the ad's line and id.
    """
    from signaal.ads.photos import DEFAULT_LIMITS, hash_photos

    # Absolute, so that each path below is the file's own (hash_photos reads paths in root).
    base_dir = base_dir.absolute()
    wanted: dict[Path, list[tuple[str, str]]] = {}
    for ad in ads:
        for written in ad.record.images:
            path = Path(written)
            resolved = path if path.is_absolute() else base_dir / path
            wanted.setdefault(resolved, []).append((ad.id, written))
    if not wanted:
        return {}, []
    result = hash_photos(
        sorted(wanted), workers=workers, root=base_dir, limits=limits or DEFAULT_LIMITS
    )
    by_ad: dict[str, list[PhotoHash]] = {}
    problems: list[Quarantined] = []
    for resolved in sorted(wanted):
        for ad_id, written in wanted[resolved]:
            photo = result.hashes.get(resolved)
            if photo is not None:
                by_ad.setdefault(ad_id, []).append(replace(photo, path=written))
                continue
            error = result.errors.get(resolved, "not hashed")
            if error == "missing":
                reason = f"photo missing: {written}"
            elif error.startswith("refused: "):
                reason = f"photo refused: {written} ({error.removeprefix('refused: ')})"
            else:
                reason = f"photo unreadable: {written} ({error})"
            line = (lines or {}).get(ad_id, 0)
            problems.append(Quarantined(source, line, "images", reason, ad_id))
    problems.sort(key=lambda q: (q.line, q.reason))
    return {ad_id: tuple(hashes) for ad_id, hashes in sorted(by_ad.items())}, problems
