""" "Mijn gemeente": the local picture of one municipality or region over a whole stored run.

The service :func:`local_picture` asks ``allowed()`` (``local.picture`` on the run, which only
the run's own organisation passes) and reads SQL aggregates from
:mod:`signaal.store.local_picture`; everything else here is pure:

- per ISO week: ads and personas in the area, and the share of each with an indicator;
- which indicators the area's ads carry;
- arrivals this week: personas that moved into the area (or first appeared) in the run's last
  week and were not advertised there before;
- a comparison with the municipalities of most similar population (a region: with the other
  regions of its kind), by ads per 10,000 inhabitants;
- a value per municipality for the map.

:func:`view` and :func:`export` are the page's reads (``/mijn-gemeente`` and its CSV tables):
the same picture, audited as ``local_picture.viewed`` and ``local_picture.exported`` (the area,
the table, its row count and SHA-256; never persons).

Aggregates only: no id, no text, no contact point. A count of 1 to 4 personas is withheld
("fewer than 5", :data:`SMALL_COUNT`), and so is a share computed from one: it could point to a
person. Ads are counted exactly.

The population is :mod:`signaal.geo`'s (the sum of a municipality's GeoNames places of 1,000+
inhabitants, see docs/geography.md): a relative weight that undercounts rural municipalities,
so "per 10,000 inhabitants" compares like with like but is not a CBS statistic.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from signaal import audit, geo
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.errors import PermissionDenied
from signaal.geo.areas import Area, areas, outlines
from signaal.store import local_picture as store
from signaal.store.local_picture import Tally
from signaal.store.models import AnalysisRun, utcnow

SMALL_COUNT = 5
SIMILAR = 8  # municipalities of similar size shown next to the selected one
PER = 10_000
MAP_CLASSES = 5

Measure = Literal["ads_per_10k", "ads", "indicator_share"]
MEASURES: tuple[Measure, ...] = ("ads_per_10k", "ads", "indicator_share")


def withheld(n: int) -> int | None:
    """``n``, or None when it is a small count of people (1 to 4) that is not shown."""
    return None if 0 < n < SMALL_COUNT else n


def share(part: int, whole: int, *, people: bool) -> float | None:
    """part / whole, or None when there is no whole or (for people) it is a small count."""
    if whole == 0 or (people and (whole < SMALL_COUNT or 0 < part < SMALL_COUNT)):
        return None
    return part / whole


@dataclass(frozen=True)
class WeekRow:
    week: int
    label: str  # ISO week: 2026-W48
    start: datetime
    ads: int
    personas: int | None  # None: withheld
    ads_indicator_share: float | None
    personas_indicator_share: float | None


@dataclass(frozen=True)
class ComparisonRow:
    name: str
    selected: bool
    population: int | None
    ads: int
    ads_per_10k: float | None
    indicator_share: float | None  # of ads


@dataclass(frozen=True)
class MapValue:
    name: str
    code: str
    path: str
    value: float | None
    band: int | None  # 0 (none) .. MAP_CLASSES; None: no figure
    selected: bool


@dataclass(frozen=True)
class LocalPicture:
    area: Area
    run: AnalysisRun
    weeks: list[WeekRow]
    total: Tally
    personas: int | None
    personas_with_indicators: int | None
    indicators: list[tuple[str, int]]  # (code, ads), most first
    this_week: WeekRow | None
    arrivals: int | None
    comparison: list[ComparisonRow]
    measure: Measure
    map: list[MapValue]
    bands: list[tuple[float, float]]  # lower and upper bound of classes 1..MAP_CLASSES


def iso_label(start: datetime) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def week_rows(weekly: Sequence[store.WeekTally], *, last_week: int | None) -> list[WeekRow]:
    """One row per ISO week from the first week with ads to ``last_week`` (the run's newest),
    weeks without ads in the area included as zeros."""
    if not weekly and last_week is None:
        return []
    by_week = {w.week: w.tally for w in weekly}
    first = min(by_week) if by_week else last_week
    last = max([*by_week, *([last_week] if last_week is not None else [])])
    assert first is not None
    rows = []
    for week in range(first, last + 1):
        tally = by_week.get(week, Tally(0, 0, 0, 0))
        start = store.week_start(week)
        rows.append(
            WeekRow(
                week=week,
                label=iso_label(start),
                start=start,
                ads=tally.ads,
                personas=withheld(tally.personas),
                ads_indicator_share=share(tally.ads_with_indicators, tally.ads, people=False),
                personas_indicator_share=share(
                    tally.personas_with_indicators, tally.personas, people=True
                ),
            )
        )
    return rows


def population_of(names: Iterable[str], table: Mapping[str, int]) -> int | None:
    known = [table[name] for name in names if name in table]
    return sum(known) if known else None


def _row(name: str, selected: bool, population: int | None, tally: Tally) -> ComparisonRow:
    return ComparisonRow(
        name=name,
        selected=selected,
        population=population,
        ads=tally.ads,
        ads_per_10k=PER * tally.ads / population if population else None,
        indicator_share=share(tally.ads_with_indicators, tally.ads, people=False),
    )


def _summed(tallies: Iterable[Tally]) -> Tally:
    """Ads add up over municipalities; personas do not (one persona, several places)."""
    ads = with_indicators = 0
    for tally in tallies:
        ads += tally.ads
        with_indicators += tally.ads_with_indicators
    return Tally(ads, 0, with_indicators, 0)


def comparison(
    area: Area,
    per_municipality: Mapping[str, Tally],
    populations: Mapping[str, int],
    *,
    similar: int = SIMILAR,
) -> list[ComparisonRow]:
    """The selected area first, then the municipalities closest to it in population (on a log
    scale: 20,000 is as close to 40,000 as 200,000 to 400,000), or for a region every region of
    its kind; largest ads per 10,000 first after the selected one."""
    empty = Tally(0, 0, 0, 0)
    if area.kind == "municipality":
        own = populations.get(area.name)
        selected = _row(area.name, True, own, per_municipality.get(area.name, empty))
        if own is None:
            return [selected]
        others = sorted(
            (name for name in populations if name != area.name and populations[name] > 0),
            key=lambda name: (abs(math.log(populations[name] / own)), name),
        )[:similar]
        rows = [_row(n, False, populations[n], per_municipality.get(n, empty)) for n in others]
    else:
        selected = None
        rows = []
        for region in areas(area.kind):
            tally = _summed(per_municipality.get(n, empty) for n in region.municipalities)
            row = _row(
                region.name,
                region.name == area.name,
                population_of(region.municipalities, populations),
                tally,
            )
            if row.selected:
                selected = row
            else:
                rows.append(row)
        if selected is None:  # an area not among the regions of its kind (a custom set)
            tally = _summed(per_municipality.get(n, empty) for n in area.municipalities)
            selected = _row(area.name, True, population_of(area.municipalities, populations), tally)
    rows.sort(key=lambda r: (-(r.ads_per_10k or 0), r.name))
    assert selected is not None
    return [selected, *rows]


def measure_value(measure: Measure, tally: Tally, population: int | None) -> float | None:
    if measure == "ads":
        return float(tally.ads)
    if measure == "indicator_share":
        return share(tally.ads_with_indicators, tally.ads, people=False)
    return PER * tally.ads / population if population else None


def bands_of(values: Iterable[float], classes: int = MAP_CLASSES) -> list[tuple[float, float]]:
    """Quantile classes of the values above zero (zero has its own colour)."""
    ordered = sorted(v for v in values if v > 0)
    if not ordered:
        return []
    bounds = [ordered[min(len(ordered) - 1, (len(ordered) * i) // classes)] for i in range(classes)]
    bounds.append(ordered[-1])
    unique: list[tuple[float, float]] = []
    for low, high in itertools.pairwise(bounds):
        if not unique or high > unique[-1][1]:
            unique.append((unique[-1][1] if unique else low, high))
    return unique


def band_of(value: float | None, bands: Sequence[tuple[float, float]]) -> int | None:
    if value is None:
        return None
    if value <= 0 or not bands:
        return 0
    for index, (_, high) in enumerate(bands, start=1):
        if value <= high:
            return index
    return len(bands)


def map_values(
    area: Area,
    per_municipality: Mapping[str, Tally],
    populations: Mapping[str, int],
    measure: Measure,
) -> tuple[list[MapValue], list[tuple[float, float]]]:
    """A value per municipality outline (None: no figure, e.g. population unknown)."""
    empty = Tally(0, 0, 0, 0)
    selected = set(area.municipalities)
    values = {
        o.name: measure_value(measure, per_municipality.get(o.name, empty), populations.get(o.name))
        for o in outlines()
    }
    bands = bands_of(v for v in values.values() if v is not None)
    return [
        MapValue(
            o.name,
            o.code,
            o.path,
            values[o.name],
            band_of(values[o.name], bands),
            o.name in selected,
        )
        for o in outlines()
    ], bands


def populations() -> dict[str, int]:
    return {m.name: m.population for m in geo.municipalities()}


def reference_moment(newest: datetime | None, now: datetime) -> datetime:
    """ "This week" is the week of ``now``, or of the run's newest ad when that is older (a run
    of an older corpus shows its own last week)."""
    if newest is None:
        return now
    aware = newest if newest.tzinfo else newest.replace(tzinfo=now.tzinfo)
    return min(now, aware)


def local_picture(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    area: Area,
    *,
    measure: Measure = "ads_per_10k",
    now: datetime | None = None,
) -> LocalPicture:
    """The local picture of ``area`` in ``run``; PermissionDenied unless ``actor`` may see the
    local picture of this run (its own organisation's)."""
    resource = Resource("analysis_run", str(run.id), organisation_id=run.organisation_id)
    if not allowed(actor, Action.VIEW_LOCAL_PICTURE, resource):
        raise PermissionDenied("local.picture not allowed on this run")
    now = now or utcnow()
    members = area.municipalities
    newest = store.newest_ad(db, run.id)
    reference = reference_moment(newest, now)
    last_week = store.week_of(reference) if newest is not None else None
    weeks = week_rows(store.weekly(db, run.id, members), last_week=last_week)
    total = store.area_tally(db, run.id, members)
    per_municipality = store.per_municipality(db, run.id)
    table = populations()
    this_week = weeks[-1] if weeks else None
    arrivals = None
    if last_week is not None:
        since = store.week_start(last_week)
        arrivals = withheld(
            store.arrivals(db, run.id, members, since=since, until=since + timedelta(weeks=1))
        )
    indicators = sorted(
        store.indicator_counts(db, run.id, members).items(), key=lambda item: (-item[1], item[0])
    )
    shown_map, bands = map_values(area, per_municipality, table, measure)
    return LocalPicture(
        area=area,
        run=run,
        weeks=weeks,
        total=total,
        personas=withheld(total.personas),
        personas_with_indicators=withheld(total.personas_with_indicators)
        if withheld(total.personas) is not None
        else None,
        indicators=indicators,
        this_week=this_week,
        arrivals=arrivals,
        comparison=comparison(area, per_municipality, table),
        measure=measure,
        map=shown_map,
        bands=bands,
    )


# --- CSV ---------------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell as text; a text that a spreadsheet would run as a formula (= + - @, or a tab or
    carriage return before one) gets a leading apostrophe. Numbers are written as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 (quotes where needed, CRLF), every cell through :func:`csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


Table = Literal["weken", "indicatoren", "vergelijking", "kaart"]
TABLES: tuple[Table, ...] = ("weken", "indicatoren", "vergelijking", "kaart")


def table_rows(picture: LocalPicture, table: Table) -> tuple[list[str], list[list[object]]]:
    """The header and rows of one of the page's tables, as the CSV download gives them
    (withheld small counts as "<5")."""

    def count(n: int | None) -> object:
        return f"<{SMALL_COUNT}" if n is None else n

    if table == "weken":
        return (
            [
                "week",
                "week_start",
                "ads",
                "personas",
                "ads_indicator_share",
                "personas_indicator_share",
            ],
            [
                [
                    w.label,
                    w.start.date().isoformat(),
                    w.ads,
                    count(w.personas),
                    w.ads_indicator_share,
                    w.personas_indicator_share,
                ]
                for w in picture.weeks
            ],
        )
    if table == "indicatoren":
        return ["indicator", "ads"], [[code, n] for code, n in picture.indicators]
    if table == "vergelijking":
        return (
            ["area", "selected", "population", "ads", "ads_per_10000", "ads_indicator_share"],
            [
                [r.name, r.selected, r.population, r.ads, r.ads_per_10k, r.indicator_share]
                for r in picture.comparison
            ],
        )
    return (
        ["code", "municipality", picture.measure, "selected"],
        [[m.code, m.name, m.value, m.selected] for m in picture.map],
    )


# --- the page's reads, audited -----------------------------------------------------------------


def recent_weeks(picture: LocalPicture, weeks: int | None) -> LocalPicture:
    """The picture with only its last ``weeks`` week rows (None: all). The totals, the
    comparison and the map stay those of the whole run."""
    if weeks is None or weeks >= len(picture.weeks):
        return picture
    return dataclasses.replace(picture, weeks=picture.weeks[-weeks:] if weeks > 0 else [])


def view(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    area: Area,
    *,
    ip: str | None,
    measure: Measure = "ads_per_10k",
    weeks: int | None = None,
    now: datetime | None = None,
) -> LocalPicture:
    """:func:`local_picture` for the page, audited as ``local_picture.viewed`` (like an
    overview of a run: the area, never persons)."""
    picture = local_picture(db, actor, run, area, measure=measure, now=now)
    audit.record(
        db,
        audit.LocalPictureViewed(run_id=run.id, area_kind=area.kind, area=area.name),
        actor=actor,
        ip=ip,
    )
    return recent_weeks(picture, weeks)


def export(
    db: Session,
    actor: Actor,
    run: AnalysisRun,
    area: Area,
    table: Table,
    *,
    ip: str | None,
    measure: Measure = "ads_per_10k",
    weeks: int | None = None,
    now: datetime | None = None,
) -> str:
    """One table as formula-safe CSV text, audited as ``local_picture.exported`` with its row
    count and SHA-256."""
    picture = recent_weeks(local_picture(db, actor, run, area, measure=measure, now=now), weeks)
    header, rows = table_rows(picture, table)
    text = csv_text(header, rows)
    audit.record(
        db,
        audit.LocalPictureExported(
            run_id=run.id,
            area_kind=area.kind,
            area=area.name,
            table=table,
            n_rows=len(rows),
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        ),
        actor=actor,
        ip=ip,
    )
    return text
