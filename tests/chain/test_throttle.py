"""Login throttling and one-time TOTP codes, on SQLite and PostgreSQL.

The pen test sent 30-60 wrong passwords for one account at once and 18-19 of them were checked
against a limit of 5; five failures from one address locked every account out from there; the
same TOTP code posted at once from five half-finished logins was accepted five times. These
tests repeat those attacks (concurrently, each thread with its own database session) and check
that the delays grow, end, and hold back only whom they should.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from signaal.chain import accounts
from signaal.chain.accounts import (
    authenticate,
    begin_totp_enrolment,
    create_organisation,
    create_user,
    verify_totp,
)
from signaal.errors import AuthenticationError, TooManyAttempts
from signaal.settings import Settings, load_settings
from signaal.store.db import make_engine, session_factory
from signaal.store.models import AuditEvent, LoginThrottle, OrganisationKind, User

PASSWORD = "correct horse battery staple"
ATTACKER = "203.0.113.66"

T = TypeVar("T")


class CountingHasher(PasswordHasher):
    """The cheap test hasher, counting how many passwords were actually verified."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", counting)
    accounts._dummy_hash.cache_clear()
    return counting


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "login_rate_limit": 3,
        "login_delay_seconds": 10,
        "login_max_delay_seconds": 40,
        "login_address_rate_limit": 30,
        "login_address_max_delay_seconds": 20,
    }
    values.update(overrides)
    return load_settings(**values)


def _user(session: Session, email: str, *, totp: bool = False) -> User:
    organisation = session.scalar(select(accounts.Organisation)) or create_organisation(
        session, name="Politie Throttle", kind=OrganisationKind.POLICE
    )
    user = create_user(
        session,
        email=email,
        password=PASSWORD,
        display_name="Agent Throttle",
        organisation=organisation,
        role="police_officer",
    )
    if totp:
        begin_totp_enrolment(session, user)
        user.totp_enabled = True
    session.commit()
    return user


def _totp(user: User) -> pyotp.TOTP:
    assert user.totp_secret is not None
    return pyotp.TOTP(user.totp_secret, interval=accounts.TOTP_INTERVAL)


def _wrong_code(totp: pyotp.TOTP) -> str:
    return "000000" if totp.now() != "000000" else "111111"


def _login(session: Session, email: str, password: str, ip: str, settings: Settings) -> str:
    """'ok', 'wrong' or 'refused' (TooManyAttempts) for one password attempt."""
    try:
        authenticate(session, email=email, password=password, ip=ip, settings=settings)
    except TooManyAttempts:
        return "refused"
    except AuthenticationError:
        return "wrong"
    session.commit()
    return "ok"


def _retry_after(session: Session, email: str, ip: str, settings: Settings) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        authenticate(session, email=email, password=PASSWORD, ip=ip, settings=settings)
    return refused.value.retry_after


def _delays_pass(session: Session) -> None:
    """As if every current delay had run out (the counts stay)."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.blocked_until.is_not(None))
        .values(blocked_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()


def _audit(session: Session, action: str) -> list[dict[str, Any]]:
    return [
        json.loads(event.details)
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    ]


def _at_once(
    factory: sessionmaker[Session], count: int, attempt: Callable[[Session], T]
) -> list[T]:
    """Run ``attempt`` in ``count`` threads that start together, each with its own session."""
    barrier = threading.Barrier(count)

    def run(_: int) -> T:
        with factory() as session:
            barrier.wait(timeout=30)
            return attempt(session)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def wide_engine(migrated_url: str) -> Iterator[Engine]:
    """An engine with a connection for each of the concurrent attempts."""
    created = make_engine(migrated_url, pool_size=32, max_overflow=0, pool_timeout=60)
    try:
        yield created
    finally:
        created.dispose()


# -- the attacks of the pen test -------------------------------------------------------------


def test_concurrent_wrong_passwords_get_only_the_allowance_checked(
    wide_engine: Engine, hasher: CountingHasher
) -> None:
    settings = _settings(login_rate_limit=5)
    factory = session_factory(wide_engine)
    with factory() as session:
        email = _user(session, "doelwit@politie.example").email
    hasher.verified = 0

    outcomes = _at_once(
        factory, 32, lambda session: _login(session, email, "guess-123456", ATTACKER, settings)
    )

    assert hasher.verified == 5
    assert outcomes.count("wrong") == 5
    assert outcomes.count("refused") == 27
    with factory() as session:
        assert len(_audit(session, "login.failed")) == 5
        assert len(_audit(session, "login.rate_limited")) == 27


def test_the_same_code_from_five_pending_logins_at_once_is_accepted_once(
    wide_engine: Engine,
) -> None:
    settings = _settings(login_rate_limit=20)  # the throttle is not what stops the replays here
    factory = session_factory(wide_engine)
    with factory() as session:
        user = _user(session, "twee@politie.example", totp=True)
    user_id, code = user.id, _totp(user).now()

    def post_code(session: Session) -> bool:
        pending = session.get(User, user_id)
        assert pending is not None
        accepted = verify_totp(
            session, pending, code, ip=f"198.51.100.{user_id}", settings=settings
        )
        session.commit()  # what the request does when the handler returns
        return accepted

    assert _at_once(factory, 5, post_code).count(True) == 1
    assert _at_once(factory, 5, post_code).count(True) == 0  # a used code stays used
    with factory() as session:
        assert len(_audit(session, "login.second_factor_passed")) == 1
        reasons = [e["reason"] for e in _audit(session, "login.second_factor_failed")]
        assert reasons == ["replayed_code"] * 9


def test_one_address_does_not_lock_out_the_accounts_that_log_in_from_it(
    db_session: Session, hasher: CountingHasher
) -> None:
    """Behind a proxy everyone shares one address: an attacker spraying passwords from it slows
    the address down, but colleagues who logged in from there before still get in."""
    settings = _settings(login_address_rate_limit=3)
    proxy = "192.0.2.10"
    colleague = _user(db_session, "collega@politie.example")
    newcomer = _user(db_session, "nieuw@politie.example")
    assert _login(db_session, colleague.email, PASSWORD, proxy, settings) == "ok"

    for i in range(3):
        assert _login(db_session, f"slachtoffer{i}@x.example", "guess", proxy, settings) == "wrong"
    checked = hasher.verified
    # The address is slowed down: an account never seen from it waits, unchecked ...
    assert _login(db_session, newcomer.email, PASSWORD, proxy, settings) == "refused"
    assert _login(db_session, "slachtoffer9@x.example", "guess", proxy, settings) == "refused"
    assert hasher.verified == checked
    assert [e["scope"] for e in _audit(db_session, "login.rate_limited")] == ["address"] * 2
    # ... but the colleague, who logged in from this address before, is not held back by it,
    assert _login(db_session, colleague.email, PASSWORD, proxy, settings) == "ok"
    # and the newcomer gets in from another address, or from this one once the delay passed.
    assert _login(db_session, newcomer.email, PASSWORD, "192.0.2.99", settings) == "ok"
    _delays_pass(db_session)
    assert _login(db_session, newcomer.email, PASSWORD, proxy, settings) == "ok"


def test_an_address_is_slowed_down_with_a_short_cap(db_session: Session) -> None:
    settings = _settings(login_address_rate_limit=2, login_address_max_delay_seconds=20)
    officer = _user(db_session, "agent@politie.example")
    retries = []
    for i in range(5):
        _delays_pass(db_session)
        assert _login(db_session, f"x{i}@x.example", "guess", ATTACKER, settings) == "wrong"
        if i >= 1:
            retries.append(_retry_after(db_session, officer.email, ATTACKER, settings))
    assert retries == [10, 20, 20, 20]  # the account delay would have grown to 40


def test_ipv6_addresses_count_per_64_network(db_session: Session) -> None:
    settings = _settings(login_address_rate_limit=2)
    officer = _user(db_session, "agent@politie.example")
    assert _login(db_session, "a@x.example", "guess", "2001:db8:1:2::1", settings) == "wrong"
    assert _login(db_session, "b@x.example", "guess", "2001:db8:1:2:ffff::7", settings) == "wrong"
    assert _login(db_session, officer.email, PASSWORD, "2001:db8:1:2::abcd", settings) == "refused"
    assert _login(db_session, officer.email, PASSWORD, "2001:db8:1:3::1", settings) == "ok"


# -- growing delays ---------------------------------------------------------------------------


def test_each_failure_past_the_allowance_doubles_the_delay_up_to_the_cap(
    db_session: Session, hasher: CountingHasher
) -> None:
    settings = _settings()  # 3 free failures, then 10 s, doubling, at most 40 s
    officer = _user(db_session, "agent@politie.example")
    for i in range(2):  # from changing addresses: the account's count holds them all
        assert _login(db_session, officer.email, "wrong", f"10.0.0.{i}", settings) == "wrong"
    retries = []
    for _ in range(4):
        assert _login(db_session, officer.email, "wrong", "10.0.2.1", settings) == "wrong"
        retries.append(_retry_after(db_session, officer.email, "10.0.3.1", settings))
        _delays_pass(db_session)
    assert retries == [10, 20, 40, 40]


def test_attempts_during_a_delay_are_not_checked_and_do_not_extend_it(
    db_session: Session, hasher: CountingHasher
) -> None:
    settings = _settings()
    officer = _user(db_session, "agent@politie.example")
    for _ in range(3):
        assert _login(db_session, officer.email, "wrong", ATTACKER, settings) == "wrong"
    checked = hasher.verified
    for _ in range(10):  # even the right password waits
        assert _retry_after(db_session, officer.email, "10.9.9.9", settings) <= 10
    assert hasher.verified == checked
    assert [e["scope"] for e in _audit(db_session, "login.rate_limited")] == ["account"] * 10
    # The delay ends (nobody is locked out for good); a success starts the count afresh.
    _delays_pass(db_session)
    assert _login(db_session, officer.email, PASSWORD, "10.9.9.9", settings) == "ok"
    for _ in range(3):
        assert _login(db_session, officer.email, "wrong", ATTACKER, settings) == "wrong"
    assert _login(db_session, officer.email, PASSWORD, "10.9.9.9", settings) == "refused"


def test_unknown_accounts_are_throttled_like_real_ones(
    db_session: Session, hasher: CountingHasher
) -> None:
    settings = _settings()
    for _ in range(3):
        assert _login(db_session, "niemand@x.example", "guess", ATTACKER, settings) == "wrong"
    assert _login(db_session, "niemand@x.example", "guess", ATTACKER, settings) == "refused"
    assert hasher.verified == 3  # the dummy hash, three times


# -- the second factor -----------------------------------------------------------------------


def test_wrong_codes_are_throttled_and_a_correct_password_does_not_reset_them(
    db_session: Session,
) -> None:
    settings = _settings()
    officer = _user(db_session, "agent@politie.example", totp=True)
    totp = _totp(officer)
    for _ in range(3):
        assert not verify_totp(
            db_session, officer, _wrong_code(totp), ip=ATTACKER, settings=settings
        )
    with pytest.raises(TooManyAttempts):
        verify_totp(db_session, officer, totp.now(), ip=ATTACKER, settings=settings)
    # Whoever has the password cannot buy new guesses by logging in again.
    assert _login(db_session, officer.email, PASSWORD, ATTACKER, settings) == "ok"
    with pytest.raises(TooManyAttempts) as refused:
        verify_totp(db_session, officer, totp.now(), ip=ATTACKER, settings=settings)
    assert refused.value.retry_after <= 10
    assert _audit(db_session, "login.rate_limited")[-1]["factor"] == "totp"
    # After the delay the right code is accepted and the count starts afresh.
    _delays_pass(db_session)
    assert verify_totp(db_session, officer, totp.now(), ip=ATTACKER, settings=settings)
    db_session.commit()
    for _ in range(3):
        assert not verify_totp(
            db_session, officer, _wrong_code(totp), ip=ATTACKER, settings=settings
        )


def test_a_used_code_is_refused_on_the_next_try(db_session: Session) -> None:
    settings = _settings()
    officer = _user(db_session, "agent@politie.example", totp=True)
    code = _totp(officer).now()
    assert verify_totp(db_session, officer, code, ip=ATTACKER, settings=settings)
    db_session.commit()
    assert not verify_totp(db_session, officer, code, ip=ATTACKER, settings=settings)
    assert _audit(db_session, "login.second_factor_failed")[-1]["reason"] == "replayed_code"


def test_refused_and_successful_attempts_leave_no_rows(db_session: Session) -> None:
    """A flood of made-up e-mail addresses from a slowed-down address costs no storage."""
    settings = _settings(login_address_rate_limit=2)
    officer = _user(db_session, "agent@politie.example")
    assert _login(db_session, officer.email, PASSWORD, "192.0.2.1", settings) == "ok"
    assert db_session.scalars(select(LoginThrottle.key)).all() == []
    for i in range(2):
        assert _login(db_session, f"x{i}@x.example", "guess", ATTACKER, settings) == "wrong"
    keys = set(db_session.scalars(select(LoginThrottle.key)))
    assert keys == {"account:x0@x.example", "account:x1@x.example", f"address:{ATTACKER}"}
    for i in range(50):
        assert _login(db_session, f"flood{i}@x.example", "guess", ATTACKER, settings) == "refused"
    assert set(db_session.scalars(select(LoginThrottle.key))) == keys
