"""Schedules of ``signaal worker``: intervals, cron expressions and off, and when a job is due
after a run, a failure or never (pure functions, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signaal.errors import ConfigurationError
from signaal.settings import load_settings
from signaal.worker.schedule import due_at, parse_schedule

T = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
RETRY = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("30s", T + timedelta(seconds=30)),
        ("15m", T + timedelta(minutes=15)),
        (" 1H ", T + timedelta(hours=1)),
        ("2d", T + timedelta(days=2)),
        ("0 3 * * *", datetime(2026, 12, 4, 3, 0, tzinfo=UTC)),
        ("*/20 * * * *", datetime(2026, 12, 3, 8, 40, tzinfo=UTC)),
    ],
)
def test_intervals_and_cron_expressions_give_the_next_time(text: str, after: datetime) -> None:
    assert parse_schedule(text).next_after(T) == after


@pytest.mark.parametrize("text", ["", "hourly", "0m", "5 minutes", "0 3 * *", "61 * * * *"])
def test_a_bad_schedule_is_refused_with_the_forms_it_may_take(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"neither an interval|at least 1s"):
        parse_schedule(text)


def test_a_bad_schedule_in_the_settings_stops_them_loading() -> None:
    with pytest.raises(ConfigurationError, match="worker_schedule"):
        load_settings(env="development", worker_schedule={"remind": "hourly"})
    assert load_settings(env="development", worker_schedule={"remind": "5M"}).worker_schedule == {
        "remind": "5m"
    }


def test_due_never_run_at_once_then_regularly_and_a_failure_sooner() -> None:
    hourly = parse_schedule("1h")
    never = due_at(
        hourly, last_started_at=None, last_finished_at=None, failures=0, retry_after=RETRY
    )
    assert never is not None
    assert never < T
    ran = due_at(hourly, last_started_at=T, last_finished_at=T, failures=0, retry_after=RETRY)
    assert ran == T + timedelta(hours=1)
    failed = due_at(hourly, last_started_at=T, last_finished_at=T, failures=1, retry_after=RETRY)
    assert failed == T + RETRY
    # A retry never waits past the regular time.
    every_minute = parse_schedule("1m")
    assert due_at(
        every_minute, last_started_at=T, last_finished_at=T, failures=3, retry_after=RETRY
    ) == T + timedelta(minutes=1)
    off = parse_schedule("off")
    assert (
        due_at(off, last_started_at=None, last_finished_at=None, failures=0, retry_after=RETRY)
        is None
    )
