"""Column types that keep special categories encrypted at rest (:mod:`signaal.privacy.at_rest`).

``EncryptedText("signals", "text")`` is a ``TEXT`` column whose values are sealed when written
(ORM, Core inserts and updates alike) and opened when read, so services and templates see clear
text. The key comes from the engine: :func:`signaal.store.db.make_engine` registers the data key
it is given with the engine's dialect (the one thing a column type sees of its connection); an
engine made without one uses the process's settings (``get_settings().data_key``), as the audit
key does for sessions.

``EncryptedBytes`` does the same for binary values (a photo's thumbnail), in the same stored
format (``e1.`` and base64 in a ``TEXT`` column).

Such a column can be neither searched nor sorted in SQL (equal texts are stored differently);
no query of Signaal does either, and a new one must filter in Python after reading.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import Dialect, Text, TypeDecorator

from signaal.privacy.at_rest import AtRestError, FieldCipher

_ciphers: WeakKeyDictionary[Dialect, FieldCipher] = WeakKeyDictionary()


def use_data_key(dialect: Dialect, data_key: str) -> None:
    """Encrypt and open the fields of connections of ``dialect`` (one engine's) with this key."""
    _ciphers[dialect] = FieldCipher(data_key)


def cipher_for(dialect: Dialect) -> FieldCipher:
    """The field cipher of an engine's dialect: its own key, else the settings' data key."""
    found = _ciphers.get(dialect)
    if found is None:
        from signaal.settings import get_settings

        found = FieldCipher(get_settings().data_key)
        _ciphers[dialect] = found
    return found


class EncryptedText(TypeDecorator[str]):
    """Clear text in Python, AES-GCM at rest, bound to its table and column."""

    impl = Text
    cache_ok = True

    def __init__(self, table: str, column: str) -> None:
        super().__init__()
        self.table = table
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_for(dialect).encrypt(value, table=self.table, column=self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_for(dialect).decrypt(value, table=self.table, column=self.column)


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes in Python (a photo's thumbnail), AES-GCM at rest, bound to its table and column."""

    impl = Text
    cache_ok = True

    def __init__(self, table: str, column: str) -> None:
        super().__init__()
        self.table = table
        self.column = column

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return cipher_for(dialect).encrypt_bytes(value, table=self.table, column=self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        return cipher_for(dialect).decrypt_bytes(value, table=self.table, column=self.column)


_TRUE, _FALSE = "true", "false"


class EncryptedBool(TypeDecorator[bool]):
    """A yes/no/unknown (``None``) answer of a special category, encrypted like the texts (so
    that a reader of the database does not learn, e.g., a vulnerability factor)."""

    impl = Text
    cache_ok = True

    def __init__(self, table: str, column: str) -> None:
        super().__init__()
        self.table = table
        self.column = column

    def process_bind_param(self, value: bool | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        clear = _TRUE if value else _FALSE
        return cipher_for(dialect).encrypt(clear, table=self.table, column=self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> bool | None:
        if value is None:
            return None
        clear = cipher_for(dialect).decrypt(value, table=self.table, column=self.column)
        if clear not in (_TRUE, _FALSE):
            raise AtRestError(
                f"{self.table}.{self.column} holds {len(clear)} characters, not a yes/no"
            )
        return clear == _TRUE
