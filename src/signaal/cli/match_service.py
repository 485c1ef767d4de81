"""``signaal match-service``: run the cross-deployment match service and register deployments.

A thin adapter over :mod:`signaal.match_service`. Every command reads the service's own
settings (``SIGNAAL_MATCH_SERVICE_*``), never a deployment's. Exit codes: 0 done, 1 a failure
(store, settings, a name already or not registered), 2 bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from signaal.cli.store import _errors, _print_table, out

match_service_app = typer.Typer(
    help="The match service: hit/no-hit between Signaal deployments (encodings only).",
    no_args_is_help=True,
)


@contextmanager
def _service_store() -> Iterator[Session]:
    from signaal.match_service.settings import load_service_settings
    from signaal.match_service.store import create_schema
    from signaal.store.db import make_engine, session_factory, transaction

    settings = load_service_settings()
    engine = make_engine(settings.database_url)
    try:
        create_schema(engine)
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@match_service_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default: the setting).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: the setting).")] = None,
) -> None:
    """Serve the match service's API with uvicorn (its own store, created when missing)."""
    import uvicorn

    from signaal.match_service.app import create_app
    from signaal.match_service.settings import load_service_settings

    with _errors():
        settings = load_service_settings()
        app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        server_header=False,
        log_level="info",
    )


@match_service_app.command("add-deployment")
def add_deployment(
    name: Annotated[str, typer.Argument(help="Name partners see on a hit (the organisation).")],
    contact_route: Annotated[
        str, typer.Option("--contact-route", help="How partners reach it about a hit.")
    ],
    purpose: Annotated[
        list[str],
        typer.Option("--purpose", help="A purpose it takes part in (repeat for several)."),
    ],
) -> None:
    """Register a deployment and print its bearer token, once (only its hash is stored)."""
    from signaal.match_service import service
    from signaal.store.models import utcnow

    with _errors(), _service_store() as db:
        deployment, token = service.add_deployment(db, name, contact_route, purpose, now=utcnow())
        purposes = ", ".join(service.purposes_of(db, deployment))
    out.print(f"deployment {name!r} registered for {purposes}", highlight=False)
    out.print("token (shown once, give it to the deployment's operator):", highlight=False)
    out.print(token, highlight=False, soft_wrap=True)


@match_service_app.command("revoke-deployment")
def revoke_deployment(
    name: Annotated[str, typer.Argument(help="The registered name.")],
) -> None:
    """End a deployment's token and delete its records (and every hit with them)."""
    from signaal.match_service import service
    from signaal.store.models import utcnow

    with _errors(), _service_store() as db:
        deleted = service.revoke_deployment(db, name, now=utcnow())
    out.print(f"deployment {name!r} revoked; {deleted} record(s) deleted", highlight=False)


@match_service_app.command("deployments")
def deployments() -> None:
    """List the registered deployments: name, contact route, purposes, records, state."""
    from signaal.match_service import service

    with _errors(), _service_store() as db:
        rows = [
            [
                d.name,
                d.contact_route,
                ", ".join(purposes),
                str(count),
                "revoked" if d.revoked_at else "active",
            ]
            for d, purposes, count in service.list_deployments(db)
        ]
    _print_table(["name", "contact route", "purposes", "records", "state"], rows)
