"""The per-ad stages on Spark: input lines from any path Spark reads, analysed in
``mapPartitions`` with the local engine's chunk function, streamed back in input order."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any
from urllib.parse import unquote

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
    """The name a file's quarantined records are reported under: the last part of its path (as
    the local engine reports a file by its name). Spark names files by URI (``%20`` for a space)."""
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


#: One input line: (file it is in, 1-based line number in that file, bytes of one ad record).
InputLine = tuple[str, int, bytes]


def input_lines(spark: SparkSession, path: str, fmt: str | None = None) -> RDD[InputLine]:
    """Every line (or Parquet row) of the file or folder ``path`` with the name of its file and
    its line number in that file, in the order of the files' paths and then of the lines.

    JSON Lines are read as raw bytes (the text column cast to binary), so that a line that is
    not UTF-8 is quarantined as the local engine quarantines it. A Parquet row becomes the JSON
    object of its columns (nested rows as objects without their null fields, timestamps in UTC
    with a ``Z``).

    Line numbers come from a table with one row per input split (file, start, first position,
    rows), made on the executors and small enough for the driver: a split's lines are
    consecutive, and the splits of a file in order of their start hold its lines in order.
    Spark packs the splits of several files into partitions by size, not by name; then the
    lines are sorted by (file, line) on the executors, so that the result does not depend on
    how Spark split the input.
    """
    fmt = fmt or input_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; choose from {', '.join(FORMATS)}")
    where = (
        sf.col("_metadata.file_path").alias("file"),
        sf.col("_metadata.file_block_start").alias("start"),
    )
    frame: DataFrame
    if fmt == "parquet":
        frame = spark.read.parquet(path)
        frame = frame.select(*where, sf.struct(*frame.columns).alias("value"))
    else:
        frame = spark.read.text(path)
        frame = frame.select(*where, sf.col("value").cast("binary").alias("value"))
    numbered = frame.rdd.zipWithIndex()
    splits = (
        numbered.map(lambda row: ((row[0][0], row[0][1]), (row[1], 1)))
        .reduceByKey(lambda a, b: (min(a[0], b[0]), a[1] + b[1]))
        .collect()
    )
    files = sorted({file for (file, _), _ in splits})
    rank = {file: k for k, file in enumerate(files)}
    # Per split: (rank of its file, lines of its file before it, its first position).
    placed: dict[tuple[str, int], tuple[int, int, int]] = {}
    before: dict[str, int] = dict.fromkeys(files, 0)
    for (file, start), (first, count) in sorted(splits, key=lambda s: (rank[s[0][0]], s[0][1])):
        placed[(file, start)] = (rank[file], before[file], first)
        before[file] += count
    in_order = [first for _, _, first in placed.values()] == sorted(
        first for _, _, first in placed.values()
    )
    where_of = spark.sparkContext.broadcast(placed)
    to_json = fmt == "parquet"

    def located(row: tuple[tuple[str, int, Any], int]) -> tuple[tuple[int, int], InputLine]:
        (file, start, value), position = row
        file_rank, lines_before, first = where_of.value[(file, start)]
        line = lines_before + position - first + 1
        # The text source takes the line end off; parse_line expects it (and strips it).
        data = _row_json(value.asDict(recursive=True)) if to_json else bytes(value) + b"\n"
        return (file_rank, line), (source_name(file), line, data)

    keyed = numbered.map(located)
    if not in_order:
        keyed = keyed.sortByKey(numPartitions=max(1, keyed.getNumPartitions()))
    return keyed.values()


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
    lines: Iterable[InputLine], *, chunk_size: int, indicators: IndicatorSet | None
) -> Iterator[ChunkResult]:
    """The per-ad stages over one partition's lines, a chunk at a time (runs on an executor);
    a chunk holds lines of one file (a quarantined line names its file).

    The partition keeps its reposts: each executor process analyses a content once
    (``LineChunk.reposts``), as a local worker does for records.
    """
    for source, of_file in itertools.groupby(lines, key=itemgetter(0)):
        numbered = ((number, data) for _, number, data in of_file)
        for chunk in chunked(numbered, chunk_size):
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

    def run(lines: Iterable[InputLine]) -> Iterator[ChunkResult]:
        return analyse_partition(lines, chunk_size=chunk_size, indicators=indicators)

    results = input_lines(spark, path, fmt).mapPartitions(run, preservesPartitioning=True)
    # One partition at a time on the driver (prefetching the next), in partition order.
    yield from results.toLocalIterator(prefetchPartitions=True)
