"""Connected components over numpy edge lists, and grouping helpers used by the link stage.

``components`` labels every node with the smallest node index of its component, so the labels do
not depend on the order of the edges: the same graph always gives the same labels.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Number = TypeVar("Number", bound=np.integer[Any])


def components(n: int, edges: IntArray) -> IntArray:
    """Component label (smallest member index) of each of ``n`` nodes, given k x 2 ``edges``.

    Vectorised union-find: every round hooks the larger root of each edge under the smaller one
    (``np.minimum.at``), then compresses all paths by pointer jumping; it stops when every edge
    joins equal roots. Roots only ever decrease, so the final root of a node is the smallest index
    in its component.
    """
    parent = np.arange(n, dtype=np.int64)
    if n == 0 or edges.size == 0:
        return parent
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    u = edges[:, 0]
    v = edges[:, 1]
    while True:
        pu = parent[u]
        pv = parent[v]
        differ = pu != pv
        if not differ.any():
            return parent
        u, v = u[differ], v[differ]
        pu, pv = pu[differ], pv[differ]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def run_starts(*keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """For rows already sorted by ``keys``: True where a row starts a new run of equal keys."""
    n = keys[0].size
    start = np.zeros(n, dtype=bool)
    if n == 0:
        return start
    start[0] = True
    for key in keys:
        start[1:] |= key[1:] != key[:-1]
    return start


def chain_edges(sorted_members: IntArray, new_run: npt.NDArray[np.bool_]) -> IntArray:
    """Edges joining consecutive members inside each run (a spanning path per run)."""
    if sorted_members.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    same = ~new_run[1:]
    return np.stack((sorted_members[:-1][same], sorted_members[1:][same]), axis=1)


def distinct(values: npt.NDArray[Number]) -> npt.NDArray[Number]:
    """The sorted distinct values of a 1-d integer array: ``np.unique(values)``, faster.

    numpy 2.4's ``np.unique`` hashes integer arrays, which on millions of values is about ten
    times slower than a (radix) sort and a comparison of neighbours.
    """
    ordered = np.sort(values, kind="stable")
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
