"""The CSV files: written a column at a time where that gives what ``csv.writer`` gives."""

from __future__ import annotations

import csv
import io
import pickle
import random
from pathlib import Path

import pytest

from signaal.ads.outputs import (
    LINKS_COLUMNS,
    PERSONAS_COLUMNS,
    ReasonedRowTable,
    Row,
    RowTable,
    Tables,
    column,
    csv_text,
    reasons_json,
    reasons_text,
    write_tables,
)
from signaal.ads.types import Reason, ReasonFacts, Score

CELLS: list[str | int | float | bool | None] = [
    "",
    " ",
    "plain",
    "a,b",
    'say "hi"',
    '"',
    ",",
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\n",
    "tab\there",
    "nul\0char",
    '=HYPERLINK("http://evil.test")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1",
    "\r=1",
    "'quoted already",
    "a\r",
    "ünïcødé – ‘quotes’",
    "semi;colon",
    0,
    -3,
    10**20,
    True,
    1.5,
    None,
]


def _reference(rows: list[Row], columns: tuple[str, ...]) -> str:
    """What ``csv.writer`` writes, with two differences: a cell that would start a formula gets
    a ``'`` in front, and a cell with a carriage return is quoted like one with a newline (a
    writer with ``\r\n`` line ends does that; each row's own line end is then made ``\n``)."""

    def line(cells: list[object]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(
            ["'" + c if isinstance(c, str) and c[:1] in FORMULA_FIRST else c for c in cells]
        )
        return buffer.getvalue().removesuffix("\r\n") + "\n"

    return line(list(columns)) + "".join(
        line([row.get(column, "") for column in columns]) for row in rows
    )


FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r")


def _rows(rng: random.Random, n: int, cells: list[str | int | float | bool | None]) -> list[Row]:
    rows = []
    for _ in range(n):
        row = {column: rng.choice(cells) for column in LINKS_COLUMNS}
        if rng.random() < 0.05:
            del row[rng.choice(LINKS_COLUMNS)]
        rows.append(row)
    return rows  # type: ignore[return-value]  # other cell types on purpose


def test_csv_text_is_what_csv_writer_writes() -> None:
    rng = random.Random(7)
    plain: list[str | int | float | bool | None] = ["", "x", "a,b", 'q"q', "é", 0, 42, -1]
    other: list[str | int | float | bool | None] = ["x", "y", 1, 2]
    for cells in (CELLS, plain, other):
        for n in (0, 1, 3, 25_000):
            rows = _rows(rng, n, cells)
            assert csv_text(rows, LINKS_COLUMNS) == _reference(rows, LINKS_COLUMNS)
    one_column = [{"a": ""}, {"a": "x"}, {"a": 1}]
    assert csv_text(one_column, ("a",)) == _reference(one_column, ("a",))  # type: ignore[arg-type]


def test_written_tables_are_the_csv_text(tmp_path: Path) -> None:
    rng = random.Random(8)
    rows = _rows(rng, 30_000, ["ad-1", "phone:3f9a", "name anna, age 24", 'a "b"', 3])
    tables = Tables(ads=[], personas=[], networks=[], movements=[], links=rows)
    write_tables(tables, tmp_path)
    written = (tmp_path / "links.csv").read_bytes()
    assert written == _reference(rows, LINKS_COLUMNS).encode("utf-8")


def test_a_row_table_reads_and_writes_as_its_dict_rows(tmp_path: Path) -> None:
    rng = random.Random(9)
    cells: list[str | int | float | bool | None] = ["ad-1", "a,b", 'q"q', "two\nlines", 7]
    dict_rows = [{c: rng.choice(cells) for c in LINKS_COLUMNS} for _ in range(30_000)]
    table = RowTable(LINKS_COLUMNS, [tuple(r[c] for c in LINKS_COLUMNS) for r in dict_rows])  # type: ignore[misc]
    assert len(table) == len(dict_rows)
    assert table[5] == dict_rows[5]
    assert table[-1] == dict_rows[-1]
    assert list(table[10:13]) == dict_rows[10:13]
    assert list(table) == dict_rows
    assert table == dict_rows
    assert table == RowTable(LINKS_COLUMNS, list(table.values))
    assert table != dict_rows[:-1]
    for rows in (table, table[:20_000]):
        expected = _reference(list(rows), LINKS_COLUMNS)
        assert csv_text(rows, LINKS_COLUMNS) == expected
        write_tables(Tables(ads=[], personas=[], networks=[], movements=[], links=rows), tmp_path)
        assert (tmp_path / "links.csv").read_text("utf-8") == expected


def test_a_reasoned_row_table_reads_as_rows_with_their_reasons_written(tmp_path: Path) -> None:
    """The persona and network tables write a row's reasons from its score when the row is
    read: every way of reading (index, slice, iteration, one column, the CSV file, pickling)
    gives the rows with ``reasons`` and ``reasons_json`` as the score's reasons, masked."""
    rng = random.Random(4)
    kept = (*PERSONAS_COLUMNS[:7], "risk_level")
    shared = Reason(
        "C01", "C", 3.0, "phone shared", ReasonFacts("shared_contact", contact="phone:ab12")
    )
    scores = [
        Score(
            rng.randint(0, 100),
            rng.choice(["log", "review", "priority"]),
            tuple(
                rng.sample(
                    [shared, Reason("A05", "A", 2.0, "24/7"), Reason("B02", "B", -1, 'a,"b"')],
                    rng.randint(0, 3),
                )
            ),
        )
        for _ in range(25_000)  # more than one chunk of the CSV writer
    ]
    values: list[tuple[str | int, ...]] = [
        (
            f"p{i}",
            f"n{i // 3}",
            i % 7 + 1,
            "2026-01-01T00:00:00Z",
            "",
            "Utrecht;Ede",
            s.score,
            s.level,
        )
        for i, s in enumerate(scores)
    ]
    masked = {"phone:ab12": "06-•••••12"}
    table = ReasonedRowTable(kept, values, scores, masked)
    expected: list[Row] = [
        {
            **dict(zip(kept, cells, strict=True)),
            "reasons": reasons_text(score.reasons),
            "reasons_json": reasons_json(score.reasons, masked),
        }
        for cells, score in zip(values, scores, strict=True)
    ]
    assert any("06-•••••12" in str(row["reasons_json"]) for row in expected)
    assert len(table) == len(expected)
    assert table[0] == expected[0]
    assert table[-1] == expected[-1]
    assert list(table[100:103]) == expected[100:103]
    assert list(table) == expected
    assert table == expected
    written = RowTable(table.columns, [tuple(row.values()) for row in expected])
    assert written == table
    assert table == written
    assert column(table, "reasons_json") == [row["reasons_json"] for row in expected]
    assert column(table, "risk_level") == [row["risk_level"] for row in expected]
    assert column(table, "no such column") == [None] * len(expected)
    assert pickle.loads(pickle.dumps(table)) == expected
    with pytest.raises(IndexError):
        table[len(expected)]
    write_tables(Tables(ads=[], personas=table, networks=[], movements=[], links=[]), tmp_path)
    assert (tmp_path / "personas.csv").read_text("utf-8") == _reference(expected, PERSONAS_COLUMNS)
    with pytest.raises(ValueError, match="rows and"):
        ReasonedRowTable(kept, values, scores[:-1], masked)


def test_no_cell_starts_a_formula_in_either_writer(tmp_path: Path) -> None:
    """Each of the six starts, in every column, through the column-wise path (all strings) and
    the row-wise path (mixed types), read back by a CSV reader as text with a ``'`` in front."""
    for start in FORMULA_FIRST:
        hostile = f"{start}SUM(1+1)"
        fast = [dict.fromkeys(LINKS_COLUMNS, hostile), dict.fromkeys(LINKS_COLUMNS, "x")]
        slow = [{**fast[0], "kind": 3}, fast[1]]
        for rows in (fast, slow):
            tables = Tables(ads=[], personas=[], networks=[], movements=[], links=rows)  # type: ignore[arg-type]
            write_tables(tables, tmp_path)
            with (tmp_path / "links.csv").open(encoding="utf-8", newline="") as handle:
                read = list(csv.reader(handle))
            assert read[0] == list(LINKS_COLUMNS)
            assert len(read) == 3
            for cell in read[1]:
                assert cell in ("'" + hostile, "3"), (start, cell)
            assert read[2][0] == "x"


def test_clean_cells_are_written_unchanged() -> None:
    rows = [{"a": "'s-Hertogenbosch", "b": "C01 +3: phone shared"}, {"a": "x=1", "b": "a-b"}]
    assert csv_text(rows, ("a", "b")) == "a,b\n's-Hertogenbosch,C01 +3: phone shared\nx=1,a-b\n"  # type: ignore[arg-type]
