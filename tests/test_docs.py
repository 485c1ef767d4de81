"""Docs that cannot drift: every CLI command (with its options) and every setting is documented.

Walks the real Typer app, so commands that any module registers later are checked too. Each leaf
command needs a heading ``### `signaal group command``` (any level) in docs/cli.md, and each of
its options must appear in that section; every ``SIGNAAL_*`` setting must appear in
docs/settings.md. Headings for commands that no longer exist are reported as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import typer.main

from signaal.cli import app
from signaal.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADING = re.compile(r"^(#+)\s+`(signaal(?: [a-z0-9-]+)*)`\s*$", re.MULTILINE)
# Options every Typer app has; documented once in the introduction of docs/cli.md.
GENERIC_OPTIONS = {"--help", "--install-completion", "--show-completion"}


def leaf_commands(command: Any, path: str = "signaal") -> Iterator[tuple[str, list[str]]]:
    """(full command, its long and short options) for every command that does something."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            if not getattr(sub, "hidden", False):
                yield from leaf_commands(sub, f"{path} {name}")
        return
    options = [
        opt
        for param in command.params
        if getattr(param, "param_type_name", "") == "option"
        for opt in param.opts
        if opt not in GENERIC_OPTIONS
    ]
    yield path, options


def sections(markdown: str) -> dict[str, str]:
    """Command heading -> the text up to the next heading of the same or a higher level."""
    found: dict[str, str] = {}
    matches = list(HEADING.finditer(markdown))
    for match in matches:
        level = len(match.group(1))
        end = len(markdown)
        for later in re.finditer(r"^(#+)\s", markdown[match.end() :], re.MULTILINE):
            if len(later.group(1)) <= level:
                end = match.end() + later.start()
                break
        found[match.group(2)] = markdown[match.end() : end]
    return found


def undocumented_commands(typer_app: typer.Typer, markdown: str) -> list[str]:
    documented = sections(markdown)
    problems: list[str] = []
    commands = dict(leaf_commands(typer.main.get_command(typer_app)))
    for command, options in commands.items():
        if command not in documented:
            problems.append(f"{command}: no heading `{command}` in docs/cli.md")
            continue
        problems.extend(
            f"{command}: option {option} not described in its section"
            for option in options
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", documented[command])
        )
    groups = {" ".join(c.split()[:i]) for c in commands for i in range(1, len(c.split()))}
    problems.extend(
        f"{heading}: documented in docs/cli.md but no such command"
        for heading in documented
        if heading not in commands and heading not in groups
    )
    return problems


def undocumented_settings(markdown: str) -> list[str]:
    return [
        f"SIGNAAL_{name.upper()} is not in docs/settings.md"
        for name in Settings.model_fields
        if f"SIGNAAL_{name.upper()}" not in markdown
    ]


def test_every_command_and_option_is_documented() -> None:
    assert undocumented_commands(app, (DOCS / "cli.md").read_text(encoding="utf-8")) == []


def test_every_setting_is_documented() -> None:
    assert undocumented_settings((DOCS / "settings.md").read_text(encoding="utf-8")) == []


def test_the_check_notices_a_new_command_option_and_setting() -> None:
    extra = typer.Typer()

    @extra.command("frobnicate")
    def frobnicate(level: int = typer.Option(1, "--level")) -> None:
        """A command nobody documented."""

    @extra.command("other")
    def other() -> None:
        """Keeps frobnicate a subcommand."""

    markdown = "# CLI\n\n## `signaal frobnicate`\n\nDoes things.\n\n## `signaal gone`\n"
    problems = undocumented_commands(extra, markdown)
    assert "signaal frobnicate: option --level not described in its section" in problems
    assert "signaal other: no heading `signaal other` in docs/cli.md" in problems
    assert "signaal gone: documented in docs/cli.md but no such command" in problems
    assert undocumented_commands(extra, markdown.replace("Does things.", "`--level` sets it.")) == [
        "signaal other: no heading `signaal other` in docs/cli.md",
        "signaal gone: documented in docs/cli.md but no such command",
    ]
    assert undocumented_settings("SIGNAAL_ENV only") != []
