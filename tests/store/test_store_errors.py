"""Store failures are one line: what failed and the driver's reason, never a traceback, the SQL
statement or the values of the records (which can be people's data)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signaal.chain.authz import SYSTEM
from signaal.cli import app
from signaal.errors import StoreError
from signaal.settings import get_settings, load_settings
from signaal.store import analysis
from signaal.store.db import current_revision, make_engine, session_factory, transaction, upgrade
from signaal.store.models import Organisation, OrganisationKind

UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing?connect_timeout=2"
SECRET_TEXT = "Synthetische advertentie met geheime-waarde-4711"


def assert_one_line(message: str) -> None:
    assert "\n" not in message.strip(), message
    for noise in ("Traceback", "[SQL:", "[parameters:", "Background on this error", "secret"):
        assert noise not in message, message


def test_an_unreachable_store_is_one_line_without_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        current_revision(UNREACHABLE)
    assert_one_line(raised.value.message)
    assert "Connection refused" in raised.value.message or "connection" in raised.value.message


def test_a_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not sqlite " * 100)
    with pytest.raises(StoreError) as raised:
        upgrade(f"sqlite:///{path.as_posix()}")
    assert_one_line(raised.value.message)
    assert "not a database" in raised.value.message


def test_a_failed_write_names_the_reason_but_no_values(store_url: str) -> None:
    """A broken table under save_analysis: one line, and not the ad text that was written."""
    upgrade(store_url)
    engine = make_engine(store_url)
    try:
        with transaction(session_factory(engine)) as session:
            owner = Organisation(name="Kapot", kind=OrganisationKind.POLICE)
            session.add(owner)
            session.flush()
            owner_id = owner.id
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE analysis_ads RENAME TO analysis_ads_gone"))
        now = datetime.now(UTC)
        with session_factory(engine)() as session, pytest.raises(StoreError) as raised:
            _save(session, owner_id, now)
    finally:
        engine.dispose()
    assert_one_line(raised.value.message)
    assert "analysis_ads" in raised.value.message
    assert "geheime-waarde" not in raised.value.message


def _save(session: Session, owner_id: int, now: datetime) -> None:
    analysis.save_analysis(
        session,
        source="kapot",
        started_at=now - timedelta(minutes=1),
        finished_at=now,
        ads=[
            {
                "ad_id": "A-1",
                "persona_id": "P-1",
                "network_id": "N-1",
                "risk_score": 10,
                "risk_level": "log",
                "text": SECRET_TEXT,
            }
        ],
        personas=[],
        networks=[],
        movements=[],
        n_quarantined=0,
        organisation_id=owner_id,
        actor=SYSTEM,
        settings=load_settings(env="development"),
    )


@pytest.fixture
def broken_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The command line pointed at a migrated store whose users table is gone (a store of its
    own: the schema is changed)."""
    upgrade(store_url)
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE user_enrolments"))
            conn.execute(text("DROP TABLE login_sessions"))
            # The chain's tables refer to users too; PostgreSQL drops those constraints with it.
            cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
            conn.execute(text("DROP TABLE users" + cascade))
    finally:
        engine.dispose()
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", store_url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    get_settings.cache_clear()
    yield store_url
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command",
    [
        ["users", "list"],
        ["users", "deactivate", "x@example.test"],
        ["users", "reset-second-factor", "x@e.test"],
    ],
)
def test_commands_on_a_broken_store_print_one_line(broken_store: str, command: list[str]) -> None:
    result = CliRunner().invoke(app, command)
    output = result.output.strip()
    assert isinstance(result.exception, SystemExit), output  # no traceback
    if command[0] == "users":
        assert result.exit_code == 1
        assert output.startswith("error: ")
        assert "users" in output
    assert_one_line(output)


def test_unreachable_store_from_the_command_line_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", UNREACHABLE)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.output.startswith("error: ")
    assert_one_line(result.output)


def test_a_store_failure_under_a_web_request_is_logged_in_one_line(
    store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from signaal.web.app import create_app

    settings = load_settings(
        env="test",
        database_url=store_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef-0123456789",
        pseudonym_key="test-pseudonym-key-0123456789abcdef-012345",
        audit_key="test-audit-key-0123456789abcdef-0123456789ab",
        contact_key="test-contact-key-0123456789abcdef-0123456789",
        data_key="test-data-key-0123456789abcdef-0123456789abcd",
    )
    upgrade(store_url)
    web = create_app(settings)
    try:
        with web.state.web.engine.begin() as conn:
            conn.execute(text("DROP TABLE user_enrolments"))
            conn.execute(text("DROP TABLE login_sessions"))
        state = web.state.web
        client = TestClient(web, base_url="https://testserver", follow_redirects=False)
        client.cookies.set(state.cookies.session_cookie, state.signer.sign_session("x" * 43))
        with caplog.at_level(logging.INFO, logger="signaal"):
            response = client.get("/dashboard")
    finally:
        web.state.web.engine.dispose()
    assert response.status_code == 500
    failures = [r for r in caplog.records if "store failure" in r.getMessage()]
    assert failures, [r.getMessage() for r in caplog.records]
    for record in failures:
        assert record.exc_info is None
        assert_one_line(record.getMessage())
    assert "login_sessions" in failures[0].getMessage()
