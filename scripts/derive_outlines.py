"""Derive the municipality outlines that ship with Signaal from CBS's generalised boundaries.

Source: the TopoJSON files of ``shared/data/geo/`` (CBS/PDOK "gegeneraliseerde" boundaries of
2025, CC BY 4.0, attribution "CBS/PDOK"; as copied from github.com/cartomap/nl, see the README
there): ``gemeente_2025`` (342 municipalities) and the regions ``provincie_2025``,
``regionale_eenheid_2025`` (police units), ``veiligheidsregio_2025`` (safety regions) and
``ggdregio_2025`` (GGD regions).

What the script does:

1. decodes the municipalities' arcs (quantized, delta-encoded) and simplifies each arc with
   Douglas-Peucker (``TOLERANCE`` quantized units, about 100 m); simplifying shared arcs, not
   rings, keeps neighbouring municipalities' borders identical;
2. projects longitude and latitude to a plane (longitude scaled by cos 52.2°, so the country is
   not stretched) and writes each municipality as one SVG path with whole-number coordinates in
   a ``VIEW_WIDTH``-wide box;
3. finds for each municipality the province, police unit, safety region and GGD region it lies
   in: the region whose polygon holds a point inside the municipality (on the unsimplified
   outline), so the membership comes from the same CBS data, not from a hand-made list;
4. names each municipality as :mod:`signaal.geo` does where the folded names agree.

Run: ``.venv/bin/python scripts/derive_outlines.py [GEO_DIR]`` (writes
``src/signaal/geo/outlines.json``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from signaal import geo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "signaal" / "geo" / "outlines.json"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "geo"
MUNICIPALITIES = "gemeente_2025"
REGIONS = {
    "province": "provincie_2025",
    "police_unit": "regionale_eenheid_2025",
    "safety_region": "veiligheidsregio_2025",
    "ggd_region": "ggdregio_2025",
}
TOLERANCE = 1.5  # quantized units (0.001 degree of longitude is about 70 m)
VIEW_WIDTH = 1000
LAT0 = math.radians(52.2)
SUFFIX = re.compile(r"\s*\([A-Z.]+\)$")

Point = tuple[float, float]
Ring = list[Point]


def decode_arcs(topology: dict[str, object]) -> list[list[Point]]:
    """The arcs in quantized units (delta decoding only)."""
    arcs: list[list[Point]] = []
    for arc in topology["arcs"]:  # type: ignore[attr-defined]
        x = y = 0.0
        points: list[Point] = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x, y))
        arcs.append(points)
    return arcs


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative; the ends are always kept."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if length == 0:
                distance = math.hypot(px - ax, py - ay)
            else:
                distance = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance and index > 0:
            keep[index] = True
            stack.extend(((first, index), (index, last)))
    return [p for p, kept in zip(points, keep, strict=True) if kept]


def ring_of(indexes: list[int], arcs: list[list[Point]]) -> Ring:
    ring: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(arc if not ring else arc[1:])
    return ring


def polygons_of(geometry: dict[str, object], arcs: list[list[Point]]) -> list[list[Ring]]:
    raw = geometry["arcs"]
    polygons = [raw] if geometry["type"] == "Polygon" else raw
    return [[ring_of(r, arcs) for r in polygon] for polygon in polygons]  # type: ignore[union-attr]


def ring_area(ring: Ring) -> float:
    return abs(
        sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
        / 2
    )


def inside(point: Point, polygon: list[Ring]) -> bool:
    """Even-odd rule over all rings (holes included)."""
    x, y = point
    crossings = 0
    for ring in polygon:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
    return crossings % 2 == 1


def interior_point(polygons: list[list[Ring]]) -> Point:
    """A point inside the largest polygon: the middle of the widest inside stretch of the
    horizontal line through its vertices' mean latitude."""
    polygon = max(polygons, key=lambda p: ring_area(p[0]))
    outer = polygon[0]
    y = sum(p[1] for p in outer) / len(outer) + 0.5  # off the vertices' own heights
    xs = sorted(
        x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        for ring in polygon
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
        if (y0 > y) != (y1 > y)
    )
    pairs = list(zip(xs[::2], xs[1::2], strict=True))
    start, end = max(pairs, key=lambda pair: pair[1] - pair[0])
    return ((start + end) / 2, y)


def load(directory: Path, name: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    topology = json.loads((directory / f"{name}.topojson").read_text(encoding="utf-8"))
    return topology, topology["objects"][name]["geometries"]


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    topology, geometries = load(source, MUNICIPALITIES)
    scale_x, scale_y = topology["transform"]["scale"]  # type: ignore[index]
    shift_x, shift_y = topology["transform"]["translate"]  # type: ignore[index]
    arcs = decode_arcs(topology)

    regions: dict[str, list[tuple[str, str, list[list[Ring]]]]] = {}
    for kind, name in REGIONS.items():
        region_topology, region_geometries = load(source, name)
        if region_topology["transform"] != topology["transform"]:
            print(f"{name}: another quantization than {MUNICIPALITIES}", file=sys.stderr)
            return 1
        region_arcs = decode_arcs(region_topology)
        regions[kind] = [
            (g["properties"]["statcode"], g["properties"]["statnaam"], polygons_of(g, region_arcs))  # type: ignore[index]
            for g in region_geometries
        ]

    # The plane: x = longitude * cos(lat0), y = -latitude, both in degrees, then scaled.
    def plane(p: Point) -> Point:
        lon, lat = p[0] * scale_x + shift_x, p[1] * scale_y + shift_y
        return lon * math.cos(LAT0), -lat

    flat = [plane(p) for arc in arcs for p in arc]
    min_x, max_x = min(p[0] for p in flat), max(p[0] for p in flat)
    min_y, max_y = min(p[1] for p in flat), max(p[1] for p in flat)
    factor = VIEW_WIDTH / (max_x - min_x)
    view_height = math.ceil((max_y - min_y) * factor)

    def screen(p: Point) -> tuple[int, int]:
        x, y = plane(p)
        return round((x - min_x) * factor), round((y - min_y) * factor)

    simplified = [simplify(arc, TOLERANCE) for arc in arcs]
    known = {geo.fold_place_name(m.name): m.name for m in geo.municipalities()}
    out: list[dict[str, str]] = []
    unmatched: list[str] = []
    for g in geometries:
        props = g["properties"]  # type: ignore[index]
        polygons = polygons_of(g, arcs)
        point = interior_point(polygons)
        record = {"code": props["statcode"], "name": props["statnaam"]}
        # "Hengelo (O.)" is "Hengelo" in signaal.geo, "Bergen (NH.)" is "Bergen (NH.)".
        signaal_name = known.get(geo.fold_place_name(props["statnaam"])) or known.get(
            geo.fold_place_name(SUFFIX.sub("", props["statnaam"]))
        )
        if signaal_name is None:
            unmatched.append(props["statnaam"])
        else:
            record["name"] = signaal_name
        for kind, candidates in regions.items():
            holders = [(c, n) for c, n, polys in candidates if any(inside(point, p) for p in polys)]
            if len(holders) != 1:
                print(f"{props['statnaam']}: {kind} {holders}", file=sys.stderr)
                return 1
            record[kind] = holders[0][1]
        path: list[str] = []
        for polygon in polygons_of(g, simplified):
            for ring in polygon:
                points: list[tuple[int, int]] = []
                for p in ring:
                    s = screen(p)
                    if not points or points[-1] != s:
                        points.append(s)
                if len(points) >= 4:
                    path.append("M" + "L".join(f"{x} {y}" for x, y in points[:-1]) + "Z")
        record["path"] = "".join(path)
        out.append(record)
    out.sort(key=lambda r: r["name"])
    document = {
        "source": (
            "CBS/PDOK, gegeneraliseerde gebiedsindelingen 2025 (gemeente, provincie, politie "
            "regionale eenheid, veiligheidsregio, GGD-regio), via github.com/cartomap/nl"
        ),
        "licence": "CC BY 4.0, attribution CBS/PDOK",
        "derived_by": "scripts/derive_outlines.py (Douglas-Peucker per arc, ~100 m; projected)",
        "view_box": f"0 0 {VIEW_WIDTH} {view_height}",
        "municipalities": out,
    }
    OUT.write_text(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(out)} municipalities)")
    if unmatched:
        print(f"named as CBS does (not in signaal.geo): {', '.join(sorted(unmatched))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
