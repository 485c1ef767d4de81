"""What crosses from a worker process to the main one: equal objects, and one copy of the strings
that many ads repeat."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

import orjson

from signaal.engines.chunks import ChunkResult, LineChunk, process_line_chunk


def _line(number: int, city: str) -> bytes:
    return orjson.dumps(
        {
            "id": f"ad-{number}",
            "site": "example-ads.nl",
            "url": f"https://example-ads.nl/{number}",
            "posted_at": f"2026-11-{number:02d}T10:00:00Z",
            "title": "Nieuw in de stad",
            "text": f"Hoi, ik ben Lisa, 22 jaar. Bel 06-1234567{number % 10} 24/7. Ad {number}",
            "city": city,
            "phones": [f"0612345{number:03d}"],
            "emails": [],
            "handles": [],
            "name": "Lisa",
            "age": 22,
            "origin": None,
            "category": "escort",
            "prices": {"1h": 150},
            "images": [],
        }
    )


def _across_processes(result: ChunkResult) -> ChunkResult:
    loaded = pickle.loads(bytes(ForkingPickler.dumps(result)))
    assert isinstance(loaded, ChunkResult)
    return loaded


def _analysed(numbers: range, city: str) -> ChunkResult:
    chunk = LineChunk("ads.jsonl", tuple((n, _line(n, city)) for n in numbers))
    return process_line_chunk(chunk)


def test_chunk_results_arrive_equal() -> None:
    result = _analysed(range(1, 4), "Utrecht")
    assert _across_processes(result) == result


def test_repeated_strings_arrive_as_one_object_across_chunks() -> None:
    # Two chunks, pickled separately (as two workers' results are): each brings its own copy.
    first = _across_processes(_analysed(range(1, 3), "".join(["Utr", "echt"])))
    second = _across_processes(_analysed(range(3, 5), "".join(["Utre", "cht"])))
    ads = [r.ad for r in (*first.results, *second.results)]
    assert all(ad is not None for ad in ads)
    records = [ad.record for ad in ads if ad is not None]
    for field in ("site", "title", "city", "name", "category"):
        values = {id(getattr(record, field)) for record in records}
        assert len(values) == 1, field
    hits = [h for r in (*first.results, *second.results) for h in r.hits if h.evidence]
    by_evidence: dict[str, set[int]] = {}
    for hit in hits:
        by_evidence.setdefault(hit.evidence, set()).add(id(hit.evidence))
    assert any(len(ads) > 1 for ads in [[h for h in hits if h.evidence == e] for e in by_evidence])
    assert all(len(ids) == 1 for ids in by_evidence.values())
    # Values that differ stay apart: the ids, the texts.
    assert len({record.id for record in records}) == 4
