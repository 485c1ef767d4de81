"""The per-ad stages on Spark: input lines from any path Spark reads, analysed in
``mapPartitions`` with the local engine's chunk function, streamed back in input order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from pyspark import RDD
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from signaal.ads.indicators import IndicatorSet
from signaal.engines.chunks import ChunkResult, LineChunk, process_line_chunk
from signaal.engines.local import chunked

#: Input formats: JSON Lines (one ad record per line) and Parquet (one ad record per row).
FORMATS = ("jsonl", "parquet")


def input_format(path: str) -> str:
    """``parquet`` for a path ending in ``.parquet`` (a file or a folder of parts), else
    ``jsonl``."""
    return "parquet" if path.rstrip("/").lower().endswith(".parquet") else "jsonl"


def source_name(path: str) -> str:
    """The name quarantined records are reported under: the last part of the path."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def input_lines(spark: SparkSession, path: str, fmt: str | None = None) -> RDD[tuple[int, bytes]]:
    """(1-based line number, bytes of one ad record) for every line or row, in input order.

    JSON Lines are read as raw bytes (the text column cast to binary), so that a line that is
    not UTF-8 is quarantined as the local engine quarantines it. A Parquet row becomes the JSON
    object of its columns (nested rows as objects without their null fields, timestamps in UTC
    with a ``Z``).
    Line numbers count over all files of a folder, in Spark's order of the files.
    """
    fmt = fmt or input_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
    frame: DataFrame
    if fmt == "parquet":
        frame = spark.read.parquet(path)
        numbered = frame.rdd.zipWithIndex()
        return numbered.map(lambda row: (row[1] + 1, _row_json(row[0].asDict(recursive=True))))
    frame = spark.read.text(path).select(sf.col("value").cast("binary").alias("value"))
    numbered = frame.rdd.zipWithIndex()
    # The text source takes the line end off; parse_line expects it (and strips it).
    return numbered.map(lambda row: (row[1] + 1, bytes(row[0][0]) + b"\n"))


def _row_json(row: dict[str, Any]) -> bytes:
    record = {key: _without_nulls(value) for key, value in row.items()}
    return orjson.dumps(
        record, default=_json_default, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
    )


def _without_nulls(value: Any) -> Any:
    """Inside a column: a key missing from one row's object (``prices`` without ``15min``) is a
    null field of the struct Parquet keeps; the record leaves it out. A null column stays null
    (a required field may be null: ``origin``)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _json_default(value: object) -> object:
    if isinstance(value, datetime):  # pragma: no cover - orjson serialises datetimes itself
        return value.isoformat()
    if isinstance(value, bytearray | bytes):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def analyse_partition(
    lines: Iterable[tuple[int, bytes]],
    *,
    source: str,
    chunk_size: int,
    indicators: IndicatorSet | None,
) -> Iterator[ChunkResult]:
    """The per-ad stages over one partition's lines, a chunk at a time (runs on an executor).

    The partition keeps its reposts: each executor process analyses a content once
    (``LineChunk.reposts``), as a local worker does for records.
    """
    for chunk in chunked(lines, chunk_size):
        yield process_line_chunk(LineChunk(source, tuple(chunk), indicators, reposts=True))


def per_ad_results(
    spark: SparkSession,
    path: str,
    *,
    chunk_size: int,
    indicators: IndicatorSet | None = None,
    fmt: str | None = None,
) -> Iterator[ChunkResult]:
    """The per-ad results of every line of ``path`` in input order, a partition at a time."""
    source = source_name(path)

    def run(lines: Iterable[tuple[int, bytes]]) -> Iterator[ChunkResult]:
        return analyse_partition(lines, source=source, chunk_size=chunk_size, indicators=indicators)

    results = input_lines(spark, path, fmt).mapPartitions(run, preservesPartitioning=True)
    # One partition at a time on the driver (prefetching the next), in partition order.
    yield from results.toLocalIterator(prefetchPartitions=True)
