"""Contact points in indicator evidence, reasons, quarantined lines and report.html: masked."""

from __future__ import annotations

from signaal.ads.indicators import detect
from signaal.ads.masking import contact_spans, mask_raw_line, masked_evidence
from signaal.ads.normalise import normalise
from signaal.ads.report import marked_text
from signaal.ads.types import IndicatorHit

from .conftest import RecordFactory


def test_evidence_that_overlaps_a_contact_point_is_widened_and_masked() -> None:
    text = "app whatsapp: annatest123 nu"
    spans = contact_spans(text, "text")
    assert spans
    start = text.index("whatsapp")
    evidence = masked_evidence(text, start, start + len("whatsapp"), spans)
    assert evidence is not None
    assert "annatest123" not in evidence
    assert "whatsapp:a•••••" in evidence
    assert masked_evidence(text, 0, 3, spans) is None  # "app" covers no contact point


def test_a09_of_every_disguise_carries_the_mask(make_record: RecordFactory) -> None:
    for written in ("O6.94.32.09.89", "nul zes negen vier drie twee nul negen acht negen"):
        record = make_record(text=f"Bel {written} schat", phones=[])
        hits = [h for h in detect(normalise(record)) if h.indicator_id == "A09"]
        assert [h.evidence for h in hits] == ["[06-•••••89]"]
        assert hits[0].span is not None
        assert record.text[hits[0].span[0] : hits[0].span[1]] == written


def test_quarantined_lines_are_masked_also_after_json_escapes() -> None:
    raw = '{"text": "bel 06-94329998\\n0694329997 of mail q@example.nl", "x": "\\"0694329996'
    masked = mask_raw_line(raw)
    for clear in ("06-94329998", "0694329997", "q@example.nl", "0694329996"):
        assert clear not in masked
    assert masked.count("[06-•••••9") == 3
    assert mask_raw_line("niets bijzonders, 150 euro") == "niets bijzonders, 150 euro"


def test_report_text_masks_contact_points_also_inside_a_marked_cue() -> None:
    text = "Bel O6.94.32.09.89 <b>nu</b> 24/7"
    masks = contact_spans(text, "text")
    hits = [
        IndicatorHit("A09", "A", 2, "text", (4, 8), "O6.9"),  # a cue over part of the number
        IndicatorHit("A05", "A", 2, "text", (29, 33), "24/7"),
    ]
    html = str(marked_text(text, hits, {}, masks))
    assert "O6" not in html
    assert "94.32" not in html
    assert html.count("[06-•••••89]") == 1
    assert "&lt;b&gt;" in html  # still escaped
    assert html.count("<mark") == 2
