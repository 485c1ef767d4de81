"""The ads pipeline: read -> normalise -> indicators -> link -> movement -> risk.

Each stage is a pure function over records or tables (``normalise.normalise``,
``indicators.detect``, ``indicators.price_hits``, ``link.link``, ``movement.movement``,
``risk.score``); this module only chains them. The engine machinery is in ``signaal.engines``:
the per-ad stages (parsing, normalising, indicators) run chunk by chunk
(``engines.chunks``) through an engine (``engines.local.LocalEngine``: one or more local
processes; ``engines.spark`` runs the same chunk functions in ``mapPartitions`` and hands its
results to ``analyse_results``) and come back in input order;
reposts (the same content, ``records.CONTENT_FIELDS``, under a new id and time) are analysed
once (``engines.reposts``); the garbage collector is paused (``engines.memory``) and stages are
timed (``engines.timing``). Linking, movement and risk need the whole corpus and run once, in
this process.

The same input gives the same result on every run and for every number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from signaal.ads.indicators import IndicatorSet, price_hits
from signaal.ads.read import Deduplicator, ReadStats, iter_lines, parsed_items
from signaal.ads.records import AdRecord
from signaal.ads.types import (
    IndicatorHit,
    Linkage,
    MovementResult,
    NormalisedAd,
    PhotoHash,
    Quarantined,
    RiskResult,
)
from signaal.engines.chunks import (
    CHUNK_STAGES,
    ChunkResult,
    RecordChunk,
    process_line_chunk,
    process_record_chunk,
    record_items,
)
from signaal.engines.local import LocalEngine, chunked
from signaal.engines.memory import paused_gc, release_free_memory
from signaal.engines.reposts import Reposts
from signaal.engines.timing import Progress, StageTiming, Timer

if TYPE_CHECKING:
    from signaal.ads.lineage import LineageEvent, PreviousIds
    from signaal.ads.link import LinkConfig
    from signaal.ads.movement import MovementConfig
    from signaal.ads.photos import ItemEngine, PhotoLimits


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
    #: Parameters of the link and movement stages (default: the stages' defaults); see
    #: ``stage_config`` for the file that sets them.
    link: LinkConfig | None = None
    movement: MovementConfig | None = None
    #: The previous run's assignment of ads to personas and networks: when given, their names
    #: carry over and the merges and splits are reported (``lineage``).
    previous_ids: PreviousIds | None = None


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
    #: Merges and splits against ``PipelineConfig.previous_ids`` (empty without it).
    lineage: tuple[LineageEvent, ...] = ()


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
        for chunk in chunked(record_items(records), config.chunk_size)
    )
    results = engine.map_chunks(process_record_chunk, chunks)
    return analyse_results(results, config, progress, source=source, base_dir=config.photos_dir)


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
    results: Iterable[ChunkResult]
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        reposts = Reposts(source, config.chunk_size, config.indicators)
        line_chunks = reposts.chunks(iter_lines(path))
        results = reposts.assemble(engine.map_chunks(process_line_chunk, line_chunks))
    else:
        items = (item for item in parsed_items(path) if item is not None)
        record_chunks = (
            RecordChunk(tuple(chunk), config.indicators)
            for chunk in chunked(items, config.chunk_size)
        )
        results = engine.map_chunks(process_record_chunk, record_chunks)
    return analyse_results(results, config, progress, source=source, base_dir=base_dir)


def analyse_results(
    results: Iterable[ChunkResult],
    config: PipelineConfig,
    progress: Progress | None,
    *,
    source: str,
    base_dir: Path | None,
    photo_engine: ItemEngine | None = None,
) -> AnalysisResult:
    """The rest of the pipeline over the per-ad results of an engine, in input order: gather
    (deduplicate, count), then the corpus-wide stages (prices, photos, link, movement, risk).

    ``run`` and ``run_file`` call it with the local engine's chunk results; the Spark engine
    (``signaal.engines.spark``) with the results of its partitions, streamed in input order,
    and its executors as the ``photo_engine`` that hashes the photo files.
    """
    # The collector stays paused for the whole analysis: the stages make no reference cycles,
    # and every full collection would walk the millions of objects kept for later stages.
    with paused_gc():
        return _analyse(
            results, config, progress, source=source, base_dir=base_dir, photo_engine=photo_engine
        )


def _analyse(
    results: Iterable[ChunkResult],
    config: PipelineConfig,
    progress: Progress | None,
    *,
    source: str,
    base_dir: Path | None,
    photo_engine: ItemEngine | None,
) -> AnalysisResult:
    from signaal.ads.lineage import carry_ids
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
    cpu = dict.fromkeys(CHUNK_STAGES, 0.0)
    wall_started = time.perf_counter()
    _collect(results, source, stats, dedup, ads, hits, lines, quarantined, cpu, report)
    per_ad_wall = time.perf_counter() - wall_started
    timings = [
        StageTiming(name, stats.lines if name == "read" else len(ads), per_ad_wall, seconds)
        for name, seconds in cpu.items()
    ]

    def timed(stage: str, items: int) -> Timer:
        return Timer(stage, items, timings, report)

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
                engine=photo_engine,
            )
        for problem in photo_problems:
            stats.count_quarantined(problem)
            quarantined.append(problem)

    with timed("link", len(ads)):
        linkage = link(
            ads, hits, photo_hashes, pseudonym_key=config.pseudonym_key, config=config.link
        )
    lineage: tuple[LineageEvent, ...] = ()
    if config.previous_ids is not None:
        linkage, lineage = carry_ids(linkage, config.previous_ids)
    release_free_memory()  # the link stage's transient arrays and pairs
    with timed("movement", len(ads)):
        moves = movement(ads, linkage, config=config.movement)
    with timed("risk", len(ads)):
        risk = score(ads, hits, linkage, moves, load_weights(config.weights_path))
    release_free_memory()  # before the output tables are built on top
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
        lineage=lineage,
    )


def _collect(
    results: Iterable[ChunkResult],
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


def hash_ad_photos(
    ads: Sequence[NormalisedAd],
    base_dir: Path,
    *,
    workers: int = 1,
    lines: Mapping[str, int] | None = None,
    source: str = "",
    limits: PhotoLimits | None = None,
    engine: ItemEngine | None = None,
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
        sorted(wanted),
        workers=workers,
        root=base_dir,
        limits=limits or DEFAULT_LIMITS,
        engine=engine,
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
