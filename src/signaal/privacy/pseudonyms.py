"""Keyed pseudonyms of identifiers that can point to a person.

A pseudonym is HMAC-SHA256 over a kind prefix and the canonical value, keyed with the deployment's
pseudonym key. Partners that share the key can discover that they hold the same contact point
(hit/no-hit) without exchanging it; without the key a pseudonym cannot be reversed by trying all
phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(kind: str, canonical_value: str, key: str | bytes, length: int = 16) -> str:
    """Return a stable pseudonym such as ``phone:3f9a…`` for a canonical identifier.

    ``kind`` separates namespaces, so the same string as an e-mail and as a handle differs.
    ``length`` is the number of hex characters kept (16 = 64 bits, ample for hit/no-hit).
    """
    if not canonical_value:
        raise ValueError("cannot pseudonymise an empty value")
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    digest = hmac.new(key_bytes, f"{kind}\x1f{canonical_value}".encode(), hashlib.sha256)
    return f"{kind}:{digest.hexdigest()[:length]}"
