"""Hand-made ad records for the ads tests (unallocated phone numbers only: +31 6 9xxxxxxx)."""

from __future__ import annotations

from typing import Any


def record_json(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test:1",
        "site": "test",
        "url": "https://example.test/ads/1",
        "posted_at": "2026-03-02T10:00:00+01:00",
        "title": "Anna",
        "text": "Hoi, ik ben Anna. Bel me voor een afspraak.",
        "city": "Utrecht",
        "phones": ["06-90000001"],
        "emails": [],
        "handles": [],
        "name": "Anna",
        "age": 27,
        "origin": None,
        "category": "escort",
        "prices": {"30min": 80, "60min": 150},
        "images": [],
    }
    base.update(overrides)
    return base
