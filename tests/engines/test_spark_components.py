"""Connected components on DataFrames against the local engine's ``graph.components`` (oracle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from signaal.ads.graph import components

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# One xdist worker runs every Spark test, so that they share one SparkSession (conftest).
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _on_spark(spark: SparkSession, n: int, edges: np.ndarray) -> np.ndarray:
    from signaal.engines.spark.components import connected_components

    frame = spark.createDataFrame(
        [(int(a), int(b)) for a, b in edges.tolist()], "src long, dst long"
    )
    labels = np.arange(n, dtype=np.int64)  # a node without edges is its own component
    for row in connected_components(frame).collect():
        labels[row["node"]] = row["label"]
    return labels


def _random_graph(seed: int, n: int, m: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(m, 2), dtype=np.int64)


def _path(order: np.ndarray) -> np.ndarray:
    return np.stack((order[:-1], order[1:]), axis=1)


@pytest.mark.parametrize(
    ("name", "n", "edges"),
    [
        ("sparse random", 120, _random_graph(1, 120, 80)),
        ("dense random", 80, _random_graph(2, 80, 160)),
        ("with self-loops and repeats", 50, np.array([[3, 3], [4, 9], [9, 4], [4, 9], [7, 1]])),
        # A long path numbered against the grain: the worst case for label propagation.
        ("reversed path", 100, _path(np.arange(99, -1, -1))),
        ("shuffled path", 100, _path(np.random.default_rng(3).permutation(100))),
        ("star", 40, np.stack((np.full(39, 17), np.delete(np.arange(40), 17)), axis=1)),
        ("no edges", 10, np.zeros((0, 2), dtype=np.int64)),
    ],
)
def test_components_match_the_local_engine(
    spark: SparkSession, name: str, n: int, edges: np.ndarray
) -> None:
    expected = components(n, edges)
    assert np.array_equal(_on_spark(spark, n, edges), expected), name


def test_components_label_is_the_smallest_member(spark: SparkSession) -> None:
    labels = _on_spark(spark, 6, np.array([[5, 4], [4, 2], [1, 0]]))
    assert labels.tolist() == [0, 0, 2, 3, 2, 2]
