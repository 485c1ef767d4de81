"""Migrations build the schema from nothing, match the models, and go back down cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from signaal.errors import StoreError
from signaal.store import db
from signaal.store.models import Base


def test_upgrade_from_empty_creates_every_table_and_matches_the_models(store_url: str) -> None:
    assert db.current_revision(store_url) is None
    db.upgrade(store_url)
    assert db.current_revision(store_url) == db.head_revision()
    engine = db.make_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    # `alembic check`: the models and the migrations describe the same schema.
    assert db.schema_drift(store_url) == []


def test_upgrade_is_idempotent_and_downgrade_empties(store_url: str) -> None:
    db.upgrade(store_url)
    db.upgrade(store_url)
    db.downgrade(store_url, "base")
    assert db.current_revision(store_url) is None
    engine = db.make_engine(store_url)
    try:
        leftover = set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    finally:
        engine.dispose()
    assert leftover == set()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []


def test_drift_is_detected_when_the_database_differs(store_url: str) -> None:
    db.upgrade(store_url)
    migrated_url = store_url
    engine = db.make_engine(migrated_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
            conn.execute(text("DROP INDEX ix_users_organisation_id"))
    finally:
        engine.dispose()
    diffs = db.schema_drift(migrated_url)
    rendered = repr(diffs)
    assert "stray" in rendered
    assert "ix_users_organisation_id" in rendered


def test_sqlite_engine_enforces_foreign_keys_and_uses_wal(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "nested" / "folder" / "s.db"
    engine = db.make_engine(f"sqlite:///{path.as_posix()}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
    assert path.parent.is_dir()


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid database URL"):
        db.make_engine("not a url")


def test_unreachable_database_is_a_store_error_with_context() -> None:
    with pytest.raises(StoreError, match="migrating the app store at postgresql"):
        db.upgrade("postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing?connect_timeout=2")


def test_unreachable_test_postgres_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conftest import create_postgres_database

    monkeypatch.setenv(
        "SIGNAAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test"
    )
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is not reachable"):
        create_postgres_database()


def test_concurrent_upgrades_of_an_empty_store_do_not_collide(store_url: str) -> None:
    import threading

    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            db.upgrade(store_url)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "migrations deadlocked"
    assert errors == []
    assert db.current_revision(store_url) == db.head_revision()
    assert db.schema_drift(store_url) == []


def test_runs_stored_before_0002_get_their_owner_or_are_removed(store_url: str) -> None:
    """0002 gives every analysis run an owning organisation: the one of the user who stored it.
    A run stored without a user (the command line before 0002) has no owner anyone can name and
    is removed with its rows, so no run is left that every organisation would see."""
    db.upgrade(store_url, "0001")
    engine = db.make_engine(store_url)
    at = "2026-03-01 12:00:00+00:00"
    run = (
        "INSERT INTO analysis_runs (id, source, started_at, finished_at, stored_at, expires_at,"
        " n_ads, n_personas, n_networks, n_movements, n_quarantined, stored_by_user_id)"
        " VALUES (:id, :source, :at, :at, :at, '2999-01-01 00:00:00+00:00', 1, 1, 1, 0, 0,"
        " :user)"
    )
    try:
        with engine.begin() as conn:
            for organisation_id, name in ((1, "Politie"), (2, "GGD")):
                conn.execute(
                    text(
                        "INSERT INTO organisations (id, name, kind, is_demo, created_at)"
                        " VALUES (:id, :name, 'police', false, :at)"
                    ),
                    {"id": organisation_id, "name": name, "at": at},
                )
            conn.execute(
                text(
                    "INSERT INTO users (id, email, display_name, organisation_id, role,"
                    " password_hash, totp_enabled, is_demo, is_active, created_at)"
                    " VALUES (5, 'analist@ggd.example.test', 'Analist', 2, 'analyst', 'x',"
                    " false, false, true, :at)"
                ),
                {"at": at},
            )
            for run_id, user in ((10, 5), (11, None)):
                conn.execute(
                    text(run), {"id": run_id, "source": f"run-{run_id}", "at": at, "user": user}
                )
                conn.execute(
                    text(
                        "INSERT INTO analysis_personas (run_id, persona_id, network_id, n_ads,"
                        " municipalities, risk_score, reasons) VALUES (:run, 'P-1', 'N-1', 1,"
                        " '', 10, '')"
                    ),
                    {"run": run_id},
                )
                conn.execute(
                    text(
                        "INSERT INTO analysis_networks (run_id, network_id, n_personas, n_ads,"
                        " contact_points, municipalities, risk_score, reasons) VALUES (:run,"
                        " 'N-1', 1, 1, '', '', 10, '')"
                    ),
                    {"run": run_id},
                )
        db.upgrade(store_url)
        with engine.connect() as conn:
            runs = conn.execute(
                text("SELECT id, organisation_id FROM analysis_runs ORDER BY id")
            ).all()
            personas = conn.execute(text("SELECT run_id FROM analysis_personas")).scalars().all()
            networks = conn.execute(text("SELECT run_id FROM analysis_networks")).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in runs] == [(10, 2)]
    assert personas == [10]
    assert networks == [10]
    assert db.schema_drift(store_url) == []


def test_the_watchlist_migration_adds_its_tables_and_goes_back_down(store_url: str) -> None:
    """Migration 0012 adds the watchlists' two tables and the downgrade to 0011 drops them
    again, keeping the rest."""
    db.upgrade(store_url, "head")
    db.downgrade(store_url, "0011")
    engine = db.make_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not {"watchlist_watches", "watchlist_alerts"} & tables
    assert "subjects" in tables
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []


def test_the_retention_migration_adds_the_legal_hold_and_goes_back_down(store_url: str) -> None:
    """The retention migration (0011): subjects get a legal hold (off for existing rows), and
    the downgrade drops it again, keeping the subjects."""
    db.upgrade(store_url, "head")
    db.downgrade(store_url, "0010")
    engine = db.make_engine(store_url)
    try:
        assert "legal_hold" not in {c["name"] for c in inspect(engine).get_columns("subjects")}
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, kind, is_demo, created_at) "
                    "VALUES (1, 'Zorg Oud', 'care_coordination', false, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO subjects (id, organisation_id, alias, created_at, updated_at) "
                    "VALUES (1, 1, 'Roos', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []
    engine = db.make_engine(store_url)
    try:
        with engine.connect() as conn:
            held = conn.execute(text("SELECT legal_hold, legal_hold_at FROM subjects")).one()
        assert (bool(held[0]), held[1]) == (False, None)
    finally:
        engine.dispose()
    db.downgrade(store_url, "0010")
    engine = db.make_engine(store_url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("subjects")}
        indexes = {i["name"] for i in inspect(engine).get_indexes("cases")}
        with engine.connect() as conn:
            aliases = conn.execute(text("SELECT alias FROM subjects")).scalars().all()
    finally:
        engine.dispose()
    assert not {"legal_hold", "legal_hold_reason", "legal_hold_at"} & columns
    assert "ix_cases_closed_at" not in indexes
    assert aliases == ["Roos"]


def test_the_remote_matching_migration_adds_its_tables_and_goes_back_down(store_url: str) -> None:
    """Migration 0013: the match service's queue, withdrawals and remote hits; the downgrade
    to 0012 drops the three tables and keeps the rest."""
    tables = {"remote_match_records", "remote_match_withdrawals", "remote_hits"}
    db.upgrade(store_url, "head")
    engine = db.make_engine(store_url)
    try:
        assert tables <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    db.downgrade(store_url, "0012")
    engine = db.make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert not tables & names
        assert {"subject_encodings", "watchlist_watches"} <= names
    finally:
        engine.dispose()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []


def test_the_ingest_migration_adds_its_tables_and_goes_back_down(store_url: str) -> None:
    """Migration 0014: ingested ads and the lineage of runs; the downgrade to 0013 drops the
    two tables and keeps the rest."""
    tables = {"ingested_ads", "analysis_lineage"}
    db.upgrade(store_url, "0014")
    engine = db.make_engine(store_url)
    try:
        inspector = inspect(engine)
        assert tables <= set(inspector.get_table_names())
        unique = {u["name"] for u in inspector.get_unique_constraints("ingested_ads")}
        assert "uq_ingested_ads_org_ad_version" in unique
    finally:
        engine.dispose()
    db.downgrade(store_url, "0013")
    engine = db.make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert not tables & names
        assert {"remote_hits", "analysis_runs"} <= names
    finally:
        engine.dispose()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []


def test_the_control_visits_migration_adds_its_table_and_goes_back_down(store_url: str) -> None:
    """Migration 0015: the personas of a joint control's visit list; the downgrade to 0014
    drops the table and keeps the controls."""
    db.upgrade(store_url, "head")
    engine = db.make_engine(store_url)
    try:
        assert "joint_control_personas" in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    db.downgrade(store_url, "0014")
    engine = db.make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert "joint_control_personas" not in names
        assert {"joint_controls", "ingested_ads"} <= names
    finally:
        engine.dispose()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []


def test_the_ad_photos_migration_adds_its_table_and_goes_back_down(store_url: str) -> None:
    """Migration 0016: the photos of stored ads (hash, cluster, encrypted thumbnail); the
    downgrade to 0015 drops the table and keeps the runs."""
    db.upgrade(store_url, "head")
    engine = db.make_engine(store_url)
    try:
        assert "analysis_ad_photos" in set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    db.downgrade(store_url, "0015")
    engine = db.make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert "analysis_ad_photos" not in names
        assert {"analysis_runs", "analysis_ads", "joint_control_personas"} <= names
    finally:
        engine.dispose()
    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []
