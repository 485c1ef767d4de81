"""The ad record: the input contract of the ads pipeline (see ``ad-record.schema.json``).

The field names are a contract other tools rely on: keep them, extend only by adding. Unknown
fields in an input record are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

#: The fields every ad record has, in the order of the schema.
AD_RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "site",
    "url",
    "posted_at",
    "title",
    "text",
    "city",
    "phones",
    "emails",
    "handles",
    "name",
    "age",
    "origin",
    "category",
    "prices",
    "images",
)


@cache
def ad_record_schema() -> dict[str, Any]:
    """The JSON Schema of an ad record, as shipped in the package."""
    text = resources.files("signaal.ads").joinpath("ad-record.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, slots=True)
class AdRecord:
    """One advertisement as seen on a site at one moment (a repost is a new record)."""

    id: str
    site: str
    url: str
    posted_at: str
    title: str
    text: str
    city: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    handles: tuple[str, ...]
    name: str | None
    age: int | None
    origin: str | None
    category: str | None
    prices: dict[str, float | None]
    images: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AdRecord:
        """Build a record from a schema-valid JSON object (validate first)."""
        # A valid object holds every field, so as many keys as fields means no extras.
        extra = (
            {}
            if len(obj) == _FIELD_COUNT
            else {k: v for k, v in obj.items() if k not in _FIELD_SET}
        )
        return cls(
            id=obj["id"],
            site=obj["site"],
            url=obj["url"],
            posted_at=obj["posted_at"],
            title=obj["title"],
            text=obj["text"],
            city=obj["city"],
            phones=tuple(obj["phones"]),
            emails=tuple(obj["emails"]),
            handles=tuple(obj["handles"]),
            name=obj["name"],
            age=obj["age"],
            origin=obj["origin"],
            category=obj["category"],
            prices=dict(obj["prices"]),
            images=tuple(obj["images"]),
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object with the schema's field names, extras last."""
        out: dict[str, Any] = {
            "id": self.id,
            "site": self.site,
            "url": self.url,
            "posted_at": self.posted_at,
            "title": self.title,
            "text": self.text,
            "city": self.city,
            "phones": list(self.phones),
            "emails": list(self.emails),
            "handles": list(self.handles),
            "name": self.name,
            "age": self.age,
            "origin": self.origin,
            "category": self.category,
            "prices": dict(self.prices),
            "images": list(self.images),
        }
        out.update(self.extra)
        return out


_FIELD_SET = frozenset(AD_RECORD_FIELDS)
_FIELD_COUNT = len(_FIELD_SET)
