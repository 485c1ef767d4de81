"""``signaal ingest ADS --organisation ORG``: add ads to the app store and update the analysis.

A thin adapter over :mod:`signaal.monitor.ingest`. ADS is a .jsonl or .csv file or a folder of
saved pages, as for ``signaal analyse``; ``--folder`` treats ADS as a drop folder instead (every
input in it, moved to done/ or failed/ afterwards, as the worker's ``ingest-folder`` job does).

Exit codes (as ``signaal analyse``): 0 all ingested (and analysed); 3 some records quarantined,
the rest ingested; 2 bad usage or an input that could not be read at all (nothing ingested);
1 the ads were ingested but the analysis or storing it failed (the next ingest analyses again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from signaal.cli.analyse import EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE

if TYPE_CHECKING:
    from signaal.ads.types import Quarantined
    from signaal.store.ingested import IngestReport

EXIT_ANALYSIS_FAILED = 1


def ingest(
    ads: Annotated[
        Path,
        typer.Argument(
            metavar="ADS",
            help="Ad records: a .jsonl or .csv file or a folder of saved HTML pages (with "
            "--folder: a drop folder of such inputs).",
            show_default=False,
        ),
    ],
    organisation: Annotated[
        str,
        typer.Option(
            "--organisation", help="The organisation (name or id) the ads belong to.", prompt=False
        ),
    ],
    folder: Annotated[
        bool,
        typer.Option("--folder", help="ADS is a drop folder: ingest every input in it."),
    ] = False,
    analyse: Annotated[
        bool,
        typer.Option(
            "--analyse/--no-analyse",
            help="Analyse what the organisation holds afterwards and store the run.",
        ),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes for the per-ad stages (default: the CPU count).", min=1),
    ] = None,
) -> None:
    """Add ads to the app store and update the organisation's analysis, keeping persona and
    network ids from the previous run while their evidence holds. Exit code 0: done; 3: some
    records quarantined; 2: bad usage or unreadable input; 1: ingested, analysis failed."""
    from signaal.ads.masking import mask_raw_line
    from signaal.chain.accounts import find_organisation
    from signaal.chain.authz import SYSTEM
    from signaal.engines.local import default_workers
    from signaal.errors import InputError, SignaalError
    from signaal.monitor.ingest import IngestOutcome, ingest_folder, ingest_path
    from signaal.settings import get_settings
    from signaal.store.db import make_engine, session_factory, upgrade, url_from_settings

    err = Console(stderr=True, soft_wrap=True)

    def fail(message: str, code: int) -> typer.Exit:
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        return typer.Exit(code)

    settings = get_settings()
    url = url_from_settings(settings)
    now = datetime.now(UTC)
    try:
        upgrade(url)
    except SignaalError as exc:
        raise fail(exc.message, EXIT_ANALYSIS_FAILED) from exc
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            found = find_organisation(session, organisation)
        if found is None:
            raise fail(f"--organisation: no organisation {organisation!r}", EXIT_USAGE)
        n_workers = workers or default_workers()
        quarantined: list[Quarantined] = []
        try:
            if folder:
                result = ingest_folder(
                    engine,
                    ads,
                    organisation_id=found.id,
                    settings=settings,
                    now=now,
                    actor=SYSTEM,
                    workers=n_workers,
                )
                for name, report in result.ingested:
                    quarantined.extend(report.quarantined)
                    err.print(f"{name}: {_counts(report)}", markup=False, highlight=False)
                for name, why in result.failed:
                    err.print(f"[yellow]failed[/] {escape(name)}: {escape(why)}", highlight=False)
                run = result.run
            else:
                outcome: IngestOutcome = ingest_path(
                    engine,
                    ads,
                    organisation_id=found.id,
                    settings=settings,
                    now=now,
                    actor=SYSTEM,
                    analyse=analyse,
                    workers=n_workers,
                )
                quarantined = list(outcome.report.quarantined)
                err.print(f"{ads.name}: {_counts(outcome.report)}", markup=False, highlight=False)
                run = outcome.run
        except InputError as exc:
            raise fail(exc.message, EXIT_USAGE) from exc
        except SignaalError as exc:
            raise fail(exc.message, EXIT_ANALYSIS_FAILED) from exc
        for item in quarantined[:20]:
            where = f"{item.source}:{item.line}" if item.line else item.source
            field = f" field {item.field!r}" if item.field else ""
            err.print(
                f"[yellow]quarantined[/] {escape(where + field)}: "
                f"{escape(mask_raw_line(item.reason))}",
                highlight=False,
            )
        if len(quarantined) > 20:
            err.print(f"… and {len(quarantined) - 20:,} more", markup=False)
        if run is None and analyse:
            err.print("Nothing new to analyse: the latest analysis stands.", markup=False)
        if run is not None:
            merges = sum(event.kind == "merged" for event in run.lineage)
            splits = sum(event.kind == "split" for event in run.lineage)
            err.print(
                f"Analysed {run.n_ads:,} ads ({run.n_personas:,} personas, "
                f"{run.n_networks:,} networks; {merges} merge(s), {splits} split(s) since the "
                f"previous run) in {run.seconds:.1f} s. Saved in the app store as analysis "
                f"{run.run_id} of {found.name}.",
                markup=False,
                highlight=False,
            )
    finally:
        engine.dispose()
    raise typer.Exit(EXIT_QUARANTINED if quarantined else EXIT_OK)


def _counts(report: IngestReport) -> str:
    return (
        f"{report.n_new:,} new ad(s), {report.n_versions:,} changed, "
        f"{report.n_seen_again:,} seen again, {report.n_duplicates:,} duplicate(s), "
        f"{len(report.quarantined):,} quarantined"
    )
