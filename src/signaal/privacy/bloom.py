"""Keyed Bloom-filter encodings (CLK-style) of identifying fields, compared by Dice coefficient.

A field's normalised value is cut into tokens (padded bigrams for names and phones, date variants
for birth dates); each token sets ``k`` bits of an ``m``-bit array. The bit positions come from
keyed BLAKE2b (``hashlib.blake2b(key=...)``) with one key per purpose and field, derived from a
deployment secret with HKDF-SHA256. Two encodings of similar values share most of their bits, so
the Dice coefficient of the bit arrays approximates the Dice coefficient of the token sets.

Mitigations against frequency and pattern attacks (see docs/matching.md for what remains):

- keyed hashing: without the key nobody can compute which bits a bigram sets, so a dictionary of
  names cannot be encoded and compared;
- one key per field (and per purpose): the bigram "an" sets different bits in a first name than in
  a surname, so bit frequencies cannot be pooled over fields and a leaked key of one purpose does
  not open another;
- random hashing instead of double hashing: each token's ``k`` positions are independent digest
  bytes, not ``h1 + i*h2``, which removes the structure the known pattern-mining attacks on
  double-hashed Bloom filters exploit.

Bit arrays are Python ints; comparison is ``(a & b).bit_count()``, fast without numpy.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEFAULT_BITS = 1024
DEFAULT_HASHES = 15


def derive_key(secret: str | bytes, purpose: str, field: str) -> bytes:
    """A 32-byte key for one purpose and field, from the deployment's secret (HKDF-SHA256)."""
    material = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not material:
        raise ValueError("an empty secret cannot key an encoding")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"signaal-bloom-v1",
        info=f"{purpose}\x1f{field}".encode(),
    )
    return hkdf.derive(material)


class BloomEncoder:
    """Encodes token sets of one field under one key into ``bits``-bit filters.

    The filter of each token is cached (bigrams repeat across records); the cache lives in
    this process only and holds no more than the filters themselves reveal."""

    def __init__(self, key: bytes, bits: int = DEFAULT_BITS, hashes: int = DEFAULT_HASHES) -> None:
        if bits < 8 or bits & (bits - 1) or bits > 1 << 16:
            raise ValueError("bits must be a power of two between 8 and 65536")
        if not 1 <= hashes <= 32:
            raise ValueError("hashes must be between 1 and 32")
        self.key, self.bits, self.hashes = key, bits, hashes
        self._unpack = struct.Struct(f">{hashes}H").unpack
        self.token_filter = lru_cache(maxsize=65_536)(self._token_filter)

    def positions(self, token: str) -> list[int]:
        """The ``hashes`` bit positions that one token sets (independent keyed digest bytes)."""
        digest = hashlib.blake2b(
            token.encode("utf-8"), key=self.key, digest_size=2 * self.hashes
        ).digest()
        mask = self.bits - 1
        return [value & mask for value in self._unpack(digest)]

    def _token_filter(self, token: str) -> int:
        value = 0
        for position in self.positions(token):
            value |= 1 << position
        return value

    def encode(self, tokens: Iterable[str]) -> int:
        """The filter of a token set as an int (bit i set = position i); 0 for no tokens."""
        value = 0
        for token in tokens:
            value |= self.token_filter(token)
        return value


def dice(a: int, b: int) -> float:
    """Dice coefficient of two filters: 2|a∧b| / (|a| + |b|); 0.0 when both are empty."""
    total = a.bit_count() + b.bit_count()
    if total == 0:
        return 0.0
    return 2 * (a & b).bit_count() / total


def bigrams(value: str, pad: str = "_") -> list[str]:
    """Padded bigrams of a normalised value: "jan" → _j ja an n_ (empty for an empty value)."""
    if not value:
        return []
    padded = f"{pad}{value}{pad}"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def to_bytes(value: int, bits: int = DEFAULT_BITS) -> bytes:
    """A filter as fixed-length bytes, for storage."""
    return value.to_bytes(bits // 8, "big")


def from_bytes(data: bytes) -> int:
    """A filter read back from :func:`to_bytes`."""
    return int.from_bytes(data, "big")
