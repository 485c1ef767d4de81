"""Areas for the local picture: a municipality, or a region of one of four kinds (province,
police unit, safety region, GGD region), and the municipality outlines that ship with Signaal.

``outlines.json`` is derived by ``scripts/derive_outlines.py`` from CBS/PDOK's generalised
boundaries of 2025 (CC BY 4.0, attribution CBS/PDOK; see docs/geography.md): one SVG path per
municipality and the regions it lies in. A municipality that :mod:`signaal.geo` knows carries
its name there; the others carry CBS's name (ads never name them: they are unknown places).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, get_args

from signaal import geo

AreaKind = Literal["municipality", "province", "police_unit", "safety_region", "ggd_region"]
AREA_KINDS: tuple[AreaKind, ...] = get_args(AreaKind)
REGION_KINDS: tuple[AreaKind, ...] = AREA_KINDS[1:]

# Words people put before a region's name ("Veiligheidsregio Haaglanden", "politie Limburg").
_KIND_WORDS: dict[str, AreaKind] = {
    "gemeente": "municipality",
    "provincie": "province",
    "politie": "police_unit",
    "eenheid": "police_unit",
    "politieeenheid": "police_unit",
    "veiligheidsregio": "safety_region",
    "vr": "safety_region",
}


@dataclass(frozen=True, slots=True)
class Outline:
    code: str  # CBS: GM0518
    name: str
    path: str  # SVG path in the box of :func:`view_box`
    province: str
    police_unit: str
    safety_region: str
    ggd_region: str

    def region(self, kind: AreaKind) -> str:
        return self.name if kind == "municipality" else str(getattr(self, kind))


@dataclass(frozen=True, slots=True)
class Area:
    kind: AreaKind
    name: str
    municipalities: tuple[str, ...]  # sorted


@cache
def _document() -> dict[str, object]:
    text = resources.files("signaal.geo").joinpath("outlines.json").read_text("utf-8")
    document: dict[str, object] = json.loads(text)
    return document


@cache
def outlines() -> tuple[Outline, ...]:
    """Every municipality of 2025 with its outline and regions, sorted by name."""
    rows = _document()["municipalities"]
    return tuple(Outline(**row) for row in rows)  # type: ignore[attr-defined]


_RING = re.compile(r"M([^Z]+)Z")


Point = tuple[float, float]


def _ring_points(ring: str) -> list[Point]:
    return [(float(x), float(y)) for x, y in (pair.split() for pair in ring.split("L"))]


def _ring_centre(ring: str) -> tuple[float, float, float]:
    """Area and centroid (shoelace formula) of one ring "x yLx y…" of an outline path."""
    points = _ring_points(ring)
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if area == 0:
        xs, ys = zip(*points, strict=True)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return abs(area) / 2, cx / (3 * area), cy / (3 * area)


@cache
def centroids() -> dict[str, tuple[float, float]]:
    """Municipality name -> the centroid of its largest ring, in the box of :func:`view_box`
    (where a map draws a dot or a line for it, on the same projection as the outlines)."""
    centres: dict[str, tuple[float, float]] = {}
    for outline in outlines():
        rings = [_ring_centre(ring) for ring in _RING.findall(outline.path)]
        if rings:
            _, x, y = max(rings)
            centres[outline.name] = (x, y)
    return centres


def _clip(
    points: list[Point], inside: Callable[[Point], bool], cut: Callable[[Point, Point], Point]
) -> list[Point]:
    """One step of Sutherland-Hodgman: the ring clipped at one edge of a rectangle."""
    out: list[Point] = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(cut(previous, current))
            out.append(current)
        elif inside(previous):
            out.append(cut(previous, current))
    return out


def _at_x(x: float) -> Callable[[Point, Point], Point]:
    return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))


def _at_y(y: float) -> Callable[[Point, Point], Point]:
    return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)


@cache
def clipped_paths(left: float, top: float, right: float, bottom: float) -> tuple[str, ...]:
    """The outlines cut to a rectangle of the map (for a map of part of the country: nothing
    drawn outside it), as SVG paths; municipalities outside it are left out."""
    paths = []
    for outline in outlines():
        rings = []
        for ring in _RING.findall(outline.path):
            points = _ring_points(ring)
            for inside, cut in (
                (lambda p: p[0] >= left, _at_x(left)),
                (lambda p: p[0] <= right, _at_x(right)),
                (lambda p: p[1] >= top, _at_y(top)),
                (lambda p: p[1] <= bottom, _at_y(bottom)),
            ):
                points = _clip(points, inside, cut) if points else points
            if len(points) >= 3:
                rings.append("M" + "L".join(f"{x:.0f} {y:.0f}" for x, y in points) + "Z")
        if rings:
            paths.append("".join(rings))
    return tuple(paths)


def view_box() -> str:
    return str(_document()["view_box"])


def source() -> str:
    return f"{_document()['source']}; {_document()['licence']}"


@cache
def areas(kind: AreaKind) -> tuple[Area, ...]:
    """The areas of one kind, sorted by name."""
    members: dict[str, list[str]] = {}
    for outline in outlines():
        members.setdefault(outline.region(kind), []).append(outline.name)
    return tuple(Area(kind, name, tuple(sorted(names))) for name, names in sorted(members.items()))


@cache
def _by_folded(kind: AreaKind) -> dict[str, Area]:
    table = {geo.fold_place_name(a.name): a for a in areas(kind)}
    if kind == "ggd_region":  # "GGD Haaglanden" also as "Haaglanden"
        for area in areas(kind):
            short = area.name.removeprefix("GGD ").removeprefix("Regio ")
            table.setdefault(geo.fold_place_name(short), area)
    return table


def area(kind: AreaKind, name: str) -> Area | None:
    """The area of ``kind`` with this name as written (folded), or None."""
    return _by_folded(kind).get(geo.fold_place_name(name))


def municipality_area(name: str) -> Area:
    return Area("municipality", name, (name,))


def resolve_area(text: str, kind: AreaKind | None = None) -> Area | None:
    """The area a name as typed means. With ``kind`` only that kind; without, a leading kind
    word ("veiligheidsregio Haaglanden") decides, else a municipality or place ("Den Haag", a
    village: its municipality) comes first, then a province, police unit, safety region and GGD
    region of that name."""
    words = text.split()
    if kind is None and len(words) > 1 and geo.fold_place_name(words[0]) in _KIND_WORDS:
        kind = _KIND_WORDS[geo.fold_place_name(words[0])]
        text = " ".join(words[1:])
    if kind is None or kind == "municipality":
        place = geo.resolve_place(text)
        if place is not None:
            return municipality_area(place.name)
        outline = area("municipality", text)  # a municipality signaal.geo does not list
        if outline is not None or kind == "municipality":
            return outline
    for candidate in (kind,) if kind else REGION_KINDS:
        found = area(candidate, text)
        if found is not None:
            return found
    return None


@cache
def _all_names() -> dict[str, str]:
    """Folded name -> the name to suggest: municipalities, places and every region."""
    names: dict[str, str] = {}
    for kind in AREA_KINDS:
        for a in areas(kind):
            names.setdefault(geo.fold_place_name(a.name), a.name)
    for place in geo.places():
        names.setdefault(geo.fold_place_name(place.name), place.name)
    return names


def close_matches(text: str, limit: int = 5) -> list[str]:
    """Names close to ``text`` (a typo, a part of a name), best first."""
    folded = geo.fold_place_name(text)
    if not folded:
        return []
    names = _all_names()
    found = difflib.get_close_matches(folded, names, n=limit, cutoff=0.7)
    starts = [key for key in sorted(names) if key.startswith(folded) and key not in found]
    return [names[key] for key in [*found, *starts][:limit]]
