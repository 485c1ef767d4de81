"""The match service's wire format, shared by the service and the deployments' client.

An encoding travels as its five filters, each base64 of exactly ``FILTER_BYTES`` bytes (the
1,024-bit Bloom filters of :mod:`signaal.privacy.bloom`) or null when the field is unknown, and
its keyed blocking keys (16 hex digits each). A birth date and at least one name are required:
without them :func:`signaal.privacy.matching.is_match` never decides a hit, so such a record
could only serve to probe phones. References are the submitting deployment's own opaque keys.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from signaal.privacy.bloom import DEFAULT_BITS, from_bytes, to_bytes
from signaal.privacy.matching import Encoding

FILTER_BYTES = DEFAULT_BITS // 8
FILTER_FIELDS = ("first_name", "surname", "birth_date", "birth_date_variants", "phone")
# Four date variants and a phone at most; a little room for a later version.
MAX_BLOCKS = 8
_BLOCK = re.compile(r"[0-9a-f]{16}")
PURPOSE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
REFERENCE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

Purpose = Annotated[str, StringConstraints(pattern=PURPOSE_PATTERN)]
Reference = Annotated[str, StringConstraints(pattern=REFERENCE_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _filter(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 2 * FILTER_BYTES:
        raise ValueError(f"a filter is {FILTER_BYTES} bytes in base64, this is far longer")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if len(raw) != FILTER_BYTES:
        raise ValueError(f"must be {FILTER_BYTES} bytes (base64), got {len(raw)}")
    if not any(raw):
        raise ValueError("an empty filter: send null for an unknown field")
    return value


class RecordIn(_Model):
    reference: Reference
    first_name: str | None = None
    surname: str | None = None
    birth_date: str
    birth_date_variants: str | None = None
    phone: str | None = None
    blocks: list[str] = Field(min_length=1, max_length=MAX_BLOCKS)

    _filters = field_validator(*FILTER_FIELDS)(_filter)

    @field_validator("blocks")
    @classmethod
    def _blocks_are_keys(cls, value: list[str]) -> list[str]:
        for index, block in enumerate(value):
            if not _BLOCK.fullmatch(block):
                raise ValueError(f"blocks[{index}] is not 16 lower-case hex digits")
        return value

    @model_validator(mode="after")
    def _has_a_name(self) -> RecordIn:
        if self.first_name is None and self.surname is None:
            raise ValueError("first_name or surname is required (without a name nothing matches)")
        return self

    def encoding(self) -> Encoding:
        values = {
            name: from_bytes(base64.b64decode(getattr(self, name) or "")) for name in FILTER_FIELDS
        }
        return Encoding(blocks=tuple(sorted(set(self.blocks))), **values)


class SubmissionIn(_Model):
    purpose: Purpose
    records: list[RecordIn] = Field(min_length=1)


class WithdrawalIn(_Model):
    purpose: Purpose
    references: list[Reference] = Field(min_length=1, max_length=1000)


class HitOut(_Model):
    """A hit of one of the caller's records: who else holds the person and how to reach them."""

    reference: str
    organisation: str
    contact_route: str


class HitsOut(_Model):
    hits: list[HitOut]
    next: str | None = None


class WithdrawnOut(_Model):
    withdrawn: int


def record_out(reference: str, encoding: Encoding) -> dict[str, object]:
    """The JSON of one record to submit (the client side of :class:`RecordIn`)."""
    body: dict[str, object] = {"reference": reference, "blocks": sorted(set(encoding.blocks))}
    for name in FILTER_FIELDS:
        value = encoding.field(name)
        body[name] = base64.b64encode(to_bytes(value)).decode("ascii") if value else None
    return body
