"""Encryption at rest of special categories (free text, health, vulnerability): AES-GCM.

The chain's free-text fields (signal texts, case notes, outreach outcomes, vulnerability factors,
referral questions, ...) are stored encrypted; the store's column type
(:class:`signaal.store.encrypted.EncryptedText`) seals on the way in and opens on the way out,
so the rest of the code reads and writes clear text unchanged:

    stored = "e1." + base64url(nonce (12 bytes) || AES-256-GCM ciphertext with its 16-byte tag)

- The key is derived from ``settings.data_key`` with HKDF-SHA256 for one purpose (info ``signaal
  at-rest v1``): the setting is never a key itself, and it is not the contact key (a leak of
  one opens nothing of the other).
- The nonce is random per value: equal texts give different stored values.
- The associated data binds the table and the column: a value copied into another column or
  another table does not open. It does *not* bind the row: the row's id is given by the
  database on insert, after the value is sealed, and sealing twice (insert, then update with the
  id) would leave the clear text in PostgreSQL's dead row versions until a vacuum. A value
  copied to another row of the same column therefore opens; docs/privacy.md says so.
- The version prefix (``e1``) lets a later format (another key, row binding) live beside it.

Whoever has the database but not the data key reads none of these fields; whoever has the key
reads all of them, so the key lives outside the database (settings only).
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from signaal.errors import SignaalError

VERSION = "e1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_INFO = b"signaal at-rest v1"
_SALT = b"signaal/at-rest"


class AtRestError(SignaalError):
    """A stored encrypted field does not open: another data key, copied from another column,
    damaged, or never encrypted (a store not migrated to 0008). The message names the table and
    column, never a value."""

    code = "encrypted_field_invalid"
    http_status = 500


def _derive(data_key: str | bytes) -> bytes:
    material = data_key.encode("utf-8") if isinstance(data_key, str) else data_key
    if not material:
        raise AtRestError(
            "the data key (SIGNAAL_DATA_KEY) is empty: encrypted fields cannot be read or written"
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(material)


def _associated(table: str, column: str) -> bytes:
    return f"{VERSION}\x1ftable\x1f{table}\x1fcolumn\x1f{column}".encode()


def is_encrypted(stored: str) -> bool:
    """Whether ``stored`` has the form of an encrypted field (not whether it opens)."""
    return stored.startswith(f"{VERSION}.")


class FieldCipher:
    """Encrypts and opens the fields of any table with one derived key (derive once)."""

    def __init__(self, data_key: str | bytes) -> None:
        self._aead = AESGCM(_derive(data_key))

    def encrypt(self, value: str, *, table: str, column: str) -> str:
        """The stored form of ``value`` in ``table.column``."""
        return self.encrypt_bytes(value.encode("utf-8"), table=table, column=column)

    def encrypt_bytes(self, value: bytes, *, table: str, column: str) -> str:
        """The stored form of the bytes ``value`` (an image) in ``table.column``: the same
        format as a text's."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value, _associated(table, column))
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, *, table: str, column: str) -> str:
        """The clear text of a value stored in ``table.column``."""
        return self.decrypt_bytes(stored, table=table, column=column).decode("utf-8")

    def decrypt_bytes(self, stored: str, *, table: str, column: str) -> bytes:
        """The clear bytes of a value stored in ``table.column``."""
        where = f"{table}.{column}"
        version, dot, body = stored.partition(".")
        if not dot or version != VERSION:
            raise AtRestError(
                f"{where} holds a value that is not encrypted (or of an unknown format): "
                "is the store migrated (signaal db upgrade)?"
            )
        try:
            data = base64.b64decode(body.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise AtRestError(f"{where} holds an encrypted value that is not valid base64") from exc
        if len(data) < _NONCE_BYTES + _TAG_BYTES:
            raise AtRestError(f"{where} holds an encrypted value that is too short")
        nonce, sealed = data[:_NONCE_BYTES], data[_NONCE_BYTES:]
        try:
            clear = self._aead.decrypt(nonce, sealed, _associated(table, column))
        except InvalidTag as exc:
            raise AtRestError(
                f"{where} holds a value that does not open: another data key "
                "(SIGNAAL_DATA_KEY changed?), copied from another column, or damaged"
            ) from exc
        return clear
