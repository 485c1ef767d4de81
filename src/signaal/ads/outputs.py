"""The tables of an analysis, as rows and as CSV files (a stable contract for scripts and tools).

    ads.csv         ad_id, persona_id, network_id, risk_score, risk_level, indicators
    personas.csv    persona_id, network_id, n_ads, first_seen, last_seen, municipalities,
                    risk_score, reasons, reasons_json
    networks.csv    network_id, n_personas, n_ads, contact_points, municipalities, risk_score,
                    reasons, reasons_json
    movements.csv   persona_id, network_id, from_municipality, to_municipality, at
    links.csv       ad_id_a, ad_id_b, kind, evidence
    quarantine.jsonl  source, line, field, reason, raw (one JSON object per bad input record;
                    contact points in reason and raw masked)

Lists inside a cell (municipalities, contact points) are joined with ``;``; ``indicators`` is a
space-separated list of indicator ids; ``reasons`` is readable text ("C01 +3: phone shared by
4 personas (phone:3f9a…); A05 +2: …"); ``reasons_json`` holds the same reasons as data (a JSON
array, strongest first, see ``reasons_json``) for ``signaal.ads.explain``. Times are ISO 8601 in
UTC with a ``Z``. Contact points are keyed pseudonyms, never the number or address itself. Rows
are sorted (highest risk first, then by id), so the same input gives byte-identical files.

No cell starts a formula: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return (ids, titles and evidence come from the input) gets a ``'`` in front of it, as
OWASP advises against CSV injection, so a spreadsheet shows it as text and runs nothing. Every
file is written to a temporary file and renamed into place (``files.atomic_writer``), never
through a symbolic link.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, TextIO, cast, overload

import orjson

from signaal.ads.files import atomic_writer, write_atomic
from signaal.ads.masking import mask_raw_line
from signaal.ads.pipeline import AnalysisResult
from signaal.ads.types import (
    REASON_FACT_FIELDS,
    ContactKind,
    LinkKind,
    Quarantined,
    Reason,
    RiskResult,
    Score,
    hits_per_ad,
    reason_fact_values,
)
from signaal.engines.memory import paused_gc
from signaal.privacy.masking import masked_contact
from signaal.privacy.pseudonyms import pseudonym

ADS_COLUMNS = ("ad_id", "persona_id", "network_id", "risk_score", "risk_level", "indicators")
PERSONAS_COLUMNS = (
    "persona_id",
    "network_id",
    "n_ads",
    "first_seen",
    "last_seen",
    "municipalities",
    "risk_score",
    "reasons",
    "reasons_json",  # added last: the columns before it are a contract
)
NETWORKS_COLUMNS = (
    "network_id",
    "n_personas",
    "n_ads",
    "contact_points",
    "municipalities",
    "risk_score",
    "reasons",
    "reasons_json",  # added last: the columns before it are a contract
)
MOVEMENTS_COLUMNS = ("persona_id", "network_id", "from_municipality", "to_municipality", "at")
LINKS_COLUMNS = ("ad_id_a", "ad_id_b", "kind", "evidence")

Row = dict[str, str | int]

# The cells of a persona's and a network's row that are kept; the reasons are written from the
# row's score when it is read (``ReasonedRowTable``). ``risk_level`` is no CSV column.
_PERSONA_KEPT = (*PERSONAS_COLUMNS[:7], "risk_level")
_NETWORK_KEPT = (*NETWORKS_COLUMNS[:6], "risk_level")

_CHUNK = 10_000  # rows turned into CSV lines at a time


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def points_text(value: float) -> str:
    text = f"{value:+.2f}".rstrip("0").rstrip(".")
    return text if text not in ("+0", "-0") else "0"


def ordered_reasons(reasons: Iterable[Reason]) -> list[Reason]:
    """Strongest first, then by indicator id."""
    return sorted(reasons, key=lambda r: (-abs(r.points), r.indicator_id, r.text))


def reasons_text(reasons: Iterable[Reason]) -> str:
    """Readable reasons, strongest first: "C01 +3: phone shared by 4 personas; A05 +2: 24/7"."""
    return _reasons_text(ordered_reasons(reasons))


def _reasons_text(ordered: Iterable[Reason]) -> str:
    return "; ".join(f"{r.indicator_id} {points_text(r.points)}: {r.text}" for r in ordered)


def reason_record(reason: Reason, masked: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One reason as a JSON object: id, family, points and the facts that are set (figures as
    an object). ``masked`` gives the masked form of a contact pseudonym where the facts lack it.
    """
    record: dict[str, Any] = {
        "id": reason.indicator_id,
        "family": reason.family,
        "points": reason.points,
    }
    facts = reason.facts
    if facts is None:
        record["kind"] = "text"
        record["text"] = reason.text
        return record
    for name, value in zip(REASON_FACT_FIELDS, reason_fact_values(facts), strict=True):
        if value is None or value == ():
            continue
        record[name] = dict(value) if name == "figures" else value
    if facts.contact and not facts.masked and masked and facts.contact in masked:
        record["masked"] = masked[facts.contact]
    return record


def reasons_json(reasons: Iterable[Reason], masked: Mapping[str, str] | None = None) -> str:
    """The reasons as a JSON array, strongest first (the order of ``reasons``)."""
    return _reasons_json(ordered_reasons(reasons), masked)


def _reasons_json(ordered: Iterable[Reason], masked: Mapping[str, str] | None) -> str:
    return orjson.dumps([reason_record(r, masked) for r in ordered]).decode()


def _score(scores: dict[str, Score], key: str) -> Score:
    found = scores.get(key)
    return found if found is not None else Score(0, "log", ())


@dataclass(frozen=True, slots=True)
class Tables:
    ads: Sequence[Row]
    personas: Sequence[Row]
    networks: Sequence[Row]
    movements: Sequence[Row]
    links: Sequence[Row]


class RowTable(Sequence[Row]):
    """Rows held as tuples in column order; a row becomes a dict only when it is read.

    The ads and links tables have a row per ad and per link (millions): most runs only write
    them, and the CSV writer reads the tuples directly.
    """

    __slots__ = ("columns", "values")

    def __init__(self, columns: Sequence[str], values: list[tuple[str | int, ...]]) -> None:
        self.columns = tuple(columns)
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> RowTable: ...

    def __getitem__(self, index: int | slice) -> Row | RowTable:
        if isinstance(index, slice):
            return RowTable(self.columns, self.values[index])
        return dict(zip(self.columns, self.values[index], strict=True))

    def __iter__(self) -> Iterator[Row]:
        columns = self.columns
        for values in self.values:
            yield dict(zip(columns, values, strict=True))

    def __eq__(self, other: object) -> bool:
        if type(self) is RowTable and type(other) is RowTable:  # a subclass writes cells
            return self.columns == other.columns and self.values == other.values
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def column(self, name: str) -> list[str | int | None]:
        """The cells of one column, in row order, without making the rows (None for every row
        when the table has no such column)."""
        if name not in self.columns:
            return [None] * len(self)
        return list(map(itemgetter(self.columns.index(name)), self.values))


REASON_COLUMNS = ("reasons", "reasons_json")


class ReasonedRowTable(RowTable):
    """A :class:`RowTable` whose two last cells, ``reasons`` and ``reasons_json``, are written
    from the row's score each time the row is read, never kept.

    Those two cells are most of a persona's or network's row (about 1.5 kB of a persona's at
    100,000 ads); at a million ads, kept for every row, they held over a gigabyte until the
    files were written. A run reads every row once or twice (the CSV file, the store); the
    report reads only the rows it shows. A slice is a plain :class:`RowTable` of written rows
    (what the CSV writer takes, a chunk at a time).
    """

    __slots__ = ("masked", "scores")

    def __init__(
        self,
        columns: Sequence[str],
        values: list[tuple[str | int, ...]],
        scores: list[Score],
        masked: Mapping[str, str] | None,
    ) -> None:
        """``columns`` are the kept ones; ``values`` their cells; ``scores`` the score of each
        row; ``masked`` the masked form of contact pseudonyms the reasons name."""
        if len(values) != len(scores):
            raise ValueError(f"{len(values)} rows and {len(scores)} scores")
        super().__init__((*columns, *REASON_COLUMNS), values)
        self.scores = scores
        self.masked = masked

    def _written(self, index: int) -> tuple[str | int, ...]:
        ordered = ordered_reasons(self.scores[index].reasons)
        return (*self.values[index], _reasons_text(ordered), _reasons_json(ordered, self.masked))

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> RowTable: ...

    def __getitem__(self, index: int | slice) -> Row | RowTable:
        if isinstance(index, slice):
            return RowTable(self.columns, list(map(self._written, range(len(self))[index])))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("row index out of range")
        return dict(zip(self.columns, self._written(index), strict=True))

    def __iter__(self) -> Iterator[Row]:
        columns = self.columns
        for index in range(len(self)):
            yield dict(zip(columns, self._written(index), strict=True))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None

    def column(self, name: str) -> list[str | int | None]:
        if name == "reasons":
            return [_reasons_text(ordered_reasons(s.reasons)) for s in self.scores]
        if name == "reasons_json":
            return [_reasons_json(ordered_reasons(s.reasons), self.masked) for s in self.scores]
        if name not in self.columns:
            return [None] * len(self)
        return list(map(itemgetter(self.columns.index(name)), self.values))


def column(rows: Sequence[Row], name: str) -> list[str | int | None]:
    """One column of a table of rows, without making the rows when it is a :class:`RowTable`."""
    if isinstance(rows, RowTable):
        return rows.column(name)
    return [row.get(name) for row in rows]


def build_tables(result: AnalysisResult, *, pseudonym_key: str) -> Tables:
    """The rows of every output table (pure: the same result gives the same rows)."""
    with paused_gc():  # millions of small rows, no reference cycles
        return _build_tables(result, pseudonym_key)


def _build_tables(result: AnalysisResult, pseudonym_key: str) -> Tables:
    linkage, risk, moves = result.linkage, result.risk, result.movement
    persona_of = linkage.persona_of_ad
    network_of = linkage.network_of_persona
    no_score = Score(0, "log", ())

    # Ads, in input order, a column at a time. The cells from an ad's score and indicators
    # depend on its hits' ids and its score only (scores are shared by reposts), so they are
    # made once per (hit ids, score).
    ad_ids = list(map(_record_id, result.ads))
    ad_personas = list(map(persona_of.__getitem__, ad_ids))
    ad_networks = list(map(network_of.__getitem__, ad_personas))
    persona_ads: dict[str, list[int]] = defaultdict(list)
    for index, persona in enumerate(ad_personas):
        persona_ads[persona].append(index)
    hits = result.hits
    ad_hits = hits_per_ad(hits, ad_ids)
    hit_ids = [tuple(map(_indicator_id, h)) for h in ad_hits]
    scores = list(map(risk.ads.get, ad_ids, repeat(no_score)))
    cells_of: dict[tuple[tuple[str, ...], int], tuple[int, str, str]] = {}
    ad_cells: list[tuple[int, str, str]] = []
    for ids_of_hits, score in zip(hit_ids, scores, strict=True):
        key = (ids_of_hits, id(score))
        cells = cells_of.get(key)
        if cells is None:
            ids = " ".join(sorted({*ids_of_hits, *map(_indicator_id, score.reasons)}))
            cells = cells_of[key] = (score.score, score.level, ids)
        ad_cells.append(cells)
    del hit_ids, scores, cells_of
    ads = RowTable(
        ADS_COLUMNS,
        [
            (ad_id, persona, network, risk_score, risk_level, indicators)
            for ad_id, persona, network, (risk_score, risk_level, indicators) in zip(
                ad_ids, ad_personas, ad_networks, ad_cells, strict=True
            )
        ],
    )
    del ad_cells

    # The contact points of each network, as pseudonyms (each computed once).
    # Kinds by identity (hashing an enum member runs Python code); reposts share their
    # original's contact tuple, so each (network, tuple) is looked at once.
    kind_of = {id(kind): kind for kind in ContactKind}
    pseudonyms: dict[tuple[int, str], str] = {}
    network_contacts: dict[str, set[str]] = defaultdict(set)
    looked_at: set[tuple[str, int]] = set()
    for ad, network in zip(result.ads, ad_networks, strict=True):
        ad_contacts = ad.contacts
        if not ad_contacts or (network, id(ad_contacts)) in looked_at:
            continue
        looked_at.add((network, id(ad_contacts)))
        names = network_contacts[network]
        for contact in ad_contacts:
            contact_key = (id(contact.kind), contact.value)
            name = pseudonyms.get(contact_key)
            if name is None:
                kind = kind_of[contact_key[0]].value
                name = pseudonyms[contact_key] = pseudonym(kind, contact.value, pseudonym_key)
            names.add(name)
    del looked_at
    masked = _masked_shared_contacts(risk, pseudonyms, kind_of)
    del pseudonyms, ad_ids, ad_personas, ad_networks

    posted = list(map(_posted_at, result.ads))
    persona_rows: list[tuple[tuple[str | int, ...], Score]] = []
    network_personas: dict[str, list[str]] = defaultdict(list)
    for persona, indexes in persona_ads.items():
        network = network_of[persona]
        network_personas[network].append(persona)
        times = list(map(posted.__getitem__, indexes))
        score = _score(risk.personas, persona)
        # The movement stage lists every persona's places (none when no ad has a place);
        # a result without the persona gets them from the ads.
        places: Sequence[str] | None = moves.municipalities_of_persona.get(persona)
        if places is None:
            places = _first_seen_places(result, indexes)
        persona_rows.append(
            (
                (
                    persona,
                    network,
                    len(indexes),
                    iso(min(times)),
                    iso(max(times)),
                    ";".join(places),
                    score.score,
                    score.level,
                ),
                score,
            )
        )
    personas = _ranked(_PERSONA_KEPT, persona_rows, masked)
    del persona_rows

    network_rows: list[tuple[tuple[str | int, ...], Score]] = []
    no_contacts: set[str] = set()
    for network, members in network_personas.items():
        contacts = sorted(network_contacts.get(network, no_contacts))
        score = risk.networks.get(network, no_score)
        network_places: Sequence[str] | None = moves.municipalities_of_network.get(network)
        if network_places is None:
            indexes = [i for p in members for i in persona_ads[p]]
            network_places = _first_seen_places(
                result, sorted(indexes, key=lambda i: (result.ads[i].posted_at, result.ads[i].id))
            )
        network_rows.append(
            (
                (
                    network,
                    len(members),
                    sum(len(persona_ads[p]) for p in members),
                    ";".join(contacts),
                    ";".join(network_places),
                    score.score,
                    score.level,
                ),
                score,
            )
        )
    networks = _ranked(_NETWORK_KEPT, network_rows, masked)
    del network_rows

    movements: list[Row] = [
        {
            "persona_id": m.persona_id,
            "network_id": m.network_id,
            "from_municipality": m.from_municipality or "",
            "to_municipality": m.to_municipality,
            "at": iso(m.at),
        }
        for m in sorted(moves.movements, key=_movement_order)
    ]
    # Sorted by (ad_id_a, ad_id_b, kind, evidence): the fields themselves, a kind (a string
    # enum) ordering as its value.
    link_kind = {kind: kind.value for kind in LinkKind}
    links = RowTable(
        LINKS_COLUMNS,
        [
            (a, b, link_kind[kind], evidence)
            for a, b, kind, evidence in sorted(map(_link_fields, linkage.links))
        ],
    )
    return Tables(ads, personas, networks, movements, links)


def _ranked(
    columns: Sequence[str],
    rows: list[tuple[tuple[str | int, ...], Score]],
    masked: Mapping[str, str],
) -> ReasonedRowTable:
    """The rows (kept cells, score) as a table, highest risk first, then by id (the first
    cell)."""
    rows.sort(key=lambda row: (-row[1].score, str(row[0][0])))
    return ReasonedRowTable(
        columns, [cells for cells, _ in rows], [score for _, score in rows], masked
    )


def _masked_shared_contacts(
    risk: RiskResult, pseudonyms: Mapping[tuple[int, str], str], kind_of: Mapping[int, ContactKind]
) -> dict[str, str]:
    """Pseudonym -> masked form of every contact point a persona's or network's reason names."""
    wanted = {
        r.facts.contact
        for scores in (risk.personas, risk.networks)
        for score in scores.values()
        for r in score.reasons
        if r.facts is not None and r.facts.contact
    }
    if not wanted:
        return {}
    return {
        name: masked_contact(kind_of[kind_id].value, value)
        for (kind_id, value), name in pseudonyms.items()
        if name in wanted
    }


_record_id = attrgetter("record.id")
_indicator_id = attrgetter("indicator_id")
_posted_at = attrgetter("posted_at")
_movement_order = attrgetter("persona_id", "at", "to_municipality")
_link_fields = attrgetter("ad_id_a", "ad_id_b", "kind", "evidence")


def _first_seen_places(result: AnalysisResult, indexes: Sequence[int]) -> list[str]:
    ordered = sorted(indexes, key=lambda i: (result.ads[i].posted_at, result.ads[i].id))
    places: dict[str, None] = {}
    for i in ordered:
        municipality = result.ads[i].municipality
        if municipality:
            places.setdefault(municipality, None)
    return list(places)


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cell after the first starts a formula: one regular-expression pass over the column's text
# (the literal "\0" is found by a fast search), ten times cheaper than six substring searches.
_FORMULA_AFTER_SEPARATOR = re.compile("\0[" + re.escape("".join(FORMULA_STARTS)) + "]")


def neutralise_cell(value: str) -> str:
    """``value`` with a ``'`` in front when it would start a formula in a spreadsheet."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _neutralised_column(strings: Sequence[str], joined: str) -> Sequence[str]:
    """The column's cells neutralised; ``joined`` is ``"\0".join(strings)`` (cheap to search)."""
    if joined.startswith(FORMULA_STARTS) or _FORMULA_AFTER_SEPARATOR.search(joined):
        return list(map(neutralise_cell, strings))
    return strings  # the common case: one search of the column's text, no loop over cells


def csv_text(rows: Iterable[Row], columns: Sequence[str]) -> str:
    """CSV with a header row, ``\\n`` line ends, only the given columns, in that order."""
    buffer = io.StringIO()
    _write_csv(buffer, list(rows), columns)
    return buffer.getvalue()


def quarantine_jsonl(items: Iterable[Quarantined]) -> bytes:
    """One JSON object per quarantined record; contact points in its raw line and reason are
    masked (the input file still has them; this file need not)."""
    return b"".join(
        orjson.dumps(
            {
                "source": q.source,
                "line": q.line,
                "field": q.field,
                "reason": mask_raw_line(q.reason),
                "raw": mask_raw_line(q.raw),
            }
        )
        + b"\n"
        for q in items
    )


def write_tables(tables: Tables, out: Path) -> list[Path]:
    """Write the five CSV files into ``out`` (created if needed); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with paused_gc():
        for name, rows, columns in (
            ("ads.csv", tables.ads, ADS_COLUMNS),
            ("personas.csv", tables.personas, PERSONAS_COLUMNS),
            ("networks.csv", tables.networks, NETWORKS_COLUMNS),
            ("movements.csv", tables.movements, MOVEMENTS_COLUMNS),
            ("links.csv", tables.links, LINKS_COLUMNS),
        ):
            path = out / name
            with atomic_writer(path, newline="") as file:
                _write_csv(file, rows, columns)
            written.append(path)
    return written


def _write_csv(file: TextIO, rows: Sequence[Row], columns: Sequence[str]) -> None:
    """The CSV text of ``rows`` (see ``csv_text``), written into ``file`` a chunk at a time."""
    file.write(_csv_line(columns, len(columns)))
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        text = _plain_csv(chunk, columns)
        if text is None:
            width = len(columns)
            text = "".join(_csv_line([row.get(c, "") for c in columns], width) for row in chunk)
        file.write(text)


_NEEDS_QUOTES = (",", '"', "\n", "\r")


def _csv_field(value: object) -> str:
    """One cell as ``csv.writer`` (default dialect, minimal quoting) writes it, neutralised, and
    quoted when it holds a carriage return too (``csv.writer`` with ``\n`` line ends leaves a
    bare ``\r``, which readers take for the end of the row)."""
    if value is None:
        return ""
    text = neutralise_cell(value) if isinstance(value, str) else str(value)
    if any(c in text for c in _NEEDS_QUOTES):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(values: Sequence[object], width: int) -> str:
    if width == 1 and values[0] in ("", None):
        return '""\n'  # as csv.writer: a lone empty cell would read as a blank line
    return ",".join(map(_csv_field, values)) + "\n"


def _plain_csv(rows: Sequence[Row], columns: Sequence[str]) -> str | None:
    """The lines ``_csv_line`` writes for ``rows``, made a column at a time, when every cell is
    a ``str`` or an ``int`` (None otherwise: then ``_csv_line`` does it row by row).

    The rules for these (those of ``csv.writer``, minimal quoting): an ``int`` as ``str`` gives
    it; a string as it is (with a ``'`` in front when it would start a formula), unless it holds
    a comma, a quote or a line break: then in quotes, with every quote doubled. (A row of one
    empty cell is written as ``""``: one column is left to ``_csv_line``.)
    """
    if len(columns) < 2:
        return None
    if isinstance(rows, RowTable) and not isinstance(rows, ReasonedRowTable):
        if not set(columns) <= set(rows.columns):
            return None
        every_column = list(zip(*rows.values, strict=True)) or [()] * len(rows.columns)
        by_column: list[Sequence[object]] = [
            every_column[rows.columns.index(column)] for column in columns
        ]
    else:
        try:
            by_column = [list(map(itemgetter(column), rows)) for column in columns]
        except KeyError:
            return None
    cells: list[Sequence[str]] = []
    for values in by_column:
        types = set(map(type, values))
        if types == {int}:
            cells.append(list(map(str, values)))
            continue
        if types != {str}:
            return None
        strings = cast("Sequence[str]", values)
        text = "\0".join(strings)
        strings = _neutralised_column(strings, text)
        if "," in text or '"' in text or "\n" in text or "\r" in text:
            strings = [
                '"' + value.replace('"', '""') + '"'
                if "," in value or '"' in value or "\n" in value or "\r" in value
                else value
                for value in strings
            ]
        cells.append(strings)
    if not cells or not cells[0]:
        return ""
    return "\n".join(map(",".join, zip(*cells, strict=True))) + "\n"


def write_quarantine(items: Sequence[Quarantined], out: Path) -> Path:
    """``quarantine.jsonl`` in ``out``; written (empty) even when nothing was quarantined."""
    out.mkdir(parents=True, exist_ok=True)
    return write_atomic(out / "quarantine.jsonl", quarantine_jsonl(items))
