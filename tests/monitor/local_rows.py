"""A small synthetic stored run with known answers for "Mijn gemeente" (no real data).

NOW is Wednesday 25 November 2026, in ISO week 2026-W48 (from Monday 23 November).

- P1 advertises in 's-Gravenhage in W46 (indicator A05), moves to Utrecht in W47 and comes back
  in W48: in 's-Gravenhage before, so no arrival in W48;
- P2..P6 first appear in 's-Gravenhage in W48 (five arrivals); P2 has A05 and B02, P3 A05;
- P7 advertises in Utrecht in W47; P8 in Amsterdam in W48 with A05; one ad has no municipality.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
W46 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
W47 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
W48 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
HAGUE = "'s-Gravenhage"


def local_rows(tag: str = "") -> dict[str, list[dict[str, object]]]:
    ads: list[tuple[str, str, str | None, datetime, str]] = [
        ("A1", "P1", HAGUE, W46, "A05"),
        ("A2", "P1", "Utrecht", W47, ""),
        ("A3", "P1", HAGUE, W48, ""),
        ("A4", "P2", HAGUE, W48, "A05 B02"),
        ("A5", "P3", HAGUE, W48, "A05"),
        ("A6", "P4", HAGUE, W48, ""),
        ("A7", "P5", HAGUE, W48, ""),
        ("A8", "P6", HAGUE, W48 + timedelta(days=1), ""),
        ("A9", "P7", "Utrecht", W47, ""),
        ("A10", "P8", "Amsterdam", W48, "A05"),
        ("A11", "P8", None, W48, ""),
    ]
    moves: list[tuple[str, str | None, str, datetime]] = [
        ("P1", None, HAGUE, W46),
        ("P1", HAGUE, "Utrecht", W47),
        ("P1", "Utrecht", HAGUE, W48),
        *((p, None, HAGUE, W48) for p in ("P2", "P3", "P4", "P5", "P6")),
        ("P7", None, "Utrecht", W47),
        ("P8", None, "Amsterdam", W48),
    ]
    personas = sorted({persona for _, persona, *_ in ads})
    return {
        "ads": [
            {
                "ad_id": f"{ad}{tag}",
                "persona_id": f"{persona}{tag}",
                "network_id": f"N1{tag}",
                "risk_score": 50,
                "risk_level": "review",
                "indicators": indicators,
                "posted_at": at,
                "site": "synthetisch.example",
                "municipality": municipality,
                "title": f"Synthetische advertentie {ad}{tag}",
                "text": "Synthetische tekst",
            }
            for ad, persona, municipality, at, indicators in ads
        ],
        "personas": [
            {
                "persona_id": f"{persona}{tag}",
                "network_id": f"N1{tag}",
                "n_ads": 1,
                "municipalities": HAGUE,
                "risk_score": 50,
                "reasons": "synthetisch",
            }
            for persona in personas
        ],
        "networks": [
            {
                "network_id": f"N1{tag}",
                "n_personas": len(personas),
                "n_ads": len(ads),
                "contact_points": "",
                "municipalities": HAGUE,
                "risk_score": 50,
                "reasons": "synthetisch",
            }
        ],
        "movements": [
            {
                "persona_id": f"{persona}{tag}",
                "network_id": f"N1{tag}",
                "from_municipality": source,
                "to_municipality": target,
                "at": at,
            }
            for persona, source, target, at in moves
        ],
    }
