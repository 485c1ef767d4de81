"""The per-ad stages as chunk functions an engine maps over its workers.

A chunk is a batch of input lines (:class:`LineChunk`, raw JSON Lines: parse, normalise, detect)
or of records read already (:class:`RecordChunk`, from CSV, saved pages or code: normalise,
detect). :func:`process_line_chunk` and :func:`process_record_chunk` run in a worker process
(``LocalEngine``) or a partition (a Spark engine's ``mapPartitions``); a chunk's result depends
only on the chunk. The domain work is the stages' own (``read.parse_line``,
``normalise.normalise``, ``indicators.detect``); this module adds what an engine needs around
them: a per-process cache of analysed content (a repost within a process is analysed once),
per-stage CPU timing, a paused garbage collector and cheap pickling between processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from multiprocessing.reduction import ForkingPickler
from operator import attrgetter
from sys import intern

import orjson

from signaal.ads.indicators import IndicatorSet, Matcher, default_matcher, detect
from signaal.ads.normalise import normalise, parse_posted_at
from signaal.ads.read import ParsedLine, content_digest, parse_line
from signaal.ads.records import AdRecord, ContentKey, content_key
from signaal.ads.types import ContactPoint, IndicatorHit, NormalisedAd, Quarantined
from signaal.engines.memory import paused_gc

#: The per-ad stages timed inside the chunks (CPU seconds, summed over workers).
CHUNK_STAGES = ("read", "normalise", "indicators")


@dataclass(frozen=True, slots=True)
class AdResult:
    """Output of the per-ad stages for one input line or record."""

    item: ParsedLine | Quarantined | None
    ad: NormalisedAd | None
    hits: tuple[IndicatorHit, ...]


@dataclass(frozen=True, slots=True)
class ChunkResult:
    results: tuple[AdResult, ...]
    seconds: dict[str, float]


def no_seconds() -> dict[str, float]:
    return dict.fromkeys(CHUNK_STAGES, 0.0)


# Reposts repeat everything but their id, address and time: the per-ad stages of an earlier
# ad with the same content are reused (per worker process, bounded).
_REPOST_CACHE: dict[ContentKey, tuple[NormalisedAd, tuple[IndicatorHit, ...]]] = {}
_REPOST_CACHE_SIZE = 50_000
_REPOST_MATCHER: list[Matcher | None] = [None]


def per_ad(
    items: Sequence[ParsedLine | Quarantined | None],
    matcher: Matcher,
    seconds: dict[str, float],
    *,
    reuse: bool = True,
) -> tuple[AdResult, ...]:
    """Normalise and detect a chunk's parsed lines, stage by stage (timed per stage, not per ad).

    With ``reuse``, a repost of an ad analysed before (earlier in this chunk or in an earlier
    chunk of this process) reuses its normalised form and hits with its own record and time;
    without it (the lines of a ``Reposts`` chunk hold no reposts) every item is analysed.
    """
    if _REPOST_MATCHER[0] is not matcher:
        _REPOST_CACHE.clear()
        _REPOST_MATCHER[0] = matcher
    started = time.process_time()
    results: list[AdResult | None] = []
    # Ads still to detect: (position in results, content key, ad), and reposts of those.
    to_detect: list[tuple[int, ContentKey, NormalisedAd]] = []
    first_in_chunk: dict[ContentKey, int] = {}
    reposts: list[tuple[int, int]] = []  # (position, position of the ad it repeats)
    for item in items:
        if not isinstance(item, ParsedLine):
            results.append(AdResult(item, None, ()))
            continue
        record = item.record
        key = content_key(record) if reuse else ()
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
                    ad = repost_of(template, record, posted_at)
                    results.append(AdResult(item, ad, cached_hits))
                else:
                    assert earlier is not None
                    template = to_detect[earlier][2]
                    ad = repost_of(template, record, posted_at)
                    reposts.append((len(results), earlier))
                    results.append(AdResult(item, ad, ()))
                continue
        try:
            ad = normalise(record)
        except ValueError as exc:
            # Only records built in code can get here (the readers validate posted_at).
            raw = orjson.dumps(record.to_json()).decode()
            bad = Quarantined("", item.line, "posted_at", str(exc), raw)
            results.append(AdResult(bad, None, ()))
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
        results[position] = AdResult(items[position], ad, hits)
        if reuse:
            if len(_REPOST_CACHE) >= _REPOST_CACHE_SIZE:
                _REPOST_CACHE.clear()
            _REPOST_CACHE[key] = (ad, hits)
    for position, earlier in reposts:
        result = results[position]
        assert result is not None
        results[position] = AdResult(result.item, result.ad, detected[earlier])
    seconds["normalise"] += normalised - started
    seconds["indicators"] += time.process_time() - normalised
    done = tuple(r for r in results if r is not None)
    assert len(done) == len(items)
    return done


_NORMALISED_FIELDS = tuple(f.name for f in fields(NormalisedAd))
assert _NORMALISED_FIELDS[:2] == ("record", "posted_at")
_normalised_values = attrgetter(*_NORMALISED_FIELDS[2:])


def repost_of(original: NormalisedAd, record: AdRecord, posted_at: datetime) -> NormalisedAd:
    """``replace(original, record=record, posted_at=posted_at)``, several times faster: the
    normalised form of a record with the same content (``records.CONTENT_FIELDS``)."""
    return NormalisedAd(record, posted_at, *_normalised_values(original))


@dataclass(frozen=True, slots=True)
class LineChunk:
    """A chunk of raw JSON Lines for a worker: parse, normalise and detect in one go.

    ``reposts``: the chunk may hold reposts of ads in it or in earlier chunks of this process
    (a Spark partition: no main process took them out), reused as ``per_ad`` does for records.
    """

    source: str
    lines: tuple[tuple[int, bytes], ...]
    indicators: IndicatorSet | None = None
    reposts: bool = False


def process_line_chunk(chunk: LineChunk) -> ChunkResult:
    """The per-ad stages over raw lines (runs in a worker process)."""
    with paused_gc():
        matcher = matcher_for(chunk.indicators)
        started = time.process_time()
        source = chunk.source
        items = [parse_line(data, source, number) for number, data in chunk.lines]
        seconds = no_seconds()
        seconds["read"] = time.process_time() - started
        # Locally the main process took the reposts out of the chunk already (``Reposts``).
        return ChunkResult(per_ad(items, matcher, seconds, reuse=chunk.reposts), seconds)


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """A chunk of already-read records (from CSV, site pages or code)."""

    items: tuple[ParsedLine | Quarantined, ...]
    indicators: IndicatorSet | None = None


def process_record_chunk(chunk: RecordChunk) -> ChunkResult:
    """The per-ad stages over records read already (runs in a worker process)."""
    with paused_gc():
        matcher = matcher_for(chunk.indicators)
        seconds = no_seconds()
        return ChunkResult(per_ad(chunk.items, matcher, seconds), seconds)


_MATCHERS: dict[int, Matcher] = {}


def matcher_for(indicators: IndicatorSet | None) -> Matcher:
    """The indicator automaton of ``indicators`` (built once per process)."""
    if indicators is None:
        return default_matcher()
    key = id(indicators)
    if key not in _MATCHERS:
        _MATCHERS.clear()
        _MATCHERS[key] = Matcher(indicators)
    return _MATCHERS[key]


def record_items(
    records: Iterable[AdRecord | Quarantined],
) -> Iterator[ParsedLine | Quarantined]:
    """Records built in code as the parsed lines of a chunk (numbered from 1)."""
    for number, item in enumerate(records, start=1):
        if isinstance(item, Quarantined):
            yield item
        else:
            yield ParsedLine(item, number, content_digest(item.to_json()))


# Strings that many ads repeat (a site, a city, a category, a popular name or title, a phone on
# several ads, a cue's matched words): each chunk result brings its own copies, so the main
# process, which holds every ad for the corpus-wide stages, keeps one object per value instead
# (``sys.intern`` on unpickling). About 470 bytes per ad on the hard market.
_SHARED_STRINGS: dict[type, tuple[str, ...]] = {
    AdRecord: ("site", "title", "city", "name", "origin", "category"),
    ContactPoint: ("value",),
    IndicatorHit: ("evidence",),
}


def _rebuild_sharing(cls: type, positions: tuple[int, ...], values: tuple[object, ...]) -> object:
    """``cls(*values)`` with the strings at ``positions`` interned (run on unpickling)."""
    shared = list(values)
    for position in positions:
        value = shared[position]
        if value.__class__ is str:
            shared[position] = intern(value)
    return cls(*shared)


def _register_fast_pickling(*classes: type) -> None:
    """Pickle these frozen dataclasses as ``cls(*values)`` between worker processes.

    The default pickling of slotted dataclasses walks ``dataclasses.fields`` for every object on
    both sides, which cost more than the analysis itself; a positional tuple is several times
    cheaper and rebuilds an equal object. Only the multiprocessing pickler is changed.
    """
    for cls in classes:
        names = tuple(f.name for f in fields(cls))
        assert len(names) > 1  # attrgetter returns a tuple only for two or more names
        shared = tuple(names.index(name) for name in _SHARED_STRINGS.get(cls, ()))
        reducer = (
            _sharing_reducer(cls, shared, attrgetter(*names))
            if shared
            else _positional_reducer(cls, attrgetter(*names))
        )
        ForkingPickler.register(cls, reducer)


def _positional_reducer(
    cls: type, values: Callable[[object], tuple[object, ...]]
) -> Callable[[object], tuple[type, tuple[object, ...]]]:
    def reduce(obj: object) -> tuple[type, tuple[object, ...]]:
        return cls, values(obj)

    return reduce


def _sharing_reducer(
    cls: type, positions: tuple[int, ...], values: Callable[[object], tuple[object, ...]]
) -> Callable[[object], tuple[Callable[..., object], tuple[object, ...]]]:
    def reduce(obj: object) -> tuple[Callable[..., object], tuple[object, ...]]:
        return _rebuild_sharing, (cls, positions, values(obj))

    return reduce


_register_fast_pickling(
    AdRecord,
    NormalisedAd,
    ContactPoint,
    IndicatorHit,
    Quarantined,
    ParsedLine,
    AdResult,
    ChunkResult,
    LineChunk,
    RecordChunk,
)
