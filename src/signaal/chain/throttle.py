"""Login throttling: growing delays per account and per address, counted atomically.

Each login step (a password, a second-factor code) first *claims* an attempt on its throttle
keys, in one statement per key, and only then is the secret checked. A claim is an upsert that
adds one to the key's count and, once the count is past the free allowance, moves
``blocked_until`` out by a delay that doubles with every further failure up to a cap::

    INSERT INTO login_throttles (key, failures, ...) VALUES (:key, 1, ...)
    ON CONFLICT (key) DO UPDATE SET failures = failures + 1, blocked_until = CASE ... END
    WHERE blocked_until IS NULL OR blocked_until <= :now
    RETURNING failures

No row comes back when the key is blocked: the attempt is refused without looking at the password
or code at all. Because the count goes up *before* the check and the database serialises the
upserts of one key (a row lock on PostgreSQL, the write lock on SQLite), concurrent attempts
cannot slip past it: of 60 wrong passwords sent at once, exactly the free allowance is checked.
A successful step gives its claim back (the account's or code's count starts afresh, the
address's count loses this attempt).

Keys and what they protect against:

``account:<e-mail>``
    password guessing on one account (also for addresses without an account, so that unknown
    and known accounts behave alike). ``login_rate_limit`` free failures, then
    ``login_delay_seconds``, doubling, at most ``login_max_delay_seconds``.
``second-factor:<e-mail>``
    guessing the six-digit code of someone whose password is known. Same numbers; only a correct
    code resets it (a correct password does not, or the guesser could reset it at will).
``address:<ip>`` (IPv6: the /64 network)
    password spraying over many accounts from one address. A higher allowance
    (``login_address_rate_limit``) and a shorter cap (``login_address_max_delay_seconds``): it
    slows an address down and never locks it. An account that logged in successfully from that
    address within ``login_known_address_days`` is not held back by the address at all (only by
    its own key), so an attacker behind the same proxy as an office cannot keep the office out.

Refused attempts do not count: a key that is blocked opens again when its delay has passed, so
nobody is locked out for good. A key's count is forgotten ``login_rate_window_seconds`` after its
last failure.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Table, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from signaal.settings import Settings
from signaal.store.models import LoginAttempt, LoginThrottle

Scope = Literal["account", "address"]

MAX_KEY_LENGTH = 320  # the column's length
_TABLE = cast(Table, LoginThrottle.__table__)


@dataclass(frozen=True)
class Policy:
    """How many failures of one key are free and how the delay grows after that."""

    free_failures: int
    first_delay_seconds: float
    max_delay_seconds: float
    forget_after_seconds: float

    def delay(self, failures: int) -> float | None:
        """Seconds that the key is blocked after its ``failures``-th failure (None: free)."""
        if failures < self.free_failures:
            return None
        doublings = failures - self.free_failures
        if doublings >= 64:
            return self.max_delay_seconds
        return float(min(self.first_delay_seconds * 2**doublings, self.max_delay_seconds))

    def growing_steps(self) -> int:
        """How many failures past the allowance the delay still grows (then it is capped)."""
        if self.first_delay_seconds <= 0 or self.first_delay_seconds >= self.max_delay_seconds:
            return 0
        return math.ceil(math.log2(self.max_delay_seconds / self.first_delay_seconds))


def account_policy(settings: Settings) -> Policy:
    return Policy(
        free_failures=settings.login_rate_limit,
        first_delay_seconds=settings.login_delay_seconds,
        max_delay_seconds=settings.login_max_delay_seconds,
        forget_after_seconds=settings.login_rate_window_seconds,
    )


def address_policy(settings: Settings) -> Policy:
    return Policy(
        free_failures=settings.login_address_rate_limit,
        first_delay_seconds=min(
            settings.login_delay_seconds, settings.login_address_max_delay_seconds
        ),
        max_delay_seconds=settings.login_address_max_delay_seconds,
        forget_after_seconds=settings.login_rate_window_seconds,
    )


def _key(prefix: str, value: str) -> str:
    return f"{prefix}:{value}"[:MAX_KEY_LENGTH]


def account_key(email: str) -> str:
    return _key("account", email)


def second_factor_key(email: str) -> str:
    return _key("second-factor", email)


def address_key(ip: str) -> str:
    """The key of a client address; IPv6 addresses by their /64 network (one subscriber gets a
    whole /64, so single IPv6 addresses would be free for an attacker to rotate)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return _key("address", ip.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, 64), strict=False)
        return _key("address", str(network))
    return _key("address", str(address))


@dataclass(frozen=True)
class Counter:
    """One throttle key of an attempt, the policy it is counted under and its audit scope."""

    key: str
    policy: Policy
    scope: Scope


@dataclass(frozen=True)
class Refusal:
    """An attempt refused unchecked: which scope blocked it and for how many more seconds."""

    scope: Scope
    retry_after: int


@dataclass(frozen=True)
class Claim:
    """The attempt counted on ``counters``; give it back with :func:`succeeded`."""

    counters: tuple[Counter, ...]


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"login throttling does not support the {dialect!r} database")


def _at(moment: datetime) -> ColumnElement[Any]:
    return literal(moment, _TABLE.c.blocked_until.type)


def _blocked_until(policy: Policy, count: ColumnElement[Any], now: datetime) -> Any:
    """SQL for the moment the key opens again after its ``count``-th failure."""
    branches: list[tuple[ColumnElement[bool], Any]] = [(count < policy.free_failures, null())]
    for extra in range(policy.growing_steps() + 1):
        failures = policy.free_failures + extra
        delay = policy.delay(failures)
        assert delay is not None
        branches.append((count == failures, _at(now + timedelta(seconds=delay))))
    return case(*branches, else_=_at(now + timedelta(seconds=policy.max_delay_seconds)))


def _claim_one(session: Session, counter: Counter, now: datetime) -> bool:
    """Count one attempt on the key unless it is blocked; True when counted."""
    table = _TABLE
    policy = counter.policy
    stale = table.c.last_failure_at < _at(now - timedelta(seconds=policy.forget_after_seconds))
    count = case((stale, 1), else_=table.c.failures + 1)
    first_delay = policy.delay(1)
    statement = (
        _insert(session)(table)
        .values(
            key=counter.key,
            failures=1,
            first_failure_at=now,
            last_failure_at=now,
            blocked_until=None if first_delay is None else now + timedelta(seconds=first_delay),
        )
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": count,
                "first_failure_at": case((stale, _at(now)), else_=table.c.first_failure_at),
                "last_failure_at": _at(now),
                "blocked_until": _blocked_until(policy, count, now),
            },
            where=or_(table.c.blocked_until.is_(None), table.c.blocked_until <= _at(now)),
        )
        .returning(table.c.failures)
    )
    return session.execute(statement).first() is not None


def _retry_after(session: Session, key: str, now: datetime) -> int:
    blocked_until = session.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.key == key)
    )
    if blocked_until is None:
        return 1
    return max(1, math.ceil((blocked_until - now).total_seconds()))


def _give_back(session: Session, counter: Counter, now: datetime) -> None:
    """Take this attempt's count off the key again. A row that held only this attempt goes,
    so that attempts refused (or successful) cost no row: a flood of made-up e-mail addresses
    leaves nothing behind."""
    table = _TABLE
    session.execute(
        delete(table).where(
            table.c.key == counter.key,
            table.c.failures <= 1,
            or_(table.c.blocked_until.is_(None), table.c.blocked_until <= _at(now)),
        )
    )
    session.execute(
        update(table)
        .where(table.c.key == counter.key, table.c.failures > 0)
        .values(failures=table.c.failures - 1)
    )


def claim(session: Session, counters: list[Counter], *, now: datetime) -> Claim | Refusal:
    """Count one attempt on every counter, in order, or refuse it at the first blocked one
    (the counts already taken are given back). Commits, so that concurrent attempts see this
    one's count before its secret is checked."""
    taken: list[Counter] = []
    for counter in counters:
        if _claim_one(session, counter, now):
            taken.append(counter)
            continue
        for earlier in taken:
            _give_back(session, earlier, now)
        retry_after = _retry_after(session, counter.key, now)
        session.commit()
        return Refusal(scope=counter.scope, retry_after=retry_after)
    session.commit()
    return Claim(tuple(taken))


def succeeded(session: Session, attempt: Claim, *, now: datetime) -> None:
    """The step succeeded: account and code keys start afresh, an address gets its count back.

    Runs in the caller's transaction: if the caller rolls back, so does this.
    """
    for counter in attempt.counters:
        if counter.scope == "address":
            _give_back(session, counter, now)
        else:
            session.execute(delete(LoginThrottle).where(LoginThrottle.key == counter.key))


def known_address(
    session: Session, *, email: str, ip: str, settings: Settings, now: datetime
) -> bool:
    """Whether ``email`` logged in successfully (password) from ``ip`` recently."""
    since = now - timedelta(days=settings.login_known_address_days)
    found = session.scalar(
        select(LoginAttempt.id)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.ip == ip,
            LoginAttempt.success.is_(True),
            LoginAttempt.factor == "password",
            LoginAttempt.at >= since,
        )
        .limit(1)
    )
    return found is not None


def counters_for(
    session: Session,
    *,
    email: str,
    ip: str | None,
    factor: Literal["password", "totp"],
    settings: Settings,
    now: datetime,
) -> list[Counter]:
    """The keys an attempt of ``factor`` for ``email`` from ``ip`` is counted on."""
    key = account_key(email) if factor == "password" else second_factor_key(email)
    counters = [Counter(key, account_policy(settings), "account")]
    if ip and not known_address(session, email=email, ip=ip, settings=settings, now=now):
        counters.append(Counter(address_key(ip), address_policy(settings), "address"))
    return counters
