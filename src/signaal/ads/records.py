"""The ad record: the input contract of the ads pipeline (see ``ad-record.schema.json``).

The field names are a contract other tools rely on: keep them, extend only by adding. Unknown
fields in an input record are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
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


# ----------------------------------------------------------------------------------------------
# Content: what a repost repeats

#: The fields whose values are an ad's content: a repost repeats them under a new id, address
#: and time. They are exactly the fields the per-ad stages read (``normalise.normalise`` and
#: ``indicators.detect``), so two records with the same content get the same normalised form
#: and hits, and the engines analyse such content once (``signaal.engines.reposts``).
CONTENT_FIELDS: tuple[str, ...] = (
    "title",
    "text",
    "city",
    "phones",
    "emails",
    "handles",
    "age",
    "prices",
)
# The content fields that hold strings (or tuples of them) a repost can share with its original.
_SHAREABLE_CONTENT = ("title", "text", "city", "phones", "emails", "handles")

ContentKey = tuple[object, ...]


def content_key(record: AdRecord) -> ContentKey:
    """The content of ``record`` (:data:`CONTENT_FIELDS`) as one hashable value."""
    return (
        record.title,
        record.text,
        record.city,
        record.phones,
        record.emails,
        record.handles,
        record.age,
        tuple(record.prices.items()),
    )


def object_content_key(obj: dict[str, Any]) -> ContentKey:
    """The content key of a JSON object as read from a line, before it is validated: for a
    valid record it equals ``content_key(AdRecord.from_json(obj))``. Hashing it raises
    TypeError for nested values that cannot be hashed (no valid record has them)."""
    get = obj.get
    phones, emails, handles, prices = get("phones"), get("emails"), get("handles"), get("prices")
    key = (
        get("title"),
        get("text"),
        get("city"),
        tuple(phones) if type(phones) is list else phones,
        tuple(emails) if type(emails) is list else emails,
        tuple(handles) if type(handles) is list else handles,
        get("age"),
        tuple(prices.items()) if type(prices) is dict else prices,
    )
    return key


def same_content(a: AdRecord, b: AdRecord) -> bool:
    """``content_key(a) == content_key(b)``, cheapest comparison first."""
    return a.text == b.text and content_key(a) == content_key(b)


def sharing_content(record: AdRecord, original: AdRecord) -> AdRecord:
    """``record`` with the (equal) content values of ``original``: one copy of each text."""
    return replace(record, **{name: getattr(original, name) for name in _SHAREABLE_CONTENT})
