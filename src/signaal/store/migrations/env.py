"""Alembic environment: runs the migrations on the connection Signaal hands over.

``signaal.store.db.upgrade`` passes an open connection in ``config.attributes["connection"]``;
the plain ``alembic`` command line (for developers writing a migration, see docs/store.md) opens
one from ``-x url=...`` or the settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from signaal.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things in place: batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from signaal.settings import get_settings
    from signaal.store.db import make_engine, url_from_settings

    # The plain alembic command line: `-x url=...`, else the settings' store.
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = make_engine(url or url_from_settings(get_settings()))
    try:
        with engine.begin() as opened:
            _run(opened)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run signaal db upgrade")
run_migrations_online()
