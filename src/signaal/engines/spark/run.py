"""A whole analysis on Spark: per-ad stages on the executors, the rest as ``pipeline`` runs it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from signaal.ads.pipeline import AnalysisResult, PipelineConfig, analyse_results
from signaal.engines.spark.ads import per_ad_results, source_name
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

    Photos are hashed on the driver from ``config.photos_dir``, else from the input's folder
    when that is on this machine; for an input elsewhere without ``photos_dir`` images are
    ignored (they would be quarantined as missing).
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
    return analyse_results(results, config, progress, source=source_name(path), base_dir=base_dir)
