"""Dutch municipalities and places, and the mapping from a place as written to its municipality.

The tables ``municipalities.csv`` and ``places.csv`` are derived by ``scripts/derive_geo.py`` from
GeoNames data (CC BY 4.0) shipped offline in PyPI packages, with the municipal mergers up to
1 January 2024 applied; see docs/geography.md for how and what is left out.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

__all__ = [
    "Municipality",
    "Place",
    "fold_place_name",
    "municipalities",
    "municipality",
    "places",
    "resolve_place",
]


@dataclass(frozen=True, slots=True)
class Municipality:
    name: str
    province: str
    lat: float
    lon: float
    population: int  # sum of its listed places: a relative weight, not a statistic


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    municipality: str
    lat: float
    lon: float
    population: int
    alternates: tuple[str, ...] = ()


def _rows(filename: str) -> Iterator[dict[str, str]]:
    text = resources.files("signaal.geo").joinpath(filename).read_text("utf-8")
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    yield from csv.DictReader(lines)


@cache
def municipalities() -> tuple[Municipality, ...]:
    """The municipalities, sorted by name."""
    return tuple(
        sorted(
            (
                Municipality(
                    name=r["name"],
                    province=r["province"],
                    lat=float(r["lat"]),
                    lon=float(r["lon"]),
                    population=int(r["population"]),
                )
                for r in _rows("municipalities.csv")
            ),
            key=lambda m: m.name,
        )
    )


@cache
def _by_name() -> dict[str, Municipality]:
    return {m.name: m for m in municipalities()}


def municipality(name: str) -> Municipality:
    """The municipality with this canonical name; KeyError when there is none."""
    return _by_name()[name]


@cache
def places() -> tuple[Place, ...]:
    """Towns and villages (GeoNames places of 1,000+ inhabitants) with their municipality."""
    return tuple(
        Place(
            name=r["name"],
            municipality=r["municipality"],
            lat=float(r["lat"]),
            lon=float(r["lon"]),
            population=int(r["population"]),
            alternates=tuple(a for a in r["alternates"].split("|") if a),
        )
        for r in _rows("places.csv")
    )


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold_place_name(text: str) -> str:
    """Fold a place name for lookup: case, diacritics, punctuation and spacing do not matter."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _NON_ALNUM.sub("", plain)


# Common ways of writing a municipality that GeoNames does not list as a place name.
_EXTRA_NAMES: dict[str, str] = {
    "Den Haag": "'s-Gravenhage",
    "The Hague": "'s-Gravenhage",
    "Den Bosch": "'s-Hertogenbosch",
    "Bergen NH": "Bergen (NH.)",
    "Bergen Noord-Holland": "Bergen (NH.)",
    "Bergen L": "Bergen (L.)",
    "Bergen Limburg": "Bergen (L.)",
    "Sudwest Fryslan": "Súdwest-Fryslân",
}


@cache
def _lookup() -> dict[str, str]:
    """Folded name -> municipality name. Ambiguous alternate names are left out."""
    table: dict[str, str] = {}
    # Priority: municipality names, then place names (largest place wins a clash), then
    # alternate names that point to a single municipality.
    for m in municipalities():
        table.setdefault(fold_place_name(m.name), m.name)
    for written, name in _EXTRA_NAMES.items():
        table.setdefault(fold_place_name(written), name)
    for p in sorted(places(), key=lambda p: -p.population):
        table.setdefault(fold_place_name(p.name), p.municipality)
    alternates: dict[str, set[str]] = {}
    for p in places():
        for alt in p.alternates:
            alternates.setdefault(fold_place_name(alt), set()).add(p.municipality)
    for key, targets in alternates.items():
        if len(targets) == 1 and key and key not in table:
            table[key] = next(iter(targets))
    return table


_PREFIXES = ("gemeente", "regio", "omgeving", "nabij", "centrum", "near", "around")


@lru_cache(maxsize=65536)
def resolve_place(text: str | None) -> Municipality | None:
    """The municipality of a place as written in an ad ("DEN HAAG", "'s-Gravenhage", "Grou").

    Returns None when the text names no known Dutch place. Villages resolve to their municipality.
    """
    if not text:
        return None
    table = _lookup()
    key = fold_place_name(text)
    if key in table:
        return _by_name()[table[key]]
    # "Utrecht (centrum)", "regio Amsterdam", "Zwolle e.o.": try the leading words.
    words = [w for w in re.split(r"[\s,/()]+", text) if w]
    while words and fold_place_name(words[0]) in _PREFIXES:
        words = words[1:]
    for end in range(len(words), 0, -1):
        candidate = fold_place_name(" ".join(words[:end]))
        if candidate in table:
            return _by_name()[table[candidate]]
    return None
