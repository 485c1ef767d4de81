"""The "no analysis stored yet" page prints the commands that store one; run as printed, they
do (they used to fail: first with "Missing option '--out'", then on the placeholder
organisation "…")."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from signaal.cli import app
from signaal.settings import get_settings
from signaal.web.app import WebState

from .conftest import (
    TEST_AUDIT_KEY,
    TEST_CONTACT_KEY,
    TEST_DATA_KEY,
    TEST_PSEUDONYM_KEY,
    Account,
    SignIn,
)


def hinted_commands(page: str) -> list[list[str]]:
    block = re.search(r'<pre class="command"><code>(.*?)</code></pre>', page, re.S)
    assert block is not None
    return [shlex.split(line) for line in html.unescape(block.group(1)).splitlines() if line]


def test_the_hinted_commands_store_an_analysis_the_page_then_shows(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    state: WebState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sign_in(accounts_by_role["analyst"])
    empty = client.get("/analyse")
    assert "Nog geen analyse opgeslagen" in empty.text
    commands = hinted_commands(empty.text)
    assert [c[:2] for c in commands] == [["signaal", "synth"], ["signaal", "analyse"]]
    # The command line of the same server: its store and keys, in a folder of its own.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", state.settings.database_url or "")
    monkeypatch.setenv("SIGNAAL_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    monkeypatch.setenv("SIGNAAL_AUDIT_KEY", TEST_AUDIT_KEY)
    monkeypatch.setenv("SIGNAAL_CONTACT_KEY", TEST_CONTACT_KEY)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    try:
        for command in commands:
            result = CliRunner().invoke(app, command[1:])
            assert result.exit_code == 0, f"{shlex.join(command)}:\n{result.output}"
    finally:
        get_settings.cache_clear()
    stored = client.get("/analyse")
    assert "Nog geen analyse opgeslagen" not in stored.text
    assert "Laatst opgeslagen analyse, klaar op" in stored.text
    assert "1.000 advertenties" in stored.text
