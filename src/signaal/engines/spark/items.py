"""Many small independent items (photo files) on the executors, results back in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pyspark.sql import SparkSession

T = TypeVar("T")
R = TypeVar("R")

#: Items per Spark task: a photo takes milliseconds, a task's start-up more.
ITEMS_PER_TASK = 256


class SparkItems:
    """``map_items`` as ``engines.local.LocalEngine`` has it, on the executors.

    The items are sent from the driver and the results come back to it (for photos: a path
    out, a hash or an error back); each executor reads the files at the paths the driver names,
    so the photo folder must be at the same path on every node (a shared mount), as it is in
    local mode.
    """

    def __init__(self, spark: SparkSession, per_task: int = ITEMS_PER_TASK) -> None:
        self.spark = spark
        self.per_task = per_task

    def map_items(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        tasks = max(1, -(-len(items) // self.per_task))
        rdd = self.spark.sparkContext.parallelize(list(items), tasks)
        return rdd.map(function).collect()
