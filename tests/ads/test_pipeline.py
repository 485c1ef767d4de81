"""The pipeline end to end on hand-made records, the outputs and their determinism."""

import csv
import io
from pathlib import Path

import orjson
import pytest

from signaal.ads.outputs import (
    ADS_COLUMNS,
    LINKS_COLUMNS,
    MOVEMENTS_COLUMNS,
    NETWORKS_COLUMNS,
    PERSONAS_COLUMNS,
    build_tables,
    write_quarantine,
    write_tables,
)
from signaal.ads.pipeline import AnalysisResult, PipelineConfig, run, run_file
from signaal.ads.records import AdRecord
from signaal.ads.types import Quarantined
from signaal.engines.local import LocalEngine

from .adfactories import record_json

KEY = "test-pseudonym-key"


def corpus() -> list[dict[str, object]]:
    """Two personas sharing one phone (a network), moving Utrecht -> Zeist -> Ede; one loner."""
    ads = []
    for day, (name, age, city) in enumerate(
        [
            ("Anna", 19, "Utrecht"),
            ("Anna", 19, "Zeist"),
            ("Bella", 24, "Utrecht"),
            ("Bella", 24, "Zeist"),
            ("Anna", 19, "Ede"),
            ("Bella", 24, "Ede"),
        ]
    ):
        ads.append(
            record_json(
                id=f"site:{day:03}",
                name=name,
                age=age,
                city=city,
                title=f"{name} nieuw in {city}",
                text=f"Hoi ik ben {name}, jong en lief. 24/7 beschikbaar, alles mag. "
                "Bel 06-90000001.",
                posted_at=f"2026-03-{day + 2:02}T10:00:00+01:00",
                phones=["06-90000001"],
            )
        )
    ads.append(
        record_json(
            id="site:100",
            name="Carla",
            age=35,
            city="Groningen",
            title="Carla",
            text="Ontspannende massage in Groningen. Bel 06-90000099.",
            phones=["06-90000099"],
        )
    )
    return ads


def write_jsonl(path: Path, objects: list[dict[str, object]], extra: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    path.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in objects) + b"".join(extra))
    return path


def analyse(path: Path, workers: int = 1) -> dict[str, str]:
    config = PipelineConfig(pseudonym_key=KEY, workers=workers, chunk_size=2)
    result = run_file(path, config)
    out = path.parent / f"out-{workers}"
    write_tables(build_tables(result, pseudonym_key=KEY), out)
    write_quarantine(result.quarantined, out)
    return {p.name: p.read_text("utf-8") for p in sorted(out.iterdir())}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_end_to_end_tables(tmp_path: Path) -> None:
    files = analyse(write_jsonl(tmp_path / "ads.jsonl", corpus()))
    assert set(files) == {
        "ads.csv",
        "links.csv",
        "movements.csv",
        "networks.csv",
        "personas.csv",
        "quarantine.jsonl",
    }
    headers = {
        name: text.splitlines()[0].split(",")
        for name, text in files.items()
        if name.endswith(".csv")
    }
    assert headers["ads.csv"] == list(ADS_COLUMNS)
    assert headers["personas.csv"] == list(PERSONAS_COLUMNS)
    assert headers["networks.csv"] == list(NETWORKS_COLUMNS)
    assert headers["movements.csv"] == list(MOVEMENTS_COLUMNS)
    assert headers["links.csv"] == list(LINKS_COLUMNS)

    ads = rows(files["ads.csv"])
    assert [a["ad_id"] for a in ads] == [f"site:{d:03}" for d in range(6)] + ["site:100"]
    assert all(a["persona_id"] and a["network_id"] for a in ads)
    anna = {a["persona_id"] for a in ads if a["ad_id"] in ("site:000", "site:001", "site:004")}
    bella = {a["persona_id"] for a in ads if a["ad_id"] in ("site:002", "site:003", "site:005")}
    assert len(anna) == 1
    assert len(bella) == 1
    assert anna != bella
    networks = {a["network_id"] for a in ads if a["ad_id"] != "site:100"}
    assert len(networks) == 1  # one phone, two personas
    loner = next(a for a in ads if a["ad_id"] == "site:100")
    assert loner["network_id"] not in networks
    assert all(0 <= int(a["risk_score"]) <= 100 for a in ads)
    first = next(a for a in ads if a["ad_id"] == "site:000")
    assert {"A04", "A05", "A06", "B01"} <= set(first["indicators"].split())

    personas = {p["persona_id"]: p for p in rows(files["personas.csv"])}
    (anna_id,) = anna
    assert personas[anna_id]["municipalities"] == "Utrecht;Zeist;Ede"
    assert personas[anna_id]["n_ads"] == "3"
    assert personas[anna_id]["first_seen"] == "2026-03-02T09:00:00Z"
    assert personas[anna_id]["reasons"]

    (network,) = [n for n in rows(files["networks.csv"]) if n["network_id"] in networks]
    assert network["n_personas"] == "2"
    assert network["n_ads"] == "6"
    assert network["contact_points"].startswith("phone:")
    assert "90000001" not in files["networks.csv"]  # pseudonymised, never the number
    assert "C01" in network["reasons"]

    moves = rows(files["movements.csv"])
    anna_moves = [
        (m["from_municipality"], m["to_municipality"]) for m in moves if m["persona_id"] == anna_id
    ]
    assert anna_moves == [("", "Utrecht"), ("Utrecht", "Zeist"), ("Zeist", "Ede")]
    links = rows(files["links.csv"])
    assert any(link["kind"] == "phone" for link in links)
    assert all(link["ad_id_a"] < link["ad_id_b"] for link in links)
    assert files["quarantine.jsonl"] == ""


def test_deterministic_and_independent_of_workers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ads.jsonl", corpus())
    one = analyse(path, workers=1)
    again = analyse(path, workers=1)
    two = analyse(path, workers=2)
    assert one == again == two


def test_bad_records_quarantined_rest_analysed(tmp_path: Path) -> None:
    good = corpus()
    path = write_jsonl(
        tmp_path / "ads.jsonl",
        [*good[:3], good[0]],  # an identical repeat is dropped, not quarantined
        [b"{broken\n", orjson.dumps(record_json(id="x:1", posted_at="yesterday")) + b"\n"],
    )
    result = run_file(path, PipelineConfig(pseudonym_key=KEY))
    assert [a.id for a in result.ads] == ["site:000", "site:001", "site:002"]
    assert result.stats.duplicates == 1
    assert [(q.line, q.field) for q in result.quarantined] == [(5, None), (6, "posted_at")]
    out = tmp_path / "out"
    write_quarantine(result.quarantined, out)
    lines = [orjson.loads(line) for line in (out / "quarantine.jsonl").read_bytes().splitlines()]
    assert [(q["source"], q["line"]) for q in lines] == [("ads.jsonl", 5), ("ads.jsonl", 6)]
    assert set(lines[0]) == {"source", "line", "field", "reason", "raw"}


def test_missing_and_corrupt_photos_are_reported_ad_kept(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    ads = corpus()[:2]
    ads[0]["images"] = ["photos/missing.jpg"]
    ads[1]["images"] = ["broken.jpg"]
    result = run_file(write_jsonl(tmp_path / "ads.jsonl", ads), PipelineConfig(pseudonym_key=KEY))
    assert len(result.ads) == 2
    reasons = sorted(q.reason for q in result.quarantined)
    assert reasons[0].startswith("photo missing: photos/missing.jpg")
    assert reasons[1].startswith("photo unreadable: broken.jpg")
    assert {q.line for q in result.quarantined} == {1, 2}


def test_csv_input_gives_the_same_tables(tmp_path: Path) -> None:
    objects = corpus()
    jsonl = analyse(write_jsonl(tmp_path / "ads.jsonl", objects))
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    path = csv_dir / "ads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(objects[0]))
        writer.writeheader()
        for obj in objects:
            row = dict(obj)
            for name in ("phones", "emails", "handles", "images"):
                row[name] = orjson.dumps(row[name]).decode()
            row["prices"] = orjson.dumps(row["prices"]).decode()
            row["origin"] = row["origin"] or ""
            writer.writerow(row)
    from_csv = analyse(path)
    assert from_csv == jsonl


def test_run_on_records_and_a_custom_engine(tmp_path: Path) -> None:
    records: list[AdRecord | Quarantined] = [AdRecord.from_json(o) for o in corpus()]
    records.append(Quarantined("x.jsonl", 9, None, "malformed JSON: …", "{"))
    result = run(records, PipelineConfig(pseudonym_key=KEY), engine=LocalEngine(2, max_pending=1))
    assert len(result.ads) == 7
    assert len(result.quarantined) == 1
    assert set(result.linkage.persona_of_ad) == {a.id for a in result.ads}


@pytest.mark.parametrize("workers", [0, -1])
def test_engine_rejects_no_workers(workers: int) -> None:
    with pytest.raises(ValueError, match="workers"):
        LocalEngine(workers)


def test_saved_pages_of_every_site_layout_are_analysed(tmp_path: Path) -> None:
    from signaal.synth import SynthConfig, generate

    generate(SynthConfig(seed=5, ads=300), tmp_path / "corpus", workers=1)
    pages = tmp_path / "corpus" / "pages"
    sites = sorted(p.name for p in pages.iterdir() if p.is_dir())
    assert len(sites) >= 2
    result = run_file(pages, PipelineConfig(pseudonym_key=KEY, photos=False))
    assert result.ads, "no ads read from the saved pages"
    known = {
        orjson.loads(line)["id"]
        for line in (tmp_path / "corpus" / "ads.jsonl").read_bytes().splitlines()
    }
    assert {a.id for a in result.ads} <= known
    assert {a.record.site.split(".")[0] for a in result.ads} >= set(sites)
    assert set(result.linkage.persona_of_ad) == {a.id for a in result.ads}


def test_every_reason_survives_the_reasons_column(tmp_path: Path) -> None:
    """`reasons` joins reasons with "; ", so no reason may contain ";" (readers split on it)."""
    from signaal.ads.outputs import reasons_text
    from signaal.synth import SynthConfig, generate
    from signaal.synth.config import shares_with_controlled

    shares = shares_with_controlled(SynthConfig().class_shares, 0.3)
    generate(SynthConfig(seed=11, ads=1500, class_shares=shares), tmp_path / "corpus", workers=1)
    result = run_file(tmp_path / "corpus" / "ads.jsonl", PipelineConfig(pseudonym_key=KEY))
    scores = [*result.risk.ads.values(), *result.risk.personas.values()]
    scores += list(result.risk.networks.values())
    reasons = [r for s in scores for r in s.reasons]
    assert {r.family for r in reasons} >= {"A", "C", "D"}
    for score in scores:
        for reason in score.reasons:
            assert ";" not in reason.text, reason.text
        if score.reasons:
            assert len(reasons_text(score.reasons).split("; ")) == len(score.reasons)


def test_every_reason_carries_facts_and_the_json_column_explains_them(tmp_path: Path) -> None:
    """Each persona and network reason has facts of a known kind; ``reasons_json`` lists them in
    the order of ``reasons``, masks every contact point (no clear value, the masked form of a
    shared one) and every one reads as a Dutch sentence without a pseudonym."""
    import json
    import re

    from signaal.ads.explain import explain
    from signaal.ads.types import REASON_KINDS
    from signaal.synth import SynthConfig, generate
    from signaal.synth.config import shares_with_controlled

    shares = shares_with_controlled(SynthConfig().class_shares, 0.3)
    generate(SynthConfig(seed=11, ads=1500, class_shares=shares), tmp_path / "corpus", workers=1)
    result = run_file(tmp_path / "corpus" / "ads.jsonl", PipelineConfig(pseudonym_key=KEY))
    clear = {c.value for ad in result.ads for c in ad.contacts}
    kinds: set[str] = set()
    for score in [*result.risk.personas.values(), *result.risk.networks.values()]:
        for reason in score.reasons:
            assert reason.facts is not None, reason
            assert reason.facts.kind in REASON_KINDS
            kinds.add(reason.facts.kind)
    assert kinds >= {"cue", "shared_contact", "network_size", "movement"}
    tables = build_tables(result, pseudonym_key=KEY)
    pseudonym = re.compile(r"(phone|email|handle|website):[0-9a-f]{8,}")
    for row in [*tables.personas, *tables.networks]:
        records = json.loads(str(row["reasons_json"]))
        texts = str(row["reasons"]).split("; ") if row["reasons"] else []
        assert [r["id"] for r in records] == [t.split(" ", 1)[0] for t in texts]
        for record in records:
            if record["kind"] == "shared_contact":
                assert "•••••" in record["masked"]
            assert not any(value in json.dumps(record) for value in clear if len(value) > 5)
        for explained in explain(records):
            assert not pseudonym.search(explained.sentence), explained.sentence


def reposted_corpus() -> list[dict[str, object]]:
    """The corpus, then each ad reposted twice under new ids and times (some far apart)."""
    ads = corpus()
    out = list(ads)
    for round_ in (1, 2):
        for n, ad in enumerate(ads):
            again = dict(ad)
            again["id"] = f"{ad['id']}-r{round_}"
            again["url"] = f"https://example.test/ads/{n}-r{round_}"
            again["posted_at"] = f"2026-04-{n + round_ * 10:02}T09:30:00+02:00"
            out.append(again)
    return out


def by_id(result: AnalysisResult) -> dict[str, object]:
    return {
        ad.id: (ad, result.hits[ad.id], result.risk.ads.get(ad.id), result.lines[ad.id])
        for ad in result.ads
    }


def test_reposts_reuse_their_original_and_match_a_full_analysis(tmp_path: Path) -> None:
    objects = reposted_corpus()
    path = write_jsonl(tmp_path / "ads.jsonl", objects)
    config = PipelineConfig(pseudonym_key=KEY, chunk_size=3)
    from_file = run_file(path, config)
    # The record path analyses every record on its own (no corpus-wide reuse of reposts).
    records: list[AdRecord | Quarantined] = [AdRecord.from_json(o) for o in objects]
    direct = run(records, config, source="ads.jsonl")
    assert by_id(from_file) == by_id(direct)
    repost = next(a for a in from_file.ads if a.id == "site:000-r2")
    assert repost.record.url.endswith("0-r2")
    first = next(a for a in from_file.ads if a.id == "site:000")
    assert repost.record.text is first.record.text  # one copy of a reposted text
    assert repost.posted_at.isoformat() == "2026-04-20T07:30:00+00:00"
    assert from_file.lines["site:000-r2"] == 15
    assert analyse(path, workers=1) == analyse(path, workers=2)


def test_a_repost_of_a_quarantined_original_is_analysed(tmp_path: Path) -> None:
    original, repost, later = (dict(corpus()[0]) for _ in range(3))
    original["url"] = 42  # schema violation: the original is quarantined
    repost["id"], later["id"] = "site:r1", "site:r2"
    path = write_jsonl(tmp_path / "ads.jsonl", [original, repost, later])
    result = run_file(path, PipelineConfig(pseudonym_key=KEY, chunk_size=1))
    assert [(q.line, q.field) for q in result.quarantined] == [(1, "url")]
    assert [a.id for a in result.ads] == ["site:r1", "site:r2"]
    assert result.ads[0].contacts == result.ads[1].contacts
    assert {h.indicator_id for h in result.hits["site:r1"]} >= {"A04", "A05"}


def test_equal_content_hashes_of_different_ads_do_not_mix_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signaal.engines import reposts

    objects = reposted_corpus()
    path = write_jsonl(tmp_path / "ads.jsonl", objects)
    expected = analyse(path)
    # Every line hashes alike: only the full content comparison tells reposts apart.
    decode = reposts.decode_content
    monkeypatch.setattr(reposts, "decode_content", lambda data: (7, decode(data)[1]))
    assert analyse(path) == expected


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"id": "other", "url": "https://example.test/x", "posted_at": "2026-05-01T10:00:00+02:00"},
        {"text": "Hoi, ik ben Anna. Bel me!"},
        {"title": "Anna nieuw"},
        {"city": "Zeist"},
        {"phones": ["06-90000002"]},
        {"emails": ["anna@example.test"]},
        {"handles": ["telegram:anna"]},
        {"age": 28},
        {"age": 27.0},
        {"prices": {"60min": 150, "30min": 80}},  # the same prices in another order
        {"prices": {"30min": 80, "60min": 160}},
        {"name": "Bella", "images": ["a.jpg"], "category": "privé"},
    ],
)
def test_same_content_is_equal_content_keys(change: dict[str, object]) -> None:
    from signaal.ads.records import content_key, object_content_key, same_content

    a = AdRecord.from_json(record_json())
    b = AdRecord.from_json(record_json(**change))
    assert same_content(a, b) == (content_key(a) == content_key(b))
    assert same_content(a, b) == same_content(b, a)
    # One key: the raw line's object has the same content key as the record made from it.
    assert object_content_key(record_json(**change)) == content_key(b)


def test_a_file_of_reposts_goes_out_in_bounded_chunks(tmp_path: Path) -> None:
    from signaal.engines.reposts import MAX_PLAN, Reposts

    ad = corpus()[0]
    objects = [dict(ad, id=f"site:{n:04}") for n in range(200)]
    lines = [(n, orjson.dumps(o) + b"\n") for n, o in enumerate(objects, start=1)]
    reposts = Reposts("ads.jsonl", 5, None)
    sizes = []
    for chunk in reposts.chunks(lines):
        sizes.append((len(chunk.lines), len(reposts.plans[-1][0])))
    assert sizes[0][0] == 1  # only the first line is new content
    assert all(plan <= MAX_PLAN * 5 for _, plan in sizes)
    assert sum(plan for _, plan in sizes) == 200
    path = write_jsonl(tmp_path / "ads.jsonl", objects)
    result = run_file(path, PipelineConfig(pseudonym_key=KEY, chunk_size=5, workers=2))
    assert [a.id for a in result.ads] == [o["id"] for o in objects]
    assert len({id(a.record.text) for a in result.ads}) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"id": "site:other"},
        {"site": "other.example"},
        {"url": "https://other.example/ad/9"},
        {"posted_at": "2026-06-01T08:00:00+02:00"},
        {"name": "Bella"},
        {"origin": "Roemeens"},
        {"category": "escort"},
        {"images": ["photos/other.jpg"]},
    ],
)
def test_the_per_ad_stages_read_only_the_content_fields(change: dict[str, object]) -> None:
    """What makes reposts safe to analyse once: a record that differs only outside
    CONTENT_FIELDS gets the same normalised form (with its own record and time) and hits."""
    from signaal.ads.indicators import default_matcher, detect
    from signaal.ads.normalise import normalise
    from signaal.ads.records import AD_RECORD_FIELDS, CONTENT_FIELDS
    from signaal.engines.chunks import repost_of

    assert set(change) <= set(AD_RECORD_FIELDS) - set(CONTENT_FIELDS)
    original = AdRecord.from_json(record_json())
    other = AdRecord.from_json(record_json(**change))
    analysed = normalise(other)
    assert repost_of(normalise(original), other, analysed.posted_at) == analysed
    assert detect(analysed, default_matcher()) == detect(normalise(original), default_matcher())
