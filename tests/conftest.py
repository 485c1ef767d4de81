"""Shared fixtures.

App store fixtures run every test that uses them on both backends, like splink's dialect tests:

- ``store_url``: the URL of a new, *empty* database (SQLite file in a temporary folder, or a new
  PostgreSQL database ``signaal_test_<hex>`` on the server at ``SIGNAAL_TEST_POSTGRES_URL``,
  dropped afterwards). Tests on PostgreSQL carry the ``postgres`` mark.
- ``migrated_url``: a database already at the newest migration, with every table empty (SQLite:
  a copy of a file migrated once per session; PostgreSQL: one database migrated once per session
  and emptied before each test). Tests that change the *schema* must use ``store_url``.
- ``engine`` / ``db_session``: an engine and a session on ``migrated_url``.

PostgreSQL is never skipped: when it does not answer, the test fails and says how to start it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from signaal.settings import Settings, load_settings

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> str:
    return os.environ.get("SIGNAAL_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    url = postgres_server_url()
    try:
        return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(url).render_as_string(hide_password=True)}"
            f" ({exc}). Start it (./dev check does) or set SIGNAAL_TEST_POSTGRES_URL.",
            pytrace=False,
        )


def create_postgres_database(template: str | None = None) -> str:
    """Create a uniquely named database (optionally from a template) and return its URL."""
    name = f"signaal_test_{uuid.uuid4().hex[:16]}"
    with _admin_connection() as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    # Test data need not survive a crash: not waiting for the WAL flush makes commits cheap.
    url = make_url(postgres_server_url()).set(database=name)
    url = url.update_query_dict({"options": "-c synchronous_commit=off"})
    return url.render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty app store database on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{(tmp_path / 'store' / 'signaal.db').as_posix()}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from signaal.store.db import upgrade

    path = tmp_path_factory.mktemp("template") / "signaal.db"
    upgrade(f"sqlite:///{path.as_posix()}")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[str]:
    """One migrated PostgreSQL database per test session (and xdist worker), reset per test."""
    from signaal.store.db import upgrade

    url = create_postgres_database()
    upgrade(url)
    try:
        yield url
    finally:
        drop_postgres_database(url)


def reset_postgres_store(url: str) -> None:
    """Empty every app store table (faster than a new database per test) and restore the
    audit chain head and the append-only triggers, whatever the last test did to them."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from signaal.audit import CHAIN_HEAD_ID, GENESIS_HASH
    from signaal.store.models import Base

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            # Replica mode: the append-only triggers do not fire for this cleanup. DELETE is
            # several times faster than TRUNCATE on tables this small.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            ).scalars()
            for sequence in list(sequences):
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            conn.execute(
                text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (:id, 0, :genesis)"),
                {"id": CHAIN_HEAD_ID, "genesis": GENESIS_HASH},
            )
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER ALL"))
    finally:
        engine.dispose()


@pytest.fixture
def migrated_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new app store database at the newest migration, on each backend."""
    from signaal.store import run_cache

    run_cache.clear()  # run ids start again at 1 in every test's database
    if backend == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        target = tmp_path / "store" / "signaal.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        yield f"sqlite:///{target.as_posix()}"
        return
    url: str = request.getfixturevalue("_postgres_migrated")
    reset_postgres_store(url)
    yield url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    from signaal.store.db import make_engine

    created = make_engine(migrated_url)
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    from signaal.store.db import session_factory

    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Development settings with a data folder of the test's own."""
    return load_settings(env="development", data_dir=tmp_path / "data")


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters in tests: the real ones cost ~0.1 s per hash by design."""
    from argon2 import PasswordHasher

    from signaal.chain import accounts

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def deidentify_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with a current de-identification cache: the repository's data/ when
    `./dev setup` built it there, otherwise built once per test session (one to two minutes)."""
    from signaal.privacy import deidentifier

    repository_data = Path(__file__).resolve().parents[1] / "data"
    if deidentifier.cache_is_current(repository_data):
        return repository_data
    data_dir = tmp_path_factory.mktemp("deidentify-data")
    deidentifier.build_cache(data_dir)
    return data_dir
