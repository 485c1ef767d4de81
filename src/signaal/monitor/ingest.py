"""Daily operation: ads in, analysis updated, ids kept (``signaal ingest``, the worker's
``ingest-folder`` job).

:func:`ingest_path` reads one input (JSON Lines, CSV or a folder of saved pages, as
``signaal analyse`` reads it) into the organisation's ingested ads and commits that first: a
failing analysis afterwards loses no ad. :func:`analyse_stored` then analyses the newest
version of every ad the organisation holds and stores the run, with the persona and network
names of the previous run carried over (:mod:`signaal.ads.lineage`) and the merges and splits
recorded with their evidence.

What is incremental today: the store (an ad seen again costs a lookup, not a row), the ids
(stable while the evidence holds) and the checks that follow a run (watches, watchlists). The
analysis itself runs over all held ads, because the linking weighs evidence by how common it is
in the whole corpus (a name seen with one more persona counts for less everywhere); its
per-ad stages are the part a cache could save (docs/analysis.md, "Daily ingest").
Photos of ingested ads are not hashed: an ad's image paths name files of the input folder,
which are gone by the next day's run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from signaal.ads.lineage import LineageEvent
from signaal.ads.read import ParsedLine, parsed_items
from signaal.ads.records import AdRecord
from signaal.ads.types import Quarantined
from signaal.chain.authz import Actor
from signaal.engines.timing import Progress
from signaal.settings import Settings
from signaal.store import analysis, ingested
from signaal.store.db import session_factory, transaction


@dataclass(frozen=True)
class AnalysedRun:
    """The run stored after an ingest."""

    run_id: int
    previous_run_id: int | None
    n_ads: int
    n_personas: int
    n_networks: int
    quarantined: tuple[Quarantined, ...]
    lineage: tuple[LineageEvent, ...]
    seconds: float


@dataclass(frozen=True)
class IngestOutcome:
    report: ingested.IngestReport
    run: AnalysedRun | None = None
    seconds_ingest: float = 0.0
    problems: tuple[str, ...] = field(default_factory=tuple)


def ingest_path(
    engine: Engine,
    path: Path,
    *,
    organisation_id: int,
    settings: Settings,
    now: datetime,
    actor: Actor,
    analyse: bool = True,
    workers: int = 1,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Ingest one input for an organisation (committed), then, with ``analyse``, analyse what
    the organisation holds and store the run (committed separately). An input that brought
    nothing new is not analysed again (unless an earlier analysis did not get stored)."""
    clock = time.perf_counter()
    factory = session_factory(engine)
    with transaction(factory) as session:
        report = ingested.ingest(
            session,
            parsed_items(path),
            organisation_id=organisation_id,
            source=path.name,
            now=now,
            actor=actor,
            retention_days=settings.ingest_retention_days,
        )
    seconds_ingest = time.perf_counter() - clock
    if not analyse or not (report.n_changed or analysis_pending(engine, organisation_id)):
        return IngestOutcome(report, None, seconds_ingest)
    run = analyse_stored(
        engine,
        organisation_id=organisation_id,
        settings=settings,
        now=now,
        actor=actor,
        source=f"ingest: {report.source}",
        workers=workers,
        progress=progress,
    )
    return IngestOutcome(report, run, seconds_ingest)


def _records(items: Iterator[ParsedLine | Quarantined]) -> Iterator[AdRecord | Quarantined]:
    for item in items:
        yield item.record if isinstance(item, ParsedLine) else item


def analyse_stored(
    engine: Engine,
    *,
    organisation_id: int,
    settings: Settings,
    now: datetime,
    actor: Actor,
    source: str,
    workers: int = 1,
    progress: Progress | None = None,
) -> AnalysedRun:
    """Analyse the newest version of every ad the organisation holds and store the run, with
    the previous run's names carried over; returns what was stored."""
    from signaal.ads.masking import contact_values_by_pseudonym
    from signaal.ads.outputs import build_tables
    from signaal.ads.pipeline import PipelineConfig, run
    from signaal.ads.stage_config import load_stage_config
    from signaal.monitor.runs import store_run, stored_ad_rows

    clock = time.perf_counter()
    started_at = datetime.now(now.tzinfo)
    stages = load_stage_config(settings.analysis_config) if settings.analysis_config else None
    factory = session_factory(engine)
    with factory() as session:
        latest = analysis.latest_run(session, organisation_id, now=now)
        previous = ingested.previous_ids(session, latest.id) if latest is not None else None
        config = PipelineConfig(
            pseudonym_key=settings.pseudonym_key,
            workers=workers,
            photos=False,
            link=stages.link if stages else None,
            movement=stages.movement if stages else None,
            previous_ids=previous,
        )
        result = run(
            _records(ingested.newest_records(session, organisation_id, now)),
            config,
            progress=progress,
            source="store",
        )
    del previous
    tables = build_tables(result, pseudonym_key=settings.pseudonym_key)
    finished_at = datetime.now(now.tzinfo)
    with transaction(factory) as session:
        run_id = store_run(
            session,
            organisation_id=organisation_id,
            source=source,
            started_at=started_at,
            finished_at=max(finished_at, started_at),
            ads=stored_ad_rows(result, tables.ads, settings.pseudonym_key),
            tables=tables,
            n_quarantined=len(result.quarantined),
            contact_points=contact_values_by_pseudonym(result.ads, settings.pseudonym_key),
            settings=settings,
            now=now,
            actor=actor,
            lineage=result.lineage,
            previous_run_id=latest.id if latest is not None else None,
        )
    return AnalysedRun(
        run_id=run_id,
        previous_run_id=latest.id if latest is not None else None,
        n_ads=len(result.ads),
        n_personas=len(tables.personas),
        n_networks=len(tables.networks),
        quarantined=result.quarantined,
        lineage=result.lineage,
        seconds=time.perf_counter() - clock,
    )


def analysis_pending(engine: Engine, organisation_id: int) -> bool:
    """Whether ads arrived after the latest run began (say, an analysis that failed after its
    ads were ingested: the next pass analyses them)."""
    with session_factory(engine)() as session:
        changed = ingested.last_change(session, organisation_id)
        if changed is None:
            return False
        latest = analysis.latest_run(session, organisation_id)
        return latest is None or latest.started_at < changed


#: Entries of a drop folder that are never ingested: its own subfolders, hidden files and files
#: still being written (a writer drops ``name.part`` or ``name.tmp`` and renames it when done).
DONE, FAILED = "done", "failed"
_IN_PROGRESS = (".part", ".tmp", ".partial")
_INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


@dataclass(frozen=True)
class FolderOutcome:
    """What one pass over a drop folder did."""

    ingested: tuple[tuple[str, ingested.IngestReport], ...]
    failed: tuple[tuple[str, str], ...]  # (entry name, why)
    run: AnalysedRun | None

    def describe(self) -> str:
        new = sum(report.n_changed for _, report in self.ingested)
        quarantined = sum(len(report.quarantined) for _, report in self.ingested)
        text = (
            f"{len(self.ingested)} input(s) ingested ({new} new ad(s) or version(s), "
            f"{quarantined} quarantined), {len(self.failed)} failed"
        )
        if self.run is not None:
            text += (
                f"; analysis {self.run.run_id}: {self.run.n_ads} ads, {self.run.n_personas} "
                f"personas, {self.run.n_networks} networks, "
                f"{sum(e.kind == 'merged' for e in self.run.lineage)} merge(s), "
                f"{sum(e.kind == 'split' for e in self.run.lineage)} split(s)"
            )
        return text


def drop_folder_entries(folder: Path) -> list[Path]:
    """The inputs waiting in a drop folder, in name order (see :data:`DONE`)."""
    entries: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name in (DONE, FAILED) or name.startswith(".") or name.endswith(_IN_PROGRESS):
            continue
        entries.append(entry)
    return entries


def _move(entry: Path, folder: Path, stamp: str) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / f"{stamp}-{entry.name}"
    counter = 1
    while target.exists() or target.is_symlink():
        counter += 1
        target = folder / f"{stamp}-{counter}-{entry.name}"
    entry.rename(target)  # a symbolic link is moved as a link, never followed
    return target


def ingest_folder(
    engine: Engine,
    folder: Path,
    *,
    organisation_id: int,
    settings: Settings,
    now: datetime,
    actor: Actor,
    workers: int = 1,
) -> FolderOutcome:
    """Ingest every input waiting in ``folder`` (each committed on its own, then moved to
    ``done/``, with its quarantined records beside it as ``NAME.quarantine.jsonl``; an input
    that cannot be read at all goes to ``failed/`` with ``NAME.error.txt``), then analyse once
    when anything was new (or an earlier analysis of ingested ads did not get stored)."""
    from signaal.ads.files import write_atomic
    from signaal.ads.outputs import quarantine_jsonl
    from signaal.errors import InputError

    if not folder.is_dir():
        raise InputError(f"{folder}: the ingest folder does not exist or is not a folder")
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    done: list[tuple[str, ingested.IngestReport]] = []
    failed: list[tuple[str, str]] = []
    for entry in drop_folder_entries(folder):
        why: str | None = None
        if entry.is_symlink():
            why = "a symbolic link (the drop folder takes files and folders only)"
        elif not (entry.is_dir() or entry.suffix.lower() in _INPUT_SUFFIXES):
            why = f"unknown input format {entry.suffix!r} (use .jsonl, .csv or a folder)"
        if why is None:
            try:
                outcome = ingest_path(
                    engine,
                    entry,
                    organisation_id=organisation_id,
                    settings=settings,
                    now=now,
                    actor=actor,
                    analyse=False,
                )
            except (InputError, OSError) as exc:
                why = exc.message if isinstance(exc, InputError) else str(exc)
            else:
                moved = _move(entry, folder / DONE, stamp)
                if outcome.report.quarantined:
                    write_atomic(
                        moved.with_name(moved.name + ".quarantine.jsonl"),
                        quarantine_jsonl(outcome.report.quarantined),
                    )
                done.append((entry.name, outcome.report))
                continue
        moved = _move(entry, folder / FAILED, stamp)
        write_atomic(moved.with_name(moved.name + ".error.txt"), why + "\n")
        failed.append((entry.name, why))
    run = None
    if any(report.n_changed for _, report in done) or analysis_pending(engine, organisation_id):
        run = analyse_stored(
            engine,
            organisation_id=organisation_id,
            settings=settings,
            now=now,
            actor=actor,
            source=f"ingest folder: {len(done)} input(s)",
            workers=workers,
        )
    return FolderOutcome(tuple(done), tuple(failed), run)
