"""Parquet copies of the five output tables, written by Spark (to any path Spark writes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from signaal.ads.outputs import (
    ADS_COLUMNS,
    LINKS_COLUMNS,
    MOVEMENTS_COLUMNS,
    NETWORKS_COLUMNS,
    PERSONAS_COLUMNS,
    Row,
    Tables,
)

#: Columns that hold whole numbers (every other column is text, as in the CSV files).
WHOLE_NUMBERS = frozenset({"risk_score", "n_ads", "n_personas"})
#: Rows per slice handed to Spark (the driver sends the rows a slice at a time).
ROWS_PER_SLICE = 50_000


def schema(columns: Sequence[str]) -> StructType:
    return StructType(
        [
            StructField(c, LongType() if c in WHOLE_NUMBERS else StringType(), nullable=True)
            for c in columns
        ]
    )


def _values(rows: Sequence[Row], columns: Sequence[str]) -> Iterator[tuple[str | int | None, ...]]:
    for row in rows:
        values: list[str | int | None] = []
        for column in columns:
            value = row.get(column)
            if column in WHOLE_NUMBERS:
                if not isinstance(value, int):
                    raise TypeError(f"{column}: expected a whole number, got {value!r}")
                values.append(value)
            else:
                values.append(None if value is None else str(value))
        yield tuple(values)


def write_parquet_tables(spark: SparkSession, tables: Tables, out: str) -> list[str]:
    """``ads.parquet`` … ``links.parquet`` (folders of parts) under the URI or path ``out``, with
    the columns and row order of the CSV files; returns their paths."""
    written = []
    for name, rows, columns in (
        ("ads", tables.ads, ADS_COLUMNS),
        ("personas", tables.personas, PERSONAS_COLUMNS),
        ("networks", tables.networks, NETWORKS_COLUMNS),
        ("movements", tables.movements, MOVEMENTS_COLUMNS),
        ("links", tables.links, LINKS_COLUMNS),
    ):
        slices = max(1, -(-len(rows) // ROWS_PER_SLICE))
        data = spark.sparkContext.parallelize(list(_values(rows, columns)), slices)
        path = f"{out.rstrip('/')}/{name}.parquet"
        spark.createDataFrame(data, schema(columns)).write.mode("overwrite").parquet(path)
        written.append(path)
    return written
