"""Reposts of JSON Lines analysed once, corpus-wide, in the main process.

A repost repeats an earlier ad's content (``records.CONTENT_FIELDS``: title, text, city, contact
fields, age, prices) under a new id, address and time; in large corpora about a third of all
lines are reposts, often far apart in the file. :class:`Reposts` decodes every line (cheap) and
sends only lines with content not seen before to the workers; when a chunk's results come back,
every repost is read and validated here and takes the normalised form and hits of its original
with its own record and time (as ``chunks.per_ad`` does within a worker). The content is
compared in full before it is reused, so a hash collision only costs a normal analysis. The
result is the same, line for line, as analysing every line in the workers.

As a distributed step this is "group lines by content key, analyse one line per group, give
every line of the group that analysis": a Spark engine can do the same with a key column.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from signaal.ads.indicators import IndicatorSet, Matcher
from signaal.ads.normalise import parse_posted_at
from signaal.ads.read import MAX_LINE_BYTES, ParsedLine, line_too_long, record_from_object
from signaal.ads.records import object_content_key, same_content, sharing_content
from signaal.ads.types import IndicatorHit, NormalisedAd, Quarantined
from signaal.engines.chunks import (
    AdResult,
    ChunkResult,
    LineChunk,
    matcher_for,
    no_seconds,
    per_ad,
    repost_of,
)

_Repost = tuple[int, bytes, int, dict[str, Any]]
# Lines (new and reposted) per chunk at most, in chunk sizes: bounds the decoded reposts held.
MAX_PLAN = 4


class Reposts:
    """Splits JSON Lines into chunks of new content for the workers (:meth:`chunks`) and puts
    the reposts back into the workers' results in input order (:meth:`assemble`)."""

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
            decoded = decode_content(data)
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
            if len(sent) >= self.chunk_size or len(plan) >= MAX_PLAN * self.chunk_size:
                self.plans.append((plan, sent_keys))
                self.split_seconds += time.thread_time() - started
                yield LineChunk(self.source, tuple(sent), self.indicators)
                started = time.thread_time()
                plan, sent, sent_keys = [], [], []
        if plan:
            self.plans.append((plan, sent_keys))
            self.split_seconds += time.thread_time() - started
            yield LineChunk(self.source, tuple(sent), self.indicators)

    def assemble(self, results: Iterable[ChunkResult]) -> Iterator[ChunkResult]:
        """The workers' chunk results with the reposts put back in their places, in order."""
        matcher = matcher_for(self.indicators)
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
            out: list[AdResult] = []
            for entry in parsed:
                if isinstance(entry, int):
                    result = chunk.results[entry]
                    out.append(result)
                    key = sent_keys[entry]
                    if result.ad is not None and key is not None:
                        self.templates.setdefault(key, (result.ad, result.hits))
                else:
                    out.append(self._repost(*entry, matcher))
            seconds["normalise"] += time.thread_time() - read
            yield ChunkResult(tuple(out), seconds)

    def _repost(
        self, item: ParsedLine | Quarantined | None, key: int, matcher: Matcher
    ) -> AdResult:
        template = self.templates.get(key)
        if isinstance(item, ParsedLine) and template is not None:
            record = item.record
            original, hits = template
            if same_content(record, original.record):
                try:
                    posted_at = parse_posted_at(record.posted_at)
                except ValueError:
                    posted_at = None
                if posted_at is not None:
                    # The content's strings are shared with the original: less memory, and the
                    # later stages find equal texts by identity.
                    shared = sharing_content(record, original.record)
                    ad = repost_of(original, shared, posted_at)
                    return AdResult(ParsedLine(shared, item.line, item.digest), ad, hits)
        # No usable original (it was quarantined, or only the hash was equal): analyse it here.
        (result,) = per_ad([item], matcher, no_seconds())
        if result.ad is not None and isinstance(item, ParsedLine) and template is None:
            self.templates[key] = (result.ad, result.hits)
        return result


def decode_content(data: bytes) -> tuple[int, dict[str, Any]] | None:
    """A JSON line's object and the hash of its content key; None when it is no object."""
    if len(data) > MAX_LINE_BYTES and line_too_long(data):
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    try:
        key = hash(object_content_key(obj))
    except TypeError:  # nested unhashable values: not a valid record anyway
        return None
    return key, obj
