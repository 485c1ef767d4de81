"""When a job of ``signaal worker`` is due: an interval (``30s``, ``15m``, ``1h``, ``1d``), a cron
expression of five fields in UTC (``0 3 * * *``: at 03:00 UTC) or ``off``.

Pure functions of the times given: no clock is read here, so tests control time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from signaal.errors import ConfigurationError

OFF = "off"
_INTERVAL = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; ``text`` is what the operator wrote."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None or self.cron is not None

    def next_after(self, moment: datetime) -> datetime | None:
        """The first time after ``moment`` at which the job is due again (None: never)."""
        if self.interval is not None:
            return moment + self.interval
        if self.cron is not None:
            following: datetime = croniter(self.cron, moment.astimezone(UTC)).get_next(datetime)
            return following
        return None


def parse_schedule(text: str) -> Schedule:
    """``text`` as a :class:`Schedule`; a ConfigurationError says what is wrong."""
    cleaned = " ".join(text.split()).lower()
    if cleaned == OFF:
        return Schedule(text=OFF)
    interval = _INTERVAL.match(cleaned)
    if interval:
        seconds = int(interval.group(1)) * _UNIT_SECONDS[interval.group(2)]
        if seconds < 1:
            raise ConfigurationError(f"schedule {text!r}: an interval must be at least 1s")
        return Schedule(text=cleaned, interval=timedelta(seconds=seconds))
    if len(cleaned.split()) == 5 and croniter.is_valid(cleaned):
        return Schedule(text=cleaned, cron=cleaned)
    raise ConfigurationError(
        f"schedule {text!r} is neither an interval (30s, 15m, 1h, 1d), a cron expression of "
        "five fields (0 3 * * *) nor off"
    )


def due_at(
    schedule: Schedule,
    *,
    last_started_at: datetime | None,
    last_finished_at: datetime | None,
    failures: int,
    retry_after: timedelta,
) -> datetime | None:
    """When a job is next due: at once when it never ran; after a failure at the retry time or
    its regular time, whichever comes first; otherwise its regular time after the last start.
    None: never (the job is off)."""
    if not schedule.enabled:
        return None
    if last_started_at is None:
        return datetime.min.replace(tzinfo=UTC)
    regular = schedule.next_after(last_started_at)
    if failures and last_finished_at is not None:
        retry = last_finished_at + retry_after
        return min(retry, regular) if regular is not None else retry
    return regular
