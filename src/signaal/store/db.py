"""Engines, sessions and migrations of the app store (SQLite by default, PostgreSQL for teams).

Nothing outside ``signaal.store`` needs to know which backend runs: the same models, migrations
and tests serve both. Database errors leave this package as :class:`~signaal.errors.StoreError`
with context.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from signaal.errors import StoreError
from signaal.settings import Settings
from signaal.store.encrypted import use_data_key

# How long SQLite waits for another writer before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATION_BUSY_TIMEOUT_MS = 120_000


def database_problem(exc: BaseException) -> str:
    """One line about a database error, for a :class:`StoreError` message: the driver's error
    class and the first line of its message, without the SQL statement, its parameters (which
    can hold the data of records) or SQLAlchemy's background link."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    first = lines[0] if lines else "no details"
    if first.startswith("(") and ") " in first:  # SQLAlchemy's "(module.Error) message"
        first = first.split(") ", 1)[1]
    name = type(original).__name__
    return f"{name}: {first}" if name not in first else first


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _use_write_ahead_log(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _use_write_ahead_log(cursor: sqlite3.Cursor) -> None:
    """Switch the database to the write-ahead log. On a new file, connections opened at the same
    moment (several processes migrating an empty store) race for the switch, and SQLite answers
    the loser "database is locked" at once, without its busy handler: try again for a while."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str, *, data_key: str | None = None, **options: Any) -> Engine:
    """An engine for the app store at ``url``.

    SQLite: foreign keys on, write-ahead log (readers do not block the writer), a busy timeout;
    the folder of the database file is created. PostgreSQL: a small pool that checks connections
    before use. ``data_key`` encrypts the special categories at rest
    (:mod:`signaal.store.encrypted`); without it, the settings' data key. Extra ``options`` go
    to :func:`sqlalchemy.create_engine`.
    """
    engine = _make_engine(url, **options)
    if data_key is not None:
        use_data_key(engine.dialect, data_key)
    return engine


def _make_engine(url: str, **options: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {describe_url(url)}: {exc}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, **{"hide_parameters": True, **options})
            event.listen(engine, "connect", _on_sqlite_connect)
            return engine
        defaults: dict[str, Any] = {
            "pool_pre_ping": True,
            "pool_size": 5,
            "max_overflow": 10,
            "pool_recycle": 1800,
            # Error messages never carry the values of a statement (records' data).
            "hide_parameters": True,
        }
        defaults.update(options)
        return create_engine(parsed, **defaults)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        problem = database_problem(exc)
        raise StoreError(f"cannot open the app store at {describe_url(url)}: {problem}") from exc


# Key in ``Session.info`` under which a session carries the audit key (see signaal.audit): the
# key lives in the settings, never in the database, and travels with the session so that
# ``audit.record(session, ...)`` needs no extra argument at its many call sites.
AUDIT_KEY_INFO = "signaal.audit_key"


def session_factory(engine: Engine, *, audit_key: str | None = None) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (no expiry).

    ``audit_key`` is the key the sessions' audit rows are keyed with; without it they use the
    key of the process's settings (``get_settings().audit_key``).
    """
    info = {} if audit_key is None else {AUDIT_KEY_INFO: audit_key}
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed when the block ends, or rolled back on any error.

    Database errors come out as :class:`StoreError`; Signaal's own errors pass unchanged.
    """
    with factory() as session:
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            problem = database_problem(exc)
            raise StoreError(f"the app store refused the change: {problem}") from exc
        except BaseException:
            session.rollback()
            raise


def url_from_settings(settings: Settings) -> str:
    """The store URL from the settings; for the default SQLite file the data folder is created."""
    url = settings.effective_database_url
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return url


def _alembic_config(url: str) -> Config:
    ini = resources.files("signaal.store") / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", "signaal.store:migrations")
    # ConfigParser treats % as interpolation; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Key of the PostgreSQL advisory lock that serialises migrations ("SgnL").
MIGRATION_LOCK_KEY = 0x53676E4C


def _lock_for_migration(connection: Connection) -> None:
    """Make concurrent upgrades (several web workers starting at once) run one after another:
    the second waits, then finds the store already migrated."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # Take the write lock before alembic reads the current revision.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(url: str, revision: str = "head", *, data_key: str | None = None) -> None:
    """Bring the store at ``url`` to ``revision`` (default: the newest), creating it if empty.

    Safe to run from several processes at once. ``data_key``: the key that migration 0008
    encrypts the special categories with (default: the settings' data key).
    """
    _migrate(url, command.upgrade, revision, "migrating", data_key)


def downgrade(url: str, revision: str, *, data_key: str | None = None) -> None:
    """Take the store at ``url`` back to ``revision`` (``base`` empties it)."""
    _migrate(url, command.downgrade, revision, "downgrading", data_key)


def _migrate(
    url: str,
    step: Callable[[Config, str], None],
    revision: str,
    doing: str,
    data_key: str | None = None,
) -> None:
    """Run one Alembic command on ``url`` under the migration lock, in one transaction."""
    engine = make_engine(url, data_key=data_key)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite's procedure for schema changes: batch mode rebuilds a table by copying
                # and dropping it, and with foreign keys on, dropping a parent table deletes its
                # children (ON DELETE CASCADE). The pragma only works outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                # Another process may be migrating: wait for its write lock as long as a slow
                # migration may take, not the usual busy timeout.
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {MIGRATION_BUSY_TIMEOUT_MS}")
                connection.commit()
            try:
                with connection.begin():
                    _lock_for_migration(connection)
                    config = _alembic_config(url)
                    config.attributes["connection"] = connection
                    step(config, revision)
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise StoreError(
                                f"{doing} the app store at {describe_url(url)} left a broken "
                                f"foreign key in table {broken[0]}; nothing was changed"
                            )
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                    connection.commit()
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        raise StoreError(f"{doing} the app store at {describe_url(url)} failed: {problem}") from exc
    finally:
        engine.dispose()


def ensure_migrated(url: str) -> None:
    """Upgrade the store at ``url`` only when it is not at the newest revision (cheap check)."""
    if current_revision(url) != head_revision():
        upgrade(url)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration revision shipped with this version of Signaal."""
    script = ScriptDirectory.from_config(_alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise StoreError("no migrations found in signaal.store.migrations")
    return head


def current_revision(url: str) -> str | None:
    """The revision the store at ``url`` is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        raise StoreError(f"cannot read the revision of {describe_url(url)}: {problem}") from exc
    finally:
        engine.dispose()


def schema_drift(url: str) -> list[Any]:
    """Differences between the models and the migrated database at ``url`` (empty = none).

    The same comparison as ``alembic check``: a non-empty answer means a migration is missing.
    """
    from signaal.store.models import Base

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            return list(compare_metadata(context, Base.metadata))
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        raise StoreError(f"cannot compare the schema of {describe_url(url)}: {problem}") from exc
    finally:
        engine.dispose()
