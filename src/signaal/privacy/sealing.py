"""Sealed clear values of contact points: AES-GCM, so the store holds them but cannot read them.

The app store keeps contact points as pseudonyms. For the few roles that need the number itself
(an outreach worker calling back), each run also keeps the clear value sealed:

    sealed = "v1." + base64url(nonce (12 bytes) || AES-256-GCM ciphertext with its 16-byte tag)

- The key is derived from ``settings.contact_key`` with HKDF-SHA256 (info ``signaal contact
  seal v1``), so the setting is never used as a key directly and a later format can derive
  another key from the same setting.
- The nonce is random (``os.urandom``) per value: sealing the same number twice gives
  different texts, so equal sealed texts do not reveal equal numbers.
- The associated data binds the run id and the pseudonym: a sealed value copied to another row
  (another run, another pseudonym) does not open, so someone with write access to the database
  cannot make the app reveal number A under the pseudonym of number B.
- The version prefix lets a new format be introduced while old rows still open.

Whoever has the database but not the contact key learns nothing from a sealed value; whoever
has the key can open every value, so the key lives outside the database (settings only).
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

VERSION = "v1"
_NONCE_BYTES = 12
_INFO = b"signaal contact seal v1"
_SALT = b"signaal/contact-points"


class SealError(SignaalError):
    """A sealed value does not open: another key, another row, damaged or of an unknown format.

    Never shown with the value (there is none): the store holds something the app did not
    write, or the contact key changed."""

    code = "sealed_value_invalid"
    http_status = 500


def _key(contact_key: str | bytes) -> bytes:
    material = contact_key.encode("utf-8") if isinstance(contact_key, str) else contact_key
    if not material:
        raise ValueError("the contact key is empty")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(material)


def _associated(run_id: int, pseudonym: str) -> bytes:
    return f"{VERSION}\x1frun\x1f{run_id}\x1fpseudonym\x1f{pseudonym}".encode()


class Sealer:
    """Seals and opens contact points with one derived key (derive once, seal many)."""

    def __init__(self, contact_key: str | bytes) -> None:
        self._aead = AESGCM(_key(contact_key))

    def seal(self, value: str, *, run_id: int, pseudonym: str) -> str:
        """The sealed text of ``value`` for the row (``run_id``, ``pseudonym``)."""
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(
            nonce, value.encode("utf-8"), _associated(run_id, pseudonym)
        )
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + ciphertext).decode('ascii')}"

    def open(self, sealed: str, *, run_id: int, pseudonym: str) -> str:
        """The clear value of a sealed text of the row (``run_id``, ``pseudonym``)."""
        version, dot, body = sealed.partition(".")
        if not dot or version != VERSION:
            raise SealError(f"sealed contact point of unknown format {version[:8]!r}")
        try:
            data = base64.b64decode(body.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise SealError("sealed contact point is not valid base64") from exc
        if len(data) <= _NONCE_BYTES + 16:
            raise SealError("sealed contact point is too short")
        nonce, ciphertext = data[:_NONCE_BYTES], data[_NONCE_BYTES:]
        try:
            clear = self._aead.decrypt(nonce, ciphertext, _associated(run_id, pseudonym))
        except InvalidTag as exc:
            raise SealError(
                "sealed contact point does not open: another key, another row, or damaged"
            ) from exc
        return clear.decode("utf-8")


def seal(contact_key: str | bytes, value: str, *, run_id: int, pseudonym: str) -> str:
    return Sealer(contact_key).seal(value, run_id=run_id, pseudonym=pseudonym)


def open_sealed(contact_key: str | bytes, sealed: str, *, run_id: int, pseudonym: str) -> str:
    return Sealer(contact_key).open(sealed, run_id=run_id, pseudonym=pseudonym)
