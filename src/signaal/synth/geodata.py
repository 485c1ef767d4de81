"""The municipalities and places the generator draws from, prepared once per process.

The data itself is ``signaal.geo`` (current Dutch municipalities with province, coordinates and
population, and the towns and villages in them); this module only builds the weighted tables the
generator needs: population weights, per-province lists for regional moves, and the ways a city
can be written in an ad (village names, spelling variants, other case) -- each variant is kept only
if ``signaal.geo.resolve_place`` maps it back to its municipality, so the analysis can recover the
municipality of every ad.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache

from signaal import geo

# Common ways of writing a municipality's name that are not its official spelling.
_ALIASES: dict[str, tuple[str, ...]] = {
    "'s-Gravenhage": ("Den Haag", "The Hague"),
    "'s-Hertogenbosch": ("Den Bosch",),
    "Súdwest-Fryslân": ("Sudwest-Fryslan",),
}


@dataclass(frozen=True, slots=True)
class GeoTables:
    names: tuple[str, ...]
    provinces: tuple[str, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]
    cum_weights: tuple[float, ...]
    province_members: dict[str, tuple[int, ...]]
    province_cum: dict[str, tuple[float, ...]]
    variants: tuple[tuple[str, ...], ...]  # per municipality: other ways to write it
    villages: tuple[tuple[str, ...], ...]  # per municipality: places in it (not the main one)


@cache
def tables() -> GeoTables:
    munis = geo.municipalities()
    if not munis:
        raise RuntimeError("signaal.geo has no municipalities")
    names = tuple(m.name for m in munis)
    index = {n: i for i, n in enumerate(names)}
    # Weight by population to the power 0.9, which damps the largest cities a little
    # (assumption: ads concentrate in cities but every region has some).
    weights = [max(m.population, 1) ** 0.9 for m in munis]
    cum = tuple(itertools.accumulate(weights))
    members: dict[str, list[int]] = {}
    for i, m in enumerate(munis):
        members.setdefault(m.province, []).append(i)
    province_cum = {
        p: tuple(itertools.accumulate(weights[i] for i in idx)) for p, idx in members.items()
    }
    villages: list[list[str]] = [[] for _ in munis]
    for place in geo.places():
        found = index.get(place.municipality)
        if found is None or place.name == place.municipality or place.population < 2000:
            continue
        resolved = geo.resolve_place(place.name)
        if resolved is not None and resolved.name == place.municipality:
            villages[found].append(place.name)
    variants: list[tuple[str, ...]] = []
    for m in munis:
        candidates = [*_ALIASES.get(m.name, ()), m.name.upper(), m.name.lower()]
        ok = []
        for c in candidates:
            r = geo.resolve_place(c)
            if r is not None and r.name == m.name and c != m.name:
                ok.append(c)
        variants.append(tuple(ok))
    return GeoTables(
        names=names,
        provinces=tuple(m.province for m in munis),
        lat=tuple(m.lat for m in munis),
        lon=tuple(m.lon for m in munis),
        cum_weights=cum,
        province_members={p: tuple(v) for p, v in members.items()},
        province_cum=province_cum,
        variants=tuple(variants),
        villages=tuple(tuple(sorted(v)[:20]) for v in villages),
    )


def distance_km(t: GeoTables, a: int, b: int) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (t.lat[a], t.lon[a], t.lat[b], t.lon[b]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(h))
