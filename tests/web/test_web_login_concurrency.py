"""The pen test's login attacks through the web app, fired concurrently, on SQLite and PostgreSQL.

Each attacker is its own browser (TestClient with its own cookies and event loop) in its own
thread; the app serves them all from one store, as a deployment does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from signaal.chain import accounts
from signaal.store.models import AuditEvent
from signaal.web.app import WebState

from .conftest import BASE_URL, Account

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[Callable[[int], list[TestClient]]]:
    with ExitStack() as stack:

        def open_browsers(count: int) -> list[TestClient]:
            return [
                stack.enter_context(TestClient(app, base_url=BASE_URL, follow_redirects=False))
                for _ in range(count)
            ]

        yield open_browsers


def _at_once(clients: list[TestClient], request: Callable[[TestClient], int]) -> list[int]:
    barrier = threading.Barrier(len(clients))

    def run(client: TestClient) -> int:
        barrier.wait(timeout=30)
        return request(client)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(run, clients))


def _actions(state: WebState) -> list[str]:
    with state.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@BOTH
def test_concurrent_wrong_passwords_get_only_the_allowance_checked(
    state: WebState,
    accounts_by_role: dict[str, Account],
    browsers: Callable[[int], list[TestClient]],
    csrf_of: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analyst = accounts_by_role["analyst"]
    clients = browsers(20)
    tokens = {id(c): csrf_of(c.get("/login").text) for c in clients}
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)

    def guess(client: TestClient) -> int:
        form = {"csrf_token": tokens[id(client)], "email": analyst.email, "password": "raden-1234"}
        return client.post("/login", data=form).status_code

    statuses = _at_once(clients, guess)
    allowance = state.settings.login_rate_limit
    assert hasher.verified == allowance
    assert sorted(statuses) == [401] * allowance + [429] * (20 - allowance)


@BOTH
def test_one_code_posted_at_once_from_five_pending_logins_is_accepted_once(
    state: WebState,
    accounts_by_role: dict[str, Account],
    browsers: Callable[[int], list[TestClient]],
    csrf_of: Callable[[str], str],
) -> None:
    analyst = accounts_by_role["analyst"]
    clients = browsers(5)
    tokens: dict[int, str] = {}
    for client in clients:  # five half-finished logins: the password was right
        login = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(client.get("/login").text),
                "email": analyst.email,
                "password": analyst.password,
            },
        )
        assert login.headers["location"].startswith("/login/tweede-factor")
        tokens[id(client)] = csrf_of(client.get("/login/tweede-factor").text)
    code = analyst.code()

    def post_code(client: TestClient) -> int:
        form = {"csrf_token": tokens[id(client)], "code": code}
        return client.post("/login/tweede-factor", data=form).status_code

    statuses = _at_once(clients, post_code)
    # One completes the login; the others are refused as a used code (401) or, once the throttle
    # allowance of 3 is taken by the replays, unchecked (429).
    assert statuses.count(303) == 1
    assert set(statuses) - {303} <= {401, 429}
    winner = clients[statuses.index(303)]
    assert winner.get("/dashboard").status_code == 200
    for loser, status in zip(clients, statuses, strict=True):
        if status != 303:
            assert loser.get("/dashboard").status_code == 303  # still half logged in
    actions = _actions(state)
    assert actions.count("login.second_factor_passed") == 1
    refused = actions.count("login.second_factor_failed") + actions.count("login.rate_limited")
    assert refused == 4
