import json
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

from signaal.ads.indicators import (
    Matcher,
    default_indicators,
    detect,
    load_indicators,
    price_hits,
)
from signaal.ads.normalise import normalise
from signaal.ads.records import AdRecord
from signaal.ads.types import IndicatorHit

RecordFactory = Callable[..., AdRecord]

# Per text indicator: a positive (NL or EN) and a near miss that must not fire.
CASES: dict[str, tuple[list[str], list[str]]] = {
    "A01": (
        ["Wij bieden u onze dames", "my girls are waiting", "Zij is nieuw hier"],
        ["wij zijn er", "zijn ze er", "the girl is"],
    ),
    "A02": (
        ["100% echt, echte foto's", "real pics only", "Geen nep!"],
        ["echtgenoot", "really nice", "nepalees eten"],
    ),
    "A03": (
        ["Roemeense schoonheid", "hot Latina", "exotische dame"],
        ["romantisch etentje", "Latin lessen", "exotiek"],
    ),
    "A04": (["jong meisje", "net 18", "Young and fresh"], ["jongen", "youngest", "refreshments"]),
    "A05": (
        ["24/7 beschikbaar", "dag en nacht", "always available"],
        ["24 euro", "dagelijks", "available on mondays"],
    ),
    "A06": (
        ["Alles mag", "in voor alles", "no limits"],
        ["alles is mogelijk na overleg", "alleen mag", "limits apply"],
    ),
    "A07": (["zonder condoom", "AV/NS", "bareback"], ["met condoom", "altijd veilig", "backpack"]),
    "A08": (["gangbang", "extreem", "rough sex"], ["gang", "extra", "roughly"]),
    "A09": (["nummer in foto", "see pic for number"], ["nummer volgt", "pick a number"]),
    "A10": (["Actie: all-in", "special offer"], ["actief", "officer"]),
    "A12": (
        ["new in town", "nieuw in Utrecht", "alleen deze week"],
        ["nieuw in het vak", "new in the business", "deze weekend"],
    ),
    "A13": (["alleen serieuze heren", "no private numbers"], ["serieus", "private room"]),
    "A14": (
        ["hotelbezoek mogelijk", "in de auto", "holiday park"],
        ["hoteldebotel", "autobus", "park"],
    ),
    "A15": (["🍒 voor jou", "👑", "🌹🌹🌹"], ["🍓", "🌹", "cherry"]),
    "A16": (
        ["alleen crypto", "tikkie vooraf", "pay in advance"],
        ["crypto nieuws", "tikkie achteraf", "pay later"],
    ),
    "E02": (
        ["na schooltijd", "after school", "voor de avondklok thuis"],
        ["schooltas", "schoolbord", "after schooling"],
    ),
}


def _text_hits(make_record: RecordFactory, text: str, **fields: object) -> list[IndicatorHit]:
    record = make_record(text=text, title="", **fields)
    return [h for h in detect(normalise(record)) if h.field == "text"]


@pytest.mark.parametrize("indicator_id", sorted(CASES))
def test_positive_and_near_miss(make_record: RecordFactory, indicator_id: str) -> None:
    positives, negatives = CASES[indicator_id]
    for text in positives:
        ids = {h.indicator_id for h in _text_hits(make_record, text)}
        assert indicator_id in ids, f"{indicator_id} missed in {text!r}"
    for text in negatives:
        ids = {h.indicator_id for h in _text_hits(make_record, text)}
        assert indicator_id not in ids, f"{indicator_id} wrongly found in {text!r}"


def test_language_mismatch_needs_a_dutch_text(make_record: RecordFactory) -> None:
    dutch = "Hoi ik ben Anna en ik ben lekker, maar spreek geen Nederlands, alleen Engels"
    assert "A11" in {h.indicator_id for h in _text_hits(make_record, dutch)}
    english = "Hi I am Anna and I am new, only English"
    assert "A11" not in {h.indicator_id for h in _text_hits(make_record, english)}


@pytest.mark.parametrize(
    ("text", "indicator_id", "evidence"),
    [
        ("Bel me, 2 4 / 7 beschikbaar!", "A05", "2 4 / 7"),
        ("ik doe n0 l1m1ts voor jou", "A06", "n0 l1m1ts"),
        ("Echt a l l e s  m a g, kom", "A06", "a l l e s  m a g"),
        ("ALLES MAG", "A06", "ALLES MAG"),
        ("z0nder c0nd00m", "A07", "z0nder c0nd00m"),
        ("ik ben JONG en lief", "A04", "JONG"),
        ("G-A-N-G-B-A-N-G party", "A08", "G-A-N-G-B-A-N-G"),
        ("✈️ nieuw", "A15", "✈"),
        ("dag en na\u200bcht", "A05", "dag en na\u200bcht"),
        ("100 % echt", "A02", "100 % echt"),
        ("Hotel in Zwolle", "A14", "Hotel"),
        ("éxtreem", "A08", "éxtreem"),
    ],
)
def test_obfuscated_variants_and_spans(
    make_record: RecordFactory, text: str, indicator_id: str, evidence: str
) -> None:
    hits = [h for h in _text_hits(make_record, text) if h.indicator_id == indicator_id]
    assert hits, f"{indicator_id} missed in {text!r}"
    hit = hits[0]
    assert hit.span is not None
    assert text[hit.span[0] : hit.span[1]] == hit.evidence == evidence


def test_every_span_is_its_evidence(make_record: RecordFactory) -> None:
    text = (
        "NIEUW in Amsterdam! Wij bieden 24/7 een jonge Roemeense dame, 100% echt. "
        "A l l e s  m a g, n0 l1m1ts, zonder condoom. Bel O6-9 0 0 0 0 0 0 1. Alleen crypto. 🍒"
    )
    record = make_record(text=text, title="Net 18 🌹🌹", city="Utrecht", age=19)
    hits = detect(normalise(record))
    ids = [h.indicator_id for h in hits]
    for expected in (
        "A01",
        "A02",
        "A03",
        "A04",
        "A05",
        "A06",
        "A07",
        "A09",
        "A12",
        "A15",
        "A16",
        "B01",
        "B02",
        "E01",
    ):
        assert expected in ids, expected
    contacts = [c for c in normalise(record).contacts if c.span is not None]
    for hit in hits:
        if hit.span is not None:
            field = record.text if hit.field == "text" else record.title
            covers_contact = any(
                c.source == hit.field
                and c.span is not None
                and c.span[0] < hit.span[1]
                and hit.span[0] < c.span[1]
                for c in contacts
            )
            if covers_contact:  # evidence of a contact point is masked, never as written
                assert field[hit.span[0] : hit.span[1]] not in hit.evidence
                assert "•••••" in hit.evidence
            else:
                assert field[hit.span[0] : hit.span[1]] == hit.evidence
    assert detect(normalise(record)) == hits  # deterministic


def test_field_rules(make_record: RecordFactory) -> None:
    def ids(**fields: object) -> set[str]:
        return {h.indicator_id for h in detect(normalise(make_record(**fields)))}

    assert "B01" in ids(age=19)
    assert "B01" not in ids(age=21)
    assert "B01" not in ids(age=None)
    assert "E01" in ids(age=18, text="jong en lief")
    assert "E01" not in ids(age=25, text="jong en lief")
    assert "B02" in ids(age=19, text="ik ben 24 jaar")
    assert "B02" not in ids(age=24, text="ik ben 24 jaar")
    assert "B02" in ids(city="Utrecht", text="nieuw in Amsterdam")
    assert "B02" not in ids(city="Utrecht", text="nieuw in Utrecht")


def test_obscured_phone_is_a09_with_span(make_record: RecordFactory) -> None:
    record = make_record(text="bel nul zes negen nul nul nul nul nul nul een", phones=[])
    hits = [h for h in detect(normalise(record)) if h.indicator_id == "A09"]
    assert len(hits) == 1
    assert hits[0].span == (4, 45)
    assert record.text[4:45] == "nul zes negen nul nul nul nul nul nul een"
    # The evidence is the masked number, not the words that spelled it out.
    assert hits[0].evidence == "[06-•••••01]"
    plain = make_record(text="bel 06-90000001", phones=[])
    assert "A09" not in {h.indicator_id for h in detect(normalise(plain))}


def test_price_far_below_the_median(make_record: RecordFactory) -> None:
    ads = [normalise(make_record(id=f"t:{i}", prices={"60min": 150 + i})) for i in range(30)] + [
        normalise(make_record(id="t:cheap", prices={"60min": 50}))
    ]
    hits = price_hits(ads)
    assert set(hits) == {"t:cheap"}
    assert hits["t:cheap"].indicator_id == "A10"
    # A thin market (fewer than 20 priced ads) gives no price cue.
    assert price_hits(ads[:5] + ads[-1:]) == {}


INDICATORS_MD = Path("/work/shared/INDICATORS.md")


def test_indicators_json_is_complete_and_sourced() -> None:
    document = json.loads(
        resources.files("signaal.ads").joinpath("indicators.json").read_text("utf-8")
    )
    indicators = document["indicators"]
    ids = [i["id"] for i in indicators]
    expected = [f"A{n:02}" for n in range(1, 17)] + ["B01", "B02", "B03"]
    expected += [f"C{n:02}" for n in range(1, 7)] + [f"D{n:02}" for n in range(1, 5)]
    expected += ["E01", "E02", "E03"] + [f"F{n:02}" for n in range(1, 7)]
    assert ids == expected
    for indicator in indicators:
        assert indicator["source"].strip(), indicator["id"]
        assert indicator["basis"]
        assert set(indicator["basis"]) <= {"E", "P", "L", "H"}
        assert indicator["name_nl"]
        assert indicator["name_en"]
        if indicator["rule"] == "text":
            assert indicator["patterns"]["nl"], indicator["id"]
            assert indicator["patterns"]["en"], indicator["id"]
    caps = {k: f["cap"] for k, f in document["families"].items()}
    assert caps == {"A": 5, "B": 2, "C": 6, "D": 4, "E": None, "F": None}
    assert [(b["level"], b["min"], b["max"]) for b in document["bands"]] == [
        ("log", None, 3),
        ("review", 4, 6),
        ("priority", 7, None),
    ]


def test_weights_match_the_taxonomy() -> None:
    weights = {i.id: i.weight for i in default_indicators().indicators}
    assert weights["A04"] == 3
    assert weights["A12"] == -1
    assert weights["A13"] == 0
    assert weights["C01"] == 3
    assert weights["D02"] == 3
    assert weights["E01"] is None
    if INDICATORS_MD.exists():  # the research note lives beside the repository
        table = re.findall(
            r"^\| ([A-F]\d\d) \|.*?\| (-?\d|flag|−1) \|", INDICATORS_MD.read_text(), re.M
        )
        for indicator_id, weight in table:
            expected = None if weight == "flag" else float(weight.replace("−", "-"))
            assert weights[indicator_id] == expected, indicator_id


def test_custom_indicator_file(tmp_path: Path, make_record: RecordFactory) -> None:
    document = json.loads(
        resources.files("signaal.ads").joinpath("indicators.json").read_text("utf-8")
    )
    for indicator in document["indicators"]:
        if indicator["id"] == "A08":
            indicator["patterns"]["nl"].append("wild")
    path = tmp_path / "indicators.json"
    path.write_text(json.dumps(document), "utf-8")
    matcher = Matcher(load_indicators(path))
    hits = detect(normalise(make_record(text="heel wild")), matcher)
    assert [h.indicator_id for h in hits if h.field == "text"] == ["A08"]


def test_docs_indicators_md_is_generated_from_the_json() -> None:
    from signaal.ads.indicators import indicators_markdown

    docs = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"
    assert docs.read_text("utf-8") == indicators_markdown(), (
        "docs/indicators.md is stale: run scripts/indicators_doc.py"
    )
