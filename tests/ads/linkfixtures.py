"""Builders of ``NormalisedAd`` values for the link, movement and risk tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signaal.ads.records import AdRecord
from signaal.ads.types import ContactKind, ContactPoint, IndicatorHit, NormalisedAd

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def make_ad(
    ad_id: str,
    *,
    name: str | None = "Anna",
    age: int | None = 24,
    phone: str | None = "+31690000001",
    emails: tuple[str, ...] = (),
    text: str = "",
    city: str | None = "Utrecht",
    day: float = 0.0,
    images: tuple[str, ...] = (),
) -> NormalisedAd:
    contacts = []
    if phone:
        contacts.append(ContactPoint(ContactKind.PHONE, phone, "field"))
    for email in emails:
        contacts.append(ContactPoint(ContactKind.EMAIL, email, "field"))
    record = AdRecord(
        id=ad_id,
        site="roodlicht",
        url=f"https://example.invalid/{ad_id}",
        posted_at=(T0 + timedelta(days=day)).isoformat(),
        title="",
        text=text,
        city=city,
        phones=(phone,) if phone else (),
        emails=emails,
        handles=(),
        name=name,
        age=age,
        origin=None,
        category="escort",
        prices={},
        images=images,
    )
    return NormalisedAd(
        record=record,
        posted_at=T0 + timedelta(days=day),
        contacts=tuple(contacts),
        municipality=city,
        age=age,
        price_per_hour=None,
        language="nl",
    )


def hit(indicator_id: str, weight: float = 1.0, evidence: str = "x") -> IndicatorHit:
    return IndicatorHit(indicator_id, indicator_id[0], weight, "text", None, evidence)
