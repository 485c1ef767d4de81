"""``signaal chain enforce-retention`` from the command line: a table of counts per category,
``--dry-run`` deletes nothing, exit code 0."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from signaal.chain import accounts
from signaal.cli import app
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, transaction, upgrade
from signaal.store.models import AuditEvent, Notification, OrganisationKind

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}"
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    monkeypatch.setenv("SIGNAAL_RETENTION_NOTIFICATIONS_DAYS", "30")
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def _notifications(url: str, *ages_in_days: int) -> None:
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            organisation = accounts.create_organisation(
                session, name="Synthetisch Zorg", kind=OrganisationKind.CARE_COORDINATION
            )
            now = datetime.now(UTC)
            session.add_all(
                Notification(
                    organisation_id=organisation.id,
                    role="care_coordinator",
                    kind="test",
                    text="Synthetisch",
                    created_at=now - timedelta(days=days),
                )
                for days in ages_in_days
            )
    finally:
        engine.dispose()


def _left(url: str) -> tuple[int, list[str]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            notes = len(session.scalars(select(Notification)).all())
            actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    finally:
        engine.dispose()
    return notes, actions


def test_a_dry_run_counts_and_deletes_nothing_then_a_run_deletes(store: str) -> None:
    _notifications(store, 31, 29)
    dry = runner.invoke(app, ["chain", "enforce-retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "notifications\t30\tcreation\t1" in dry.output
    assert "1 record(s) past their retention period would be deleted (dry run)" in dry.output
    assert _left(store)[0] == 2
    real = runner.invoke(app, ["chain", "enforce-retention"])
    assert real.exit_code == 0, real.output
    assert "notifications\t30\tcreation\t1" in real.output
    assert "cases\t730\tclosing\t0" in real.output
    assert "1 record(s) past their retention period deleted" in real.output
    notes, actions = _left(store)
    assert notes == 1
    assert actions.count("retention.enforced") == 2
