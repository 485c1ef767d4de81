"""Languages of the web app: Babel message catalogues, Dutch by default, English available.

Message ids are English (the language of the code); ``locale/nl`` translates them into Dutch and
``locale/en`` holds the English text (so a later wording change needs no code change). The
catalogues are committed as ``.po`` files and compiled in memory when the app starts, so a fresh
clone needs no build step and a stale ``.mo`` can never be served.

Strings in Python code are marked with :func:`N_` (extracted by ``pybabel``, translated when they
are rendered) and wrapped in :class:`Message` when they carry parameters. Templates use
``{% trans %}`` and ``_()``.

Maintaining the catalogues: ``.venv/bin/python scripts/i18n.py`` extracts the messages, updates
both catalogues and reports what is missing; see docs/web.md.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES: tuple[str, ...] = ("nl", "en")
LOCALE_NAMES: Mapping[str, str] = {"nl": "Nederlands", "en": "English"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker
    """Mark a string for extraction; it is translated later, when rendered."""
    return message


@dataclass(frozen=True)
class Message:
    """A translatable message with named parameters, translated when rendered."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def translate(self, translations: Translations) -> str:
        text = translations.gettext(self.msgid)
        return text % dict(self.params) if self.params else text


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations_for(locale: str) -> Translations:
    """The compiled catalogue of a locale (compiled in memory from the committed ``.po``)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; expected one of {LOCALES}")
    with catalogue_path(locale).open("rb") as po:
        catalogue = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def normalise_locale(value: str | None) -> str | None:
    """A supported locale code from a cookie, user setting or header value, else None."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in LOCALES else None


def translate(locale: str, text: str | Message) -> str:
    translations = translations_for(locale)
    if isinstance(text, Message):
        return text.translate(translations)
    return translations.gettext(text)
