"""Real-browser fixtures: the app served by uvicorn on a free port, and Debian's Chromium.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``; ``SIGNAAL_CHROMIUM``
overrides), driven by Playwright. ``./dev check`` installs it when it is missing; these tests
fail (never skip) without it, saying so.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import Browser, sync_playwright

from signaal.chain import accounts
from signaal.settings import Settings, load_settings
from signaal.store.db import upgrade
from signaal.web.app import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Same as in tests/web: argon2 at a test cost (the format and code paths are unchanged)."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


def chromium_path() -> str:
    path = os.environ.get("SIGNAAL_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        pytest.fail(
            f"Chromium not found at {path}: install Debian's chromium package "
            "(./dev check does) or set SIGNAAL_CHROMIUM",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 with its own SQLite store (development cookies: plain HTTP)."""
    port = _free_port()
    settings = load_settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}",
        host="127.0.0.1",
        port=port,
    )
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="signaal-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.web.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
