"""``signaal serve`` and ``signaal demo``: run the web app (the demo with demo data first)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from signaal.errors import ConfigurationError, SignaalError
from signaal.settings import Environment, Settings, get_settings

DEMO_ADS = 3000
DEMO_SEED = 1


def _fail(message: str) -> typer.Exit:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def _prepare_store(settings: Settings) -> str:
    from signaal.store.db import upgrade, url_from_settings

    url = url_from_settings(settings)
    upgrade(url)
    return url


def _run_server(
    settings: Settings, host: str, port: int, forwarded_allow_ips: str | None = None
) -> None:
    import uvicorn

    from signaal.web.app import create_app

    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        # Only a proxy named here may tell the client's address (X-Forwarded-For); it is what
        # login rate limiting and the audit log record.
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        date_header=True,
        log_level="info",
    )


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (SIGNAAL_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to listen on (SIGNAAL_PORT).", min=1)
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated addresses of the reverse proxies whose X-Forwarded-For "
            "header is trusted for the client's address (default: none).",
        ),
    ] = None,
) -> None:
    """Bring the app store up to date and serve the web app."""
    try:
        settings = get_settings()
        _prepare_store(settings)
    except SignaalError as exc:
        raise _fail(exc.message) from exc
    _run_server(settings, host or settings.host, port or settings.port, forwarded_allow_ips)


def demo_analysis_organisations() -> list[str]:
    """The demo organisations whose demo users may read analyses or their local figures: each
    gets its own copy of the demo analysis (an organisation sees only its own runs)."""
    from signaal.chain.accounts import DEMO_ORGANISATIONS, DEMO_ROLE_ORGANISATION
    from signaal.chain.authz import Action, roles

    kinds = {
        kind
        for role, kind in DEMO_ROLE_ORGANISATION.items()
        if role in roles()
        and roles()[role].actions & {Action.VIEW_ANALYSIS, Action.VIEW_LOCAL_FIGURES}
    }
    return [name for kind, name in DEMO_ORGANISATIONS.items() if kind in kinds]


def load_demo_analysis(settings: Settings, *, ads: int = DEMO_ADS) -> str:
    """Generate the synthetic demo corpus into ``<data>/demo`` and store its analysis.

    Returns one line for the console saying what was loaded. Runs the same commands a user
    would (``signaal synth`` and ``signaal analyse --store``) so that the demo shows exactly
    what the command line produces. Nothing is generated twice: an existing corpus is reused
    and an already stored analysis is kept.
    """
    from signaal.chain.accounts import find_organisation, seed_demo
    from signaal.store import analysis
    from signaal.store.db import make_engine, session_factory, transaction, url_from_settings

    corpus = settings.data_dir / "demo"
    url = url_from_settings(settings)
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)  # the owners of the demo analysis (once)
            run = None
            for name in demo_analysis_organisations():
                owner = find_organisation(session, name)
                run = analysis.latest_run(session, owner.id) if owner else None
                if run is not None:
                    break
    finally:
        engine.dispose()
    if run is not None:
        return f"Analysis already stored (run {run.id}, {run.n_ads} ads); kept."
    environment = {
        **os.environ,
        "SIGNAAL_DATABASE_URL": url,
        "SIGNAAL_DATA_DIR": str(settings.data_dir),
    }
    if not (corpus / "ads.jsonl").exists():
        _signaal(
            [
                "synth",
                "--out",
                str(corpus),
                "--ads",
                str(ads),
                "--seed",
                str(DEMO_SEED),
                "--photos",
            ],
            environment,
        )
    owners: list[str] = []
    for name in demo_analysis_organisations():
        owners += ["--organisation", name]
    _signaal(
        [
            "analyse",
            str(corpus / "ads.jsonl"),
            "--out",
            str(corpus / "analysis"),
            "--store",
            *owners,
        ],
        environment,
    )
    return f"Analysed the synthetic demo corpus in {corpus} and stored the results."


def _signaal(arguments: list[str], environment: dict[str, str]) -> None:
    command = [sys.executable, "-m", "signaal", *arguments]
    completed = subprocess.run(command, env=environment, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise SignaalError(f"`signaal {' '.join(arguments)}` failed (exit {completed.returncode})")


def demo(
    serve_app: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app after loading the demo.")
    ] = True,
    ads: Annotated[
        int, typer.Option("--ads", help="Size of the synthetic demo corpus.", min=100)
    ] = DEMO_ADS,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (SIGNAAL_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (SIGNAAL_PORT).", min=1, max=65535),
    ] = None,
) -> None:
    """Set up the embedded store with demo organisations, users and analysis, then serve it.

    Demo accounts have known passwords and skip two-factor authentication, so they work only in
    development (the default). The app is served at http://127.0.0.1:8000 (SIGNAAL_HOST,
    SIGNAAL_PORT, or --host and --port).
    """
    from rich.console import Console
    from rich.table import Table

    from signaal.chain.accounts import seed_demo
    from signaal.store.db import make_engine, session_factory, transaction
    from signaal.synth.chain import seed_chain_demo

    console = Console()
    if not console.is_terminal:  # keep the logins whole when the output goes to a file or pipe
        console = Console(width=200)
    try:
        settings = get_settings()
        if settings.env is not Environment.DEVELOPMENT:
            raise ConfigurationError(
                "signaal demo runs only with SIGNAAL_ENV=development: demo accounts have "
                "published passwords"
            )
        url = _prepare_store(settings)
        engine = make_engine(url)
        try:
            with transaction(session_factory(engine)) as session:
                logins = seed_demo(session)
                chain = seed_chain_demo(
                    session,
                    pseudonym_key=settings.pseudonym_key,
                    contact_key=settings.contact_key,
                )
        finally:
            engine.dispose()
        summary = load_demo_analysis(settings, ads=ads)
    except SignaalError as exc:
        raise _fail(exc.message) from exc

    console.print(f"[bold]Store:[/] {_describe_store(settings)}")
    console.print(f"[bold]Analysis:[/] {summary}")
    console.print(f"[bold]Chain:[/] {chain.describe()}", highlight=False)
    table = Table(title="Demo logins (no second factor for demo accounts)")
    for column in ("e-mail", "password", "role", "organisation"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.email, login.password, login.role, login.organisation)
    console.print(table)
    host, port = host or settings.host, port or settings.port
    url_shown = f"http://{host}:{port}"
    if serve_app:
        console.print(f"Open [bold]{url_shown}[/] and log in with one of the accounts above.")
        _run_server(settings, host, port)
    else:
        command = "signaal serve"
        command += "" if host == settings.host else f" --host {host}"
        command += "" if port == settings.port else f" --port {port}"
        console.print(
            f"Start the app with [bold]{command}[/] and open [bold]{url_shown}[/].",
            highlight=False,
        )


def _describe_store(settings: Settings) -> str:
    if settings.database_url:
        return "the database at SIGNAAL_DATABASE_URL"
    return f"embedded SQLite at {Path(settings.data_dir) / 'signaal.db'}"
