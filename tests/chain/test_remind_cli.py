"""``signaal chain remind``: the reminder job from the command line, as the system actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from signaal.cli import app
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, transaction, upgrade
from signaal.store.models import Notification, OutboxMail, Task

from .casework_fixtures import world


@pytest.fixture
def store(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}"
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    monkeypatch.delenv("SIGNAAL_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def test_remind_queues_mails_once_without_an_smtp_host(store):  # type: ignore[no-untyped-def]
    engine = make_engine(store)
    try:
        with transaction(session_factory(engine)) as session:
            w = world(session)
            session.add(
                Task(
                    organisation_id=w.outreach.id,
                    title="Bellen",
                    due_at=datetime.now(UTC) - timedelta(minutes=1),
                    owner_user_id=w.worker.user_id,
                )
            )
        runner = CliRunner()
        first = runner.invoke(app, ["chain", "remind"])
        assert first.exit_code == 0, first.output
        assert "1 tasks reminded" in first.output
        assert "no SMTP host" in first.output
        assert "reminder(s) of overdue routing for the care coordinators" in first.output
        second = runner.invoke(app, ["chain", "remind"])
        assert second.exit_code == 0
        assert "0 tasks reminded" in second.output
        with session_factory(engine)() as session:
            assert len(session.scalars(select(Notification)).all()) == 1
            assert len(session.scalars(select(OutboxMail)).all()) == 1
    finally:
        engine.dispose()
