"""Movement for the network and persona pages: where each persona of a network was advertised
per week (moving together shows as the same municipality in the same week), the flows between
municipalities drawn as lines between their centroids on the outline map of
:mod:`signaal.geo.areas` (the map of "Mijn gemeente", same outlines, same box), and one
persona's route (:func:`persona_route`): its places in time order, drawn by the same
:func:`flow_map` as the network's flows.

Pure functions over what the store returns (:class:`~signaal.store.analysis.AdResult`,
:class:`~signaal.store.analysis.Flow`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from signaal.geo import areas
from signaal.store.analysis import AdResult, Flow

MAX_WEEKS = 12
MAX_MAP_FLOWS = 40
#: The map shows the part of the country around the flows, at least this wide and high (in the
#: outlines' units: the country is 1000 wide), so that moves between neighbours stay visible.
MIN_VIEW = 300.0
VIEW_PADDING = 60.0


@dataclass(frozen=True, slots=True)
class WeekCell:
    municipality: str | None  # where most of the persona's ads of the week were; None: no ad
    n_other: int = 0  # other municipalities that week
    together: bool = False  # another persona of the network was advertised there that week


@dataclass(frozen=True, slots=True)
class WeekRow:
    persona_id: str
    cells: tuple[WeekCell, ...]


@dataclass(frozen=True, slots=True)
class CoMovement:
    weeks: tuple[date, ...]  # the Monday of each week shown, oldest first
    rows: tuple[WeekRow, ...]
    n_weeks: int  # weeks from the first ad to the last (more than shown when capped)

    @property
    def capped(self) -> bool:
        return len(self.weeks) < self.n_weeks


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_places(
    persona_ids: Sequence[str], ads: Sequence[AdResult], *, max_weeks: int = MAX_WEEKS
) -> CoMovement:
    """Per persona (in the order given) and week, the municipality it was advertised in; the
    latest ``max_weeks`` weeks up to the last ad. Ads without a time or municipality are left
    out."""
    counts: dict[tuple[str, date], Counter[str]] = defaultdict(Counter)
    wanted = set(persona_ids)
    for ad in ads:
        if ad.posted_at is None or not ad.municipality or ad.persona_id not in wanted:
            continue
        counts[(ad.persona_id, _monday(ad.posted_at.date()))][ad.municipality] += 1
    if not counts:
        return CoMovement((), tuple(WeekRow(p, ()) for p in persona_ids), 0)
    mondays = [week for _, week in counts]
    first, last = min(mondays), max(mondays)
    n_weeks = (last - first).days // 7 + 1
    shown = min(n_weeks, max_weeks)
    weeks = tuple(last - timedelta(weeks=shown - 1 - i) for i in range(shown))
    main: dict[tuple[str, date], str] = {
        key: min(places.items(), key=lambda item: (-item[1], item[0]))[0]
        for key, places in counts.items()
    }
    personas_at: Counter[tuple[date, str]] = Counter(
        (week, place) for (_, week), places in counts.items() for place in places
    )
    rows = []
    for persona in persona_ids:
        cells = []
        for week in weeks:
            place = main.get((persona, week))
            if place is None:
                cells.append(WeekCell(None))
                continue
            cells.append(
                WeekCell(
                    place,
                    n_other=len(counts[(persona, week)]) - 1,
                    together=personas_at[(week, place)] > 1,
                )
            )
        rows.append(WeekRow(persona, tuple(cells)))
    return CoMovement(weeks, tuple(rows), n_weeks)


@dataclass(frozen=True, slots=True)
class FlowLine:
    flow: Flow
    x1: float
    y1: float
    x2: float
    y2: float
    weight: int  # 1-4: the line's thickness class, by the number of moves

    @property
    def path(self) -> str:
        """A slight curve to the right, so that moves back and forth show as two lines."""
        mx = (self.x1 + self.x2) / 2 + (self.y2 - self.y1) * 0.12
        my = (self.y1 + self.y2) / 2 - (self.x2 - self.x1) * 0.12
        return f"M {self.x1:.1f} {self.y1:.1f} Q {mx:.1f} {my:.1f} {self.x2:.1f} {self.y2:.1f}"


@dataclass(frozen=True, slots=True)
class FlowMap:
    view_box: str  # the part of the outline map around the lines
    outlines: tuple[str, ...]  # the municipality outlines cut to that part, as SVG paths
    lines: tuple[FlowLine, ...]
    places: tuple[tuple[str, float, float], ...]  # municipalities at either end of a line
    n_left_out: int  # flows not drawn (beyond the cap, or a municipality without an outline)
    label_size: float  # of the place names, in the units of ``view_box``

    @property
    def dot_size(self) -> float:
        return round(self.label_size / 3, 1)


def _around(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    """left, top, right, bottom of the part of the map around ``points`` (all of it without)."""
    _, _, full_width, full_height = (float(v) for v in areas.view_box().split())
    if not points:
        return 0.0, 0.0, full_width, full_height
    box = []
    for values, full in (
        ([x for x, _ in points], full_width),
        ([y for _, y in points], full_height),
    ):
        size = min(max(max(values) - min(values) + 2 * VIEW_PADDING, MIN_VIEW), full)
        start = min(max((min(values) + max(values) - size) / 2, 0.0), full - size)
        box.append((round(start), round(start + size)))
    (left, right), (top, bottom) = box
    return float(left), float(top), float(right), float(bottom)


def flow_map(
    flows: Sequence[Flow], *, max_lines: int = MAX_MAP_FLOWS, places: Sequence[str] = ()
) -> FlowMap:
    """Lines between the centroids of the municipalities of the ``flows`` (most moves first),
    at most ``max_lines``; ``places`` are marked too (a persona that never moved)."""
    centres = areas.centroids()
    drawable = [f for f in flows if f.from_municipality in centres and f.to_municipality in centres]
    drawn = drawable[:max_lines]
    most = max((f.n_moves for f in drawn), default=1)
    lines = []
    ends: dict[str, tuple[float, float]] = {}
    for flow in drawn:
        (x1, y1), (x2, y2) = centres[flow.from_municipality], centres[flow.to_municipality]
        ends[flow.from_municipality] = (x1, y1)
        ends[flow.to_municipality] = (x2, y2)
        weight = 1 + round(3 * (flow.n_moves - 1) / max(most - 1, 1))
        lines.append(FlowLine(flow, round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1), weight))
    for name in places:
        if name in centres:
            ends.setdefault(name, centres[name])
    left, top, right, bottom = _around(list(ends.values()))
    return FlowMap(
        view_box=f"{left:.0f} {top:.0f} {right - left:.0f} {bottom - top:.0f}",
        outlines=areas.clipped_paths(left, top, right, bottom),
        label_size=round(max(right - left, bottom - top) / 36, 1),
        lines=tuple(lines),
        places=tuple((name, round(x, 1), round(y, 1)) for name, (x, y) in sorted(ends.items())),
        n_left_out=len(flows) - len(drawn),
    )


@dataclass(frozen=True, slots=True)
class RoutePlace:
    municipality: str
    first_seen: datetime
    last_seen: datetime
    n_ads: int


@dataclass(frozen=True, slots=True)
class PersonaRoute:
    places: tuple[RoutePlace, ...]  # in order of first appearance
    moves: tuple[Flow, ...]  # between successive places, most moves first
    map: FlowMap


def persona_route(ads: Sequence[AdResult]) -> PersonaRoute:
    """The municipalities one persona was advertised in, in time order, and its moves from one
    to the next (a move back and forth counts each way). Ads without a time or municipality
    are left out."""
    placed = sorted(
        (ad.posted_at, ad.ad_id, ad.municipality)
        for ad in ads
        if ad.posted_at is not None and ad.municipality
    )
    seen: dict[str, RoutePlace] = {}
    pairs: Counter[tuple[str, str]] = Counter()
    previous: str | None = None
    for at, _, place in placed:
        known = seen.get(place)
        seen[place] = (
            RoutePlace(place, at, at, 1)
            if known is None
            else RoutePlace(place, known.first_seen, at, known.n_ads + 1)
        )
        if previous is not None and previous != place:
            pairs[(previous, place)] += 1
        previous = place
    moves = tuple(
        Flow(origin, target, n, 1)
        for (origin, target), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    )
    return PersonaRoute(tuple(seen.values()), moves, flow_map(moves, places=list(seen)))
