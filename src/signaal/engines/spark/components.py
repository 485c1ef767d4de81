"""Connected components over an edge DataFrame, written in the project (no graphframes).

The large-star / small-star algorithm (Kiveris et al., "Connected Components in MapReduce and
Beyond", SoCC 2014): both steps keep the connectivity of the graph and move every node's edges
towards the smallest node of its neighbourhood; after a round in which the small-star edges form
stars (no edge points to a node that itself points further), each node's label is the node it
points to. Labels are the smallest member of each component, as ``signaal.ads.graph.components``
gives them, so the engines agree on every id derived from them. Each round is a few shuffles by
node; the plan is cut after every round (``localCheckpoint``) so that it does not grow.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

#: Rounds after which the algorithm gives up (it needs O(log² n) rounds; far fewer in practice).
MAX_ROUNDS = 64


class NotConverged(RuntimeError):
    """The components did not converge within ``MAX_ROUNDS`` rounds."""


def _oriented(edges: DataFrame) -> DataFrame:
    """Distinct edges as (src, dst) with src > dst; self-loops dropped."""
    return (
        edges.select(
            sf.greatest("src", "dst").alias("src"),
            sf.least("src", "dst").alias("dst"),
        )
        .where(sf.col("src") != sf.col("dst"))
        .distinct()
    )


def _large_star(edges: DataFrame) -> DataFrame:
    """Connect every strictly larger neighbour of a node to the smallest node of the node's
    neighbourhood (itself included)."""
    both = edges.union(edges.select(sf.col("dst").alias("src"), sf.col("src").alias("dst")))
    smallest = both.groupBy("src").agg(sf.min("dst").alias("m"))
    smallest = smallest.select("src", sf.least("src", "m").alias("m"))
    return _oriented(
        both.join(smallest, "src")
        .where(sf.col("dst") > sf.col("src"))
        .select(sf.col("dst").alias("src"), sf.col("m").alias("dst"))
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Connect every node and its smaller neighbours to the smallest of them."""
    smallest = edges.groupBy("src").agg(sf.min("dst").alias("m"))
    leaves = edges.join(smallest, "src").select(
        sf.col("dst").alias("src"), sf.col("m").alias("dst")
    )
    return _oriented(leaves.union(smallest.select("src", sf.col("m").alias("dst"))))


def _is_stars(edges: DataFrame) -> bool:
    """Whether no edge points to a node that has an edge itself (every target is a root)."""
    sources = edges.select(sf.col("src").alias("dst")).distinct()
    return edges.join(sources, "dst", "left_semi").limit(1).count() == 0


def connected_components(edges: DataFrame) -> DataFrame:
    """(node, label) for every node of ``edges`` (columns ``src`` and ``dst``, whole numbers):
    the label is the smallest node of the node's component. Nodes without edges are not in
    ``edges`` and so not in the result: their label is themselves."""
    current = _oriented(edges).localCheckpoint()
    for _ in range(MAX_ROUNDS):
        current = _small_star(_large_star(current)).localCheckpoint()
        if _is_stars(current):
            roots = current.select(sf.col("dst").alias("node")).distinct()
            labelled = current.select(sf.col("src").alias("node"), sf.col("dst").alias("label"))
            return labelled.union(roots.select("node", sf.col("node").alias("label")))
    raise NotConverged(f"connected components did not converge in {MAX_ROUNDS} rounds")
