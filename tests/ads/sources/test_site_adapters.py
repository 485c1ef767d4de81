"""Site adapters read every generated page back into the record it was made from."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from signaal.ads.records import AD_RECORD_FIELDS
from signaal.ads.sources.sites import parse_page, parse_pages, site_specs
from signaal.ads.types import Quarantined
from signaal.errors import RecordError
from signaal.synth import SynthConfig, generate
from signaal.synth.pages import page_path, render_page


@pytest.fixture(scope="module")
def pages_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    generate(SynthConfig(seed=21, ads=4000, page_share=0.15, photos=False), out, workers=1)
    return out


def test_every_page_parses_back_to_its_record(pages_corpus: Path) -> None:
    records = {
        r["id"]: r
        for r in map(orjson.loads, (pages_corpus / "ads.jsonl").read_bytes().splitlines())
    }
    pages = sorted((pages_corpus / "pages").rglob("*.html"))
    assert len(pages) > 300
    sites = set()
    for result in parse_pages(pages):
        assert not isinstance(result, Quarantined), result
        original = records[result.id]
        assert result.to_json() == original
        sites.add(result.site)
    assert sites == {s["site"] for s in site_specs()}


def test_page_of_a_record_with_images_and_every_field() -> None:
    record = {
        "id": "escortgids:20260105-0000abcde",
        "site": "escortgids.example",
        "url": "https://escortgids.example/profiel/mia/20260105-0000abcde",
        "posted_at": "2026-03-30T21:05:09+02:00",
        "title": "Mia <3 & co",
        "text": "Regel één\nRegel twee  met  spaties & <tags>",
        "city": "Den Haag",
        "phones": ["06 91 23 45 67"],
        "emails": ["mia.x1@example.com"],
        "handles": ["telegram:@mia_x1"],
        "name": "Mia",
        "age": 24,
        "origin": "Latina",
        "category": "escort",
        "prices": {"60min": 150.0, "120min": None},
        "images": ["photos/escortgids/0123456789abcdef.jpg"],
    }
    page = render_page("escortgids", record)
    assert parse_page(page, source="x.html").to_json() == record
    assert page_path("escortgids", record) == "pages/escortgids/20260105-0000abcde.html"


def test_a_broken_page_names_the_file_and_field(pages_corpus: Path, tmp_path: Path) -> None:
    page = next((pages_corpus / "pages" / "roodlicht").glob("*.html"))
    html = page.read_text("utf-8")
    broken = html.replace('class="ad-title"', 'class="kop"')
    with pytest.raises(RecordError) as info:
        parse_page(broken, source="broken.html")
    assert info.value.field == "title"
    assert "broken.html" in str(info.value)
    assert "h1.ad-title" in str(info.value)

    bad_age = re.sub(r'class="leeftijd">[^<]*<', 'class="leeftijd">onbekend<', html)
    assert bad_age != html
    with pytest.raises(RecordError, match="no number in 'onbekend'") as info:
        parse_page(bad_age, source="age.html")
    assert info.value.field == "age"

    with pytest.raises(RecordError, match="not an ad page"):
        parse_page("<html><body><p>hallo</p></body></html>", source="other.html")

    (tmp_path / "bad.html").write_text(broken, "utf-8")
    (tmp_path / "good.html").write_text(html, "utf-8")
    results = list(parse_pages([tmp_path / "bad.html", tmp_path / "good.html"]))
    assert isinstance(results[0], Quarantined)
    assert results[0].field == "title"
    assert results[0].raw == broken
    assert not isinstance(results[1], Quarantined)


def test_every_site_entry_names_every_field() -> None:
    for spec in site_specs():
        assert set(spec["fields"]) | {"site"} == set(AD_RECORD_FIELDS)
