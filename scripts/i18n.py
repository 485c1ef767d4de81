"""Keep the web app's message catalogues in step with the code.

    .venv/bin/python scripts/i18n.py           extract, update nl and en, report what is missing
    .venv/bin/python scripts/i18n.py --check   only report; exit 1 when a catalogue is incomplete

Message ids are English. ``en`` is filled with the English text itself (the source language);
``nl`` must be translated by hand in ``src/signaal/web/locale/nl/LC_MESSAGES/messages.po``.
Fuzzy matching is off: a changed message becomes a new, untranslated one and is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "src" / "signaal" / "web" / "locale"
POT = LOCALE_DIR / "messages.pot"
LOCALES = ("nl", "en")
SOURCE_LOCALE = "en"


def extract(target: Path) -> None:
    os.chdir(ROOT)  # locations in the catalogues are relative to the repository
    CommandLineInterface().run(
        [
            "pybabel",
            "--quiet",
            "extract",
            "--mapping-file",
            str(ROOT / "babel.cfg"),
            "--keywords",
            "N_",
            "--add-location",
            "file",
            "--sort-by-file",
            "--no-wrap",
            "--project",
            "Signaal",
            "--copyright-holder",
            "Signaal contributors",
            "--version",
            "0.1",
            "--output-file",
            str(target),
            ".",
        ]
    )


def catalogue_file(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def update(locale: str) -> None:
    path = catalogue_file(locale)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        CommandLineInterface().run(
            [
                "pybabel",
                "--quiet",
                "init",
                "-i",
                str(POT),
                "-d",
                str(LOCALE_DIR),
                "-l",
                locale,
                "--no-wrap",
            ]
        )
    else:
        CommandLineInterface().run(
            [
                "pybabel",
                "--quiet",
                "update",
                "-i",
                str(POT),
                "-d",
                str(LOCALE_DIR),
                "-l",
                locale,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
                "--no-wrap",
            ]
        )


def fill_source_language(locale: str) -> None:
    """The source language's catalogue repeats the English text (so it can be edited later)."""
    path = catalogue_file(locale)
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not any(message.string):
                message.string = (message.id[0], message.id[1])
        elif not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=0)


def problems(locale: str, template: Catalog) -> list[str]:
    with catalogue_file(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    found: list[str] = []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id, message.context)
        if translated is None:
            found.append(f"{locale}: missing {message.id!r}")
        elif translated.fuzzy:
            found.append(f"{locale}: fuzzy {message.id!r}")
        elif not (
            all(translated.string) if isinstance(translated.string, tuple) else translated.string
        ):
            found.append(f"{locale}: untranslated {message.id!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as folder:
            pot = Path(folder) / "messages.pot"
            extract(pot)
            with pot.open("rb") as handle:
                template = read_po(handle)
    else:
        extract(POT)
        for locale in LOCALES:
            update(locale)
        fill_source_language(SOURCE_LOCALE)
        with POT.open("rb") as handle:
            template = read_po(handle)
    found = [problem for locale in LOCALES for problem in problems(locale, template)]
    for problem in found:
        print(problem)
    print(f"{len(template)} messages; {len(found)} problems")
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
