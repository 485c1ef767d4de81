"""A whole analysis on Spark: per-ad stages on the executors, the rest as ``pipeline`` runs it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from signaal.ads.outputs import Tables
from signaal.ads.pipeline import AnalysisResult, PipelineConfig, analyse_results
from signaal.engines.spark.ads import per_ad_results, source_name
from signaal.engines.spark.items import SparkItems
from signaal.engines.timing import Progress


def is_local_path(path: str) -> bool:
    """Whether ``path`` names this machine's file system (no scheme, or ``file:``)."""
    return "://" not in path or path.startswith("file:")


def local_path(path: str) -> Path:
    return Path(path.removeprefix("file://").removeprefix("file:"))


def run_spark(
    spark: SparkSession,
    path: str,
    config: PipelineConfig,
    *,
    progress: Progress | None = None,
    fmt: str | None = None,
) -> AnalysisResult:
    """Analyse the ad records at ``path`` (JSON Lines or Parquet, any path Spark reads).

    Photos are hashed on the executors (``SparkItems``) from ``config.photos_dir``, else from
    the input's folder when that is on this machine; for an input elsewhere without
    ``photos_dir`` images are ignored (they would be quarantined as missing).
    """
    base_dir = config.photos_dir
    if base_dir is None and is_local_path(path):
        local = local_path(path)
        base_dir = local if local.is_dir() else local.parent
    photos = config.photos and base_dir is not None
    if photos != config.photos:
        from dataclasses import replace

        config = replace(config, photos=photos)
    results = per_ad_results(
        spark, path, chunk_size=config.chunk_size, indicators=config.indicators, fmt=fmt
    )
    return analyse_results(
        results,
        config,
        progress,
        source=source_name(path),
        base_dir=base_dir,
        photo_engine=SparkItems(spark),
    )


class SparkRun:
    """One analysis on Spark from the command line: the session, the run, the Parquet copies.

    ``with SparkRun(master) as run: result = run.analyse(...); run.write_parquet(...)``. A
    session that was active before (a notebook's, a test's) is used and left running; a session
    started here is stopped at the end.
    """

    def __init__(self, master: str | None = None) -> None:
        self.master = master
        self._spark: SparkSession | None = None
        self._started = False

    def __enter__(self) -> SparkRun:
        from signaal.engines.spark.session import spark_session

        self._started = SparkSession.getActiveSession() is None
        self._spark = spark_session(self.master)
        if self._started:
            self._spark.sparkContext.setLogLevel("ERROR")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._spark is not None and self._started:
            self._spark.stop()
        self._spark = None

    @property
    def spark(self) -> SparkSession:
        if self._spark is None:
            raise RuntimeError("SparkRun is used outside its with block")
        return self._spark

    def analyse(
        self, path: str, config: PipelineConfig, *, progress: Progress | None = None
    ) -> AnalysisResult:
        """``run_spark`` on this session; a path Spark cannot find is an ``InputError``."""
        from pyspark.errors import AnalysisException

        from signaal.errors import InputError

        try:
            return run_spark(self.spark, path, config, progress=progress)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                raise InputError(f"{path}: no such file or folder") from exc
            raise

    def write_parquet(self, tables: Tables, out: str) -> list[str]:
        from signaal.engines.spark.tables import write_parquet_tables

        return write_parquet_tables(self.spark, tables, out)
