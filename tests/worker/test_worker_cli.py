"""``signaal worker`` from the command line, on SQLite and PostgreSQL: ``--once`` runs the due
jobs and exits, ``--list`` shows the schedule and the last runs, and a running worker stops
cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from signaal.cli import app
from signaal.settings import get_settings
from signaal.worker.jobs import JOBS

NAMES = {job.name for job in JOBS}

runner = CliRunner()
# A stop takes well under a second; the margin is for a loaded test machine (the worker waits
# an hour between turns, so a stop that did not wake it fails).
STOP_SECONDS = 15


@pytest.fixture
def store(migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", migrated_url)
    monkeypatch.delenv("SIGNAAL_WORKER_SCHEDULE", raising=False)
    monkeypatch.delenv("SIGNAAL_INGEST_FOLDER", raising=False)
    get_settings.cache_clear()
    yield migrated_url
    get_settings.cache_clear()


def _rows(output: str) -> dict[str, str]:
    """Table line per job name (the first cell)."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells and cells[0] in NAMES:
            rows[cells[0]] = line
    return rows


def test_once_runs_the_due_jobs_then_nothing_and_list_shows_it(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNAAL_WORKER_SCHEDULE", '{"remind": "5m", "expire-watches": "off"}')
    get_settings.cache_clear()

    before = runner.invoke(app, ["worker", "--list"])
    assert before.exit_code == 0, before.output
    rows = _rows(before.output)
    assert set(rows) == {
        "purge-expired",
        "expire-watches",
        "enforce-retention",
        "remind",
        "mail-alerts",
        "match-service-sync",
        "ingest-folder",
    }
    assert "1h" in rows["purge-expired"]
    assert "now" in rows["purge-expired"]
    assert "analysis.purge" in rows["purge-expired"]
    assert " 5m " in rows["remind"]
    assert " off " in rows["expire-watches"]

    first = runner.invoke(app, ["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert (
        "purge-expired: ok: 0 expired analysis run(s) and 0 dead login session(s)" in first.output
    )
    assert "remind: ok:" in first.output
    assert (
        "match-service-sync: ok: no match service (SIGNAAL_REMOTE_MATCH_URL is not set)"
        in first.output
    )
    assert "ingest-folder: ok: no ingest folder (SIGNAAL_INGEST_FOLDER is not set)" in first.output
    assert "expire-watches" not in first.output

    second = runner.invoke(app, ["worker", "--once"])
    assert second.exit_code == 0, second.output
    assert second.output.strip() == "no job was due"

    after = _rows(runner.invoke(app, ["worker", "--list"]).output)
    assert " ok " in after["purge-expired"]
    assert " ok " in after["remind"]
    assert "now" not in after["remind"]
    assert " ok " not in after["expire-watches"]


def test_a_schedule_naming_no_job_is_refused(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNAAL_WORKER_SCHEDULE", '{"remnd": "5m"}')
    get_settings.cache_clear()
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 1
    assert "names no job remnd" in result.output


class StderrReader:
    """The worker's stderr, read line by line in a thread (no buffering surprises)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen = ""
        self._thread = threading.Thread(target=self._pump, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, text: str, timeout: float) -> str:
        """Everything read up to the first line containing ``text`` (None: the end)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {text!r} within {timeout} s; stderr so far:\n{self.seen}")
            if line is None:
                return self.seen
            self.seen += line
            if text in line:
                return self.seen


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_running_worker_stops_cleanly_on_a_signal(
    store: str, tmp_path: Path, stop: signal.Signals
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNAAL_")}
    env.update(
        SIGNAAL_ENV="development",
        SIGNAAL_DATA_DIR=str(tmp_path / "data"),
        SIGNAAL_DATABASE_URL=store,
        SIGNAAL_WORKER_POLL_SECONDS="3600",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "signaal", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The first turn runs every job (none ran before), then the worker waits an hour. Its
        # start is generous (a loaded test machine imports slowly); the stop is what is tested.
        stderr = StderrReader(process)
        log = stderr.until("job remind: done", timeout=300)
        assert "job purge-expired: done" in log
        asked = time.monotonic()
        process.send_signal(stop)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(
                f"no stop within {STOP_SECONDS} s of {stop.name}; stderr:\n"
                + stderr.until("never printed", timeout=5)
            )
        took = time.monotonic() - asked
        remaining = stderr.until("never printed", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, remaining
    assert f"{stop.name}: stopping after the current job" in remaining
    assert "stopped" in remaining
    assert took < STOP_SECONDS
