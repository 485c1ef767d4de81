"""The reason renderer: plain Dutch and English sentences from reason facts, masked always."""

from __future__ import annotations

import re

import pytest

from signaal.ads.explain import explain, from_text, parse_reasons
from signaal.ads.outputs import reason_record, reasons_json
from signaal.ads.types import Reason, ReasonFacts

PHONE = "phone:8408aa11bb22cc33"

#: One reason of every kind, as ``reasons_json`` stores it.
RECORDS = {
    "cue": {"id": "A05", "family": "A", "points": 2, "kind": "cue", "field": "text",
            "evidence": "24/7 beschikbaar", "ad_id": "site:1"},
    "age": {"id": "B01", "family": "B", "points": 1, "kind": "cue", "field": "age",
            "evidence": "19", "ad_id": "site:1"},
    "combination": {"id": "E01", "family": "E", "points": 3, "kind": "cue", "field": "ad",
                    "evidence": "A04 + B01"},
    "shared_contact": {"id": "C01", "family": "C", "points": 3, "kind": "shared_contact",
                       "figures": {"personas": 6}, "ad_ids": ["site:1", "site:2"],
                       "contact": PHONE, "contact_kind": "phone", "masked": "06-•••••89"},
    "shared_photo": {"id": "C02", "family": "C", "points": 2, "kind": "shared_photo",
                     "figures": {"personas": 3}, "cluster": "photo:4"},
    "stolen_photo": {"id": "C02", "family": "C", "points": 0, "kind": "stolen_photo",
                     "figures": {"others": 1}, "cluster": "photo:5"},
    "shared_template": {"id": "C03", "family": "C", "points": 2, "kind": "shared_template",
                        "figures": {"personas": 4}, "cluster": "template:7"},
    "network_size": {"id": "C04", "family": "C", "points": 1, "kind": "network_size",
                     "figures": {"personas": 5}, "network": "N-abc", "uncapped": 2, "cap": 6},
    "foreign_phone": {"id": "C06", "family": "C", "points": 1, "kind": "foreign_phone",
                      "prefixes": ["+32"]},
    "D01": {"id": "D01", "family": "D", "points": 2, "kind": "movement",
            "figures": {"municipalities": 3, "window_days": 30},
            "municipalities": ["Utrecht", "Zeist", "Ede"], "start": "2026-01-08",
            "end": "2026-01-19"},
    "D02": {"id": "D02", "family": "D", "points": 3, "kind": "movement",
            "figures": {"personas": 3, "municipalities": 2, "window_days": 3},
            "municipalities": ["Venlo", "Ede"]},
    "D03": {"id": "D03", "family": "D", "points": 1, "kind": "movement",
            "figures": {"active_days": 10, "span_days": 12}, "start": "2026-03-25",
            "end": "2026-04-05"},
    "D04": {"id": "D04", "family": "D", "points": 2, "kind": "movement",
            "figures": {"personas": 7, "regular": 3, "min_days": 5, "max_days": 17}},
    "capped": {"id": "C03", "family": "C", "points": 0, "kind": "shared_template",
               "figures": {"personas": 2}, "uncapped": 2, "cap": 3, "situation": "stationary"},
}  # fmt: skip

DUTCH = {
    "cue": "De tekst van een advertentie zegt: “24/7 beschikbaar”.",
    "age": "De advertentie geeft een leeftijd van 19 jaar.",
    "combination": "In één advertentie komen deze signalen samen voor: Jeugdtaal en "
    "Opgegeven leeftijd 18-20.",
    "shared_contact": "Hetzelfde telefoonnummer (06-•••••89) staat in advertenties van 6 "
    "verschillende persona's.",
    "shared_photo": "Dezelfde foto's worden gebruikt door 3 persona's van één netwerk.",
    "stolen_photo": "Dezelfde foto's werden eerder gebruikt door 1 persona zonder ander "
    "verband: mogelijk gestolen foto's.",
    "shared_template": "Bijna dezelfde advertentietekst wordt gebruikt door 4 persona's.",
    "network_size": "Deze persona hoort bij een netwerk van 5 persona's.",
    "foreign_phone": "Een buitenlands telefoonnummer (+32…) bij een advertentie in een "
    "Nederlandse gemeente.",
    "D01": "Geadverteerd in 3 gemeenten binnen 30 dagen: Utrecht, Zeist en Ede "
    "(8 januari 2026 tot 19 januari 2026).",
    "D02": "3 persona's van dit netwerk kwamen samen (binnen 3 dagen) aan in 2 gemeenten: "
    "Venlo en Ede.",
    "D03": "Er stonden advertenties op 10 van de 12 dagen (25 maart 2026 tot 5 april 2026), "
    "met tekst over dag en nacht beschikbaar zijn.",
    "D04": "Op één telefoon begonnen 7 persona's na elkaar, 3 ervan telkens 5 tot 17 dagen later.",
    "capped": "Bijna dezelfde advertentietekst wordt gebruikt door 2 persona's.",
}

ENGLISH = {
    "cue": "The text of an ad says: “24/7 beschikbaar”.",
    "age": "The ad gives an age of 19.",
    "combination": "These cues occur together in one ad: Youth language and Stated age 18-20.",
    "shared_contact": "The same phone number (06-•••••89) appears in ads of 6 different personas.",
    "shared_photo": "The same photos are used by 3 personas of one network.",
    "stolen_photo": "The same photos were used earlier by 1 persona with no other link: "
    "possibly stolen photos.",
    "shared_template": "Nearly the same ad text is used by 4 personas.",
    "network_size": "This persona belongs to a network of 5 personas.",
    "foreign_phone": "A foreign phone number (+32…) in an ad for a Dutch municipality.",
    "D01": "Advertised in 3 municipalities within 30 days: Utrecht, Zeist and Ede "
    "(8 January 2026 to 19 January 2026).",
    "D02": "3 personas of this network arrived together (within 3 days) in 2 municipalities: "
    "Venlo and Ede.",
    "D03": "Ads appeared on 10 of 12 days (25 March 2026 to 5 April 2026), with wording about "
    "being available day and night.",
    "D04": "7 personas started one after another on one phone, 3 of them 5 to 17 days apart.",
    "capped": "Nearly the same ad text is used by 2 personas.",
}

# A pseudonym, a cluster, a network id or an ad id: none of them belongs in a sentence.
RAW_ID = re.compile(r"(phone|email|handle|website):[0-9a-f]{6,}|photo:\d|template:\d|N-abc|site:")


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_kind_reads_as_a_plain_sentence_in_dutch_and_english(name: str) -> None:
    [dutch] = explain([RECORDS[name]])
    [english] = explain([RECORDS[name]], lang="en")
    assert dutch.sentence == DUTCH[name]
    assert english.sentence == ENGLISH[name]
    for explained in (dutch, english):
        assert not RAW_ID.search(explained.sentence + explained.note)
        assert explained.label
        assert explained.label != explained.indicator_id
        assert explained.source
        assert explained.href == f"#indicator-{explained.indicator_id}"


def test_the_cap_and_a_reason_that_does_not_count_are_explained() -> None:
    [capped] = explain([RECORDS["capped"]])
    assert capped.note == (
        "Telt voor 0 van de 2 punten: signalen van familie C tellen samen hoogstens 3 punten, "
        "want de gekoppelde persona's verplaatsen zich niet."
    )
    [stolen] = explain([RECORDS["stolen_photo"]], lang="en")
    assert stolen.note.startswith("Does not count towards the score")
    [size] = explain([RECORDS["network_size"]], subject="network")
    assert size.sentence == "Dit netwerk telt 5 persona's."
    assert size.points == "+1"


def test_ids_and_pseudonyms_travel_beside_the_sentence_for_links_and_the_reveal_flow() -> None:
    [cue, shared] = explain([RECORDS["cue"], RECORDS["shared_contact"]], href="/i#{id}")
    assert cue.ad_id == "site:1"
    assert shared.contact == PHONE
    assert shared.href == "/i#C01"


def test_contact_points_are_masked_unless_the_viewer_may_see_them() -> None:
    record = {**RECORDS["cue"], "evidence": "bel 0612345678 nu"}
    [explained] = explain([record])
    assert "0612345678" not in explained.sentence
    assert "•••••78" in explained.sentence
    [hidden] = explain([RECORDS["shared_contact"]])
    assert "06-•••••89" in hidden.sentence
    [shown] = explain([RECORDS["shared_contact"]], reveal={PHONE: "+31612345689"})
    assert "+31612345689" in shown.sentence
    # Without a masked form (a contact the tables did not know) nothing of it is shown.
    bare = {k: v for k, v in RECORDS["shared_contact"].items() if k != "masked"}
    [plain] = explain([bare])
    assert plain.sentence == "Hetzelfde telefoonnummer staat in advertenties van 6 " + (
        "verschillende persona's."
    )


def test_a_run_stored_before_the_facts_shows_its_analyst_text_masked() -> None:
    records = from_text("C01 +3: phone shared by 4 personas; A05 +2: text: 'bel 0612345678'")
    assert [r["id"] for r in records] == ["C01", "A05"]
    explained = explain(records)
    assert explained[0].sentence == "phone shared by 4 personas"
    assert "0612345678" not in explained[1].sentence
    assert explained[1].points == "+2"
    assert parse_reasons("") is None
    assert parse_reasons("not json") is None


def test_reason_facts_round_trip_through_the_json_column() -> None:
    reason = Reason(
        "C01",
        "C",
        3.0,
        f"phone {PHONE} shared by 6 personas",
        ReasonFacts("shared_contact", figures=(("personas", 6),), contact=PHONE,
                    contact_kind="phone"),
    )  # fmt: skip
    record = reason_record(reason, {PHONE: "06-•••••89"})
    assert record["masked"] == "06-•••••89"
    assert record["figures"] == {"personas": 6}
    parsed = parse_reasons(reasons_json([reason], {PHONE: "06-•••••89"}))
    assert parsed == [record]
    [explained] = explain(parsed or [])
    assert explained.sentence == DUTCH["shared_contact"]
