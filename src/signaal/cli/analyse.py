"""``signaal analyse ADS --out DIR [--store] [--engine spark]``: the ads pipeline from the command
line.

A thin adapter: reads settings, draws progress bars, calls ``signaal.ads.pipeline.run_file`` (or,
with ``--engine spark``, ``signaal.engines.spark.run.SparkRun``), writes the tables, the
quarantine file and the report, and (with ``--store``) saves the results in the app store.

Exit codes (a contract for scripts):
    0  everything was analysed
    3  some input records were quarantined (see DIR/quarantine.jsonl); the rest was analysed
    2  usage error, or the input could not be read at all (nothing was analysed)
    1  an internal error (a bug or a failing machine: one line on stderr, the traceback in
       DIR/error.log), or the analysis was written but saving it in the app store failed

A bad record is never an internal error: it is quarantined and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from signaal.ads.outputs import Tables
    from signaal.ads.pipeline import AnalysisResult, PipelineConfig

T = TypeVar("T")

EXIT_OK = 0
EXIT_STORE_FAILED = 1
EXIT_INTERNAL_ERROR = 1
EXIT_USAGE = 2
EXIT_QUARANTINED = 3

#: The file in --out that holds the traceback of an internal error.
ERROR_LOG = "error.log"


def _count_lines(path: Path) -> int | None:
    if not path.is_file() or path.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        return None
    count = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def analyse(
    ads_arg: Annotated[
        str,
        typer.Argument(
            metavar="ADS",
            help="Ad records: a .jsonl or .csv file, or a folder of saved HTML pages; with "
            "--engine spark a JSON Lines or .parquet file or folder at any path Spark reads "
            "(hdfs://, s3a://, file:).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the results (created if needed).")],
    store: Annotated[
        bool, typer.Option("--store", help="Also save the results in the app store.")
    ] = False,
    organisations: Annotated[
        list[str] | None,
        typer.Option(
            "--organisation",
            help="With --store: the organisation (name or id) the stored run belongs to; only "
            "its users see it. Repeat to store one copy per organisation.",
        ),
    ] = None,
    photos_dir: Annotated[
        Path | None,
        typer.Option(
            "--photos-dir",
            help="Folder that image paths in the records are relative to "
            "(default: the folder of ADS); only regular files inside it are read.",
        ),
    ] = None,
    no_photos: Annotated[
        bool, typer.Option("--no-photos", help="Ignore images (do not hash photos).")
    ] = False,
    weights: Annotated[
        Path | None,
        typer.Option("--weights", help="Risk weights file (e.g. from 'signaal calibrate')."),
    ] = None,
    indicators: Annotated[
        Path | None,
        typer.Option("--indicators", help="Indicator definitions instead of the built-in ones."),
    ] = None,
    stage_config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="JSON file with link and movement parameters (default: the setting "
            "SIGNAAL_ANALYSIS_CONFIG, else the stages' defaults; see docs/analysis.md).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Worker processes (default: all cores)."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of report.html: nl or en.")] = "nl",
    reveal_contacts: Annotated[
        bool,
        typer.Option(
            "--reveal-contacts",
            help="Write contact points in the clear into report.html (and only there); the "
            "page then says so at the top. Default: masked.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local (this machine's processes) or spark (the per-ad stages on a Spark "
            "cluster or in Spark local mode; needs the spark extra and Java; see docs/spark.md).",
        ),
    ] = "local",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --engine spark: the Spark master URL (default: the one spark-submit "
            "gives, else local[*]).",
        ),
    ] = None,
    parquet_out: Annotated[
        str | None,
        typer.Option(
            "--parquet-out",
            help="With --engine spark: where Spark writes the Parquet copies of the tables "
            "(any path Spark writes; default: DIR/parquet).",
        ),
    ] = None,
) -> None:
    """Analyse ads: indicators, personas, networks, movement and risk, with their reasons.

    Writes ads.csv, personas.csv, networks.csv, movements.csv, links.csv, report.html and
    quarantine.jsonl into --out (with --engine spark also Parquet copies of the five tables);
    contact points in them are pseudonymised or masked. Exit code
    0: all analysed; 3: some records quarantined, the rest analysed; 2: bad usage or unreadable
    input; 1: internal error (traceback in --out/error.log) or saving in the app store failed.
    """
    from signaal.ads.indicators import load_indicators
    from signaal.ads.masking import contact_values_by_pseudonym, mask_raw_line
    from signaal.ads.outputs import build_tables, write_quarantine, write_tables
    from signaal.ads.pipeline import PipelineConfig, run_file
    from signaal.ads.report import write_report
    from signaal.ads.risk import load_weights
    from signaal.ads.stage_config import load_stage_config
    from signaal.engines.local import default_workers
    from signaal.errors import SignaalError
    from signaal.monitor.runs import ad_photo_rows, stored_ad_rows
    from signaal.settings import get_settings

    err = Console(stderr=True, soft_wrap=True)
    ads = Path(ads_arg)
    if engine not in ("local", "spark"):
        raise typer.BadParameter("use local or spark", param_hint="--engine")
    if engine != "spark" and (spark_master is not None or parquet_out is not None):
        option = "--spark-master" if spark_master is not None else "--parquet-out"
        raise typer.BadParameter("only with --engine spark", param_hint=option)
    if engine == "spark" and ads.suffix.lower() == ".csv":
        raise typer.BadParameter(
            "the Spark engine reads JSON Lines or Parquet, not CSV", param_hint="ADS"
        )
    if lang not in ("nl", "en"):
        raise typer.BadParameter("use nl or en", param_hint="--lang")
    if store and not organisations:
        raise typer.BadParameter(
            "say which organisation the stored run belongs to", param_hint="--organisation"
        )
    if organisations and not store:
        raise typer.BadParameter("only with --store", param_hint="--organisation")
    try:
        settings = get_settings()
        config_option = "--config" if stage_config is not None else "SIGNAAL_ANALYSIS_CONFIG"
        stages = _option_file(
            load_stage_config, stage_config or settings.analysis_config, config_option
        )
        config = PipelineConfig(
            pseudonym_key=settings.pseudonym_key,
            workers=workers or default_workers(),
            photos_dir=photos_dir,
            photos=not no_photos,
            weights_path=weights,
            indicators=_option_file(load_indicators, indicators, "--indicators"),
            link=stages.link if stages else None,
            movement=stages.movement if stages else None,
        )
        if weights is not None and not weights.is_file():
            raise typer.BadParameter(f"{weights}: no such file", param_hint="--weights")
        _option_file(load_weights, weights, "--weights")  # refuse a bad file before the run
        _writable_folder(out)  # before the run, not after it
        started_at = datetime.now(UTC)
        clock = time.perf_counter()
        with _ProgressBars(quiet, err, _count_lines(ads)) as report:
            if engine == "spark":
                result, tables = _analyse_on_spark(
                    ads_arg, config, out, spark_master, parquet_out, report
                )
            else:
                result = run_file(ads, config, progress=report)
                report("write results", 0, 1)
                tables = build_tables(result, pseudonym_key=settings.pseudonym_key)
            write_tables(tables, out)
            write_quarantine(result.quarantined, out)
            write_report(
                result,
                tables,
                out / "report.html",
                lang=lang,
                reveal_contacts=reveal_contacts,
                pseudonym_key=settings.pseudonym_key,
            )
            report("write results", 1, 1)
        finished_at = datetime.now(UTC)
    except (typer.Exit, typer.BadParameter, KeyboardInterrupt):
        raise
    except SignaalError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except OSError as exc:
        if not _is_input_error(exc, ads, weights, indicators):
            raise typer.Exit(_internal_error(err, exc, out)) from exc
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except Exception as exc:  # a bug: one line here, the traceback in the log
        raise typer.Exit(_internal_error(err, exc, out)) from exc

    stats = result.stats
    for item in result.quarantined[:20]:
        where = f"{item.source}:{item.line}" if item.line else item.source
        field = f" field {item.field!r}" if item.field else ""
        reason = mask_raw_line(item.reason)
        err.print(
            f"[yellow]quarantined[/] {escape(where + field)}: {escape(reason)}",
            highlight=False,
        )
    if len(result.quarantined) > 20:
        err.print(
            f"… and {len(result.quarantined) - 20:,} more in {out / 'quarantine.jsonl'}",
            markup=False,
        )
    n_personas = len(tables.personas)
    n_networks = len(tables.networks)
    err.print(
        f"Analysed {len(result.ads):,} ads ({n_personas:,} personas, {n_networks:,} networks, "
        f"{len(tables.links):,} links) in {time.perf_counter() - clock:.1f} s; "
        f"{stats.duplicates:,} duplicates dropped, {stats.quarantined:,} quarantined. "
        f"Results in {out}",
        highlight=False,
        markup=False,
    )
    code = EXIT_QUARANTINED if result.quarantined else EXIT_OK
    if store:
        try:
            stored = save_to_store(
                source=str(ads),
                started_at=started_at,
                finished_at=finished_at,
                ads=stored_ad_rows(result, tables.ads, settings.pseudonym_key),
                tables=tables,
                n_quarantined=len(result.quarantined),
                organisations=organisations or [],
                contact_points=contact_values_by_pseudonym(result.ads, settings.pseudonym_key),
                photos=ad_photo_rows(
                    result,
                    base_dir=config.photos_dir or (ads if ads.is_dir() else ads.parent),
                    limits=config.photo_limits,
                    link=config.link,
                    workers=config.workers,
                ),
            )
        except SignaalError as exc:
            err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            raise typer.Exit(EXIT_STORE_FAILED) from exc
        for name, run_id in stored:
            err.print(f"Saved in the app store as analysis {run_id} of {name}.", markup=False)
    raise typer.Exit(code)


def _analyse_on_spark(
    ads: str,
    config: PipelineConfig,
    out: Path,
    master: str | None,
    parquet_out: str | None,
    report: Callable[[str, int, int | None], None],
) -> tuple[AnalysisResult, Tables]:
    """The analysis on Spark, its tables, and their Parquet copies (written by Spark)."""
    try:
        from signaal.engines.spark.run import SparkRun
    except ImportError as exc:
        raise typer.BadParameter(
            "the Spark engine needs the spark extra: pip install 'signaal[spark]' (and Java 17)",
            param_hint="--engine",
        ) from exc
    from signaal.ads.outputs import build_tables

    with SparkRun(master) as run:
        result = run.analyse(ads, config, progress=report)
        report("write results", 0, 1)
        tables = build_tables(result, pseudonym_key=config.pseudonym_key)
        run.write_parquet(tables, parquet_out or (out / "parquet").absolute().as_uri())
    return result, tables


def _option_file(load: Callable[[Path], T], path: Path | None, option: str) -> T | None:
    """``load(path)`` for the file of a command-line option; a bad file is bad usage."""
    from signaal.errors import SignaalError

    if path is None:
        return None
    try:
        return load(path)
    except SignaalError as exc:
        raise typer.BadParameter(f"{path}: {exc.message}", param_hint=option) from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint=option) from exc


def _writable_folder(out: Path) -> None:
    """Create ``--out`` if needed; bad usage when it is no folder this process can write in."""
    import os

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"{out}: {exc.strerror or exc}", param_hint="--out") from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{out}: not writable", param_hint="--out")
    # The log of an earlier failed run would be taken for this run's.
    (out / ERROR_LOG).unlink(missing_ok=True)


def _is_input_error(exc: OSError, *inputs: Path | None) -> bool:
    """Whether ``exc`` is about one of the given input files (then it is bad usage)."""
    if exc.filename is None:
        return False
    named = Path(str(exc.filename))
    return any(path is not None and (named == path or path in named.parents) for path in inputs)


def _internal_error(err: Console, exc: BaseException, out: Path) -> int:
    """Report an internal error in one line and its traceback in a log file; the exit code."""
    import tempfile
    import traceback

    from signaal.ads.files import write_atomic

    text = "".join(traceback.format_exception(exc))
    log: Path | None = None
    for folder in (out, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            log = write_atomic(
                folder / (ERROR_LOG if folder == out else f"signaal-{ERROR_LOG}"), text
            )
            break
        except OSError:
            continue
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    where = f"; the traceback is in {log}" if log else ""
    err.print(
        f"[bold red]internal error:[/] {escape(summary + where)}", highlight=False, soft_wrap=True
    )
    return EXIT_INTERNAL_ERROR


def save_to_store(
    *,
    source: str,
    started_at: datetime,
    finished_at: datetime,
    ads: Sequence[Mapping[str, object]],
    tables: Tables,
    n_quarantined: int,
    organisations: Sequence[str],
    contact_points: Mapping[str, str] | None = None,
    photos: Sequence[Mapping[str, object]] = (),
) -> list[tuple[str, int]]:
    """Save an analysis through the store's ``save_analysis``, migrating the store first: one
    run per organisation (name or id), all in one transaction. Returns (name, run id) pairs.

    ``contact_points`` (pseudonym -> clear value) are sealed with the contact key and stored
    with each run, in the same transaction, for the roles that may reveal one on screen. Each
    stored run is compared with the protective watches (:func:`signaal.chain.watches.check_run`),
    which notifies the watching organisations in the app, and with the organisation's watchlists
    (:func:`signaal.monitor.watchlists.check_run`), which writes the alerts of its users.
    ``photos``: the ads' photos with their thumbnails (``signaal.monitor.runs.ad_photo_rows``).
    """
    from signaal.chain.accounts import find_organisation
    from signaal.chain.authz import SYSTEM
    from signaal.errors import FieldError
    from signaal.monitor.runs import store_run
    from signaal.settings import get_settings
    from signaal.store.db import (
        make_engine,
        session_factory,
        transaction,
        upgrade,
        url_from_settings,
    )

    settings = get_settings()
    url = url_from_settings(settings)
    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            stored: list[tuple[str, int]] = []
            for name_or_id in organisations:
                organisation = find_organisation(session, name_or_id)
                if organisation is None:
                    raise FieldError("--organisation", f"no organisation {name_or_id!r}")
                # The command line acts as the system itself (audited as "system").
                run_id = store_run(
                    session,
                    organisation_id=organisation.id,
                    source=source,
                    started_at=started_at,
                    finished_at=finished_at,
                    ads=ads,
                    tables=tables,
                    n_quarantined=n_quarantined,
                    contact_points=contact_points or {},
                    settings=settings,
                    now=datetime.now(UTC),
                    actor=SYSTEM,
                    photos=photos,
                )
                stored.append((organisation.name, run_id))
            return stored
    finally:
        engine.dispose()


class _ProgressBars:
    """Rich progress bars per stage, fed by the pipeline's progress callback."""

    def __init__(self, quiet: bool, console: Console, total_lines: int | None) -> None:
        self.quiet = quiet
        self.total_lines = total_lines
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=quiet,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _ProgressBars:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage == "analyse ads" and total is None:
            total = self.total_lines
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)
