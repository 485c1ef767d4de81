"""Stage timings of a run: wall time and CPU seconds per stage, reported as they end."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

#: ``progress(stage, done, total)``; total is None while unknown. The CLI draws bars with it.
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class StageTiming:
    """Seconds spent in one stage: wall time, and CPU seconds summed over workers."""

    stage: str
    items: int
    wall_seconds: float
    cpu_seconds: float


class Timer:
    """``with Timer(stage, items, timings, report):`` appends the stage's :class:`StageTiming`
    and reports its start and end to ``report``."""

    def __init__(
        self, stage: str, items: int, timings: list[StageTiming], report: Progress
    ) -> None:
        self.stage, self.items, self.timings, self.report = stage, items, timings, report

    def __enter__(self) -> None:
        self.report(self.stage, 0, 1)
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        self.timings.append(StageTiming(self.stage, self.items, wall, cpu))
        self.report(self.stage, 1, 1)
