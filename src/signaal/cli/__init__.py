"""The ``signaal`` command line: thin adapters over the library.

Each command group lives in its own module under ``signaal.cli`` and is registered here.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="signaal",
    help="Signaal: explained signals from online sex ads, and a shared place for follow-up.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """Signaal: explained signals from online sex ads, and a shared place for follow-up."""


@app.command("settings")
def show_settings() -> None:
    """List every setting with its environment variable, current value and help text."""
    from rich.console import Console
    from rich.table import Table

    from signaal.settings import Settings, get_settings

    current = get_settings()
    table = Table("variable", "value", "help")
    secret = {
        "secret_key",
        "pseudonym_key",
        "database_url",
        "remote_match_token",
        "remote_match_secrets",
    }
    for name, info in Settings.model_fields.items():
        value = getattr(current, name)
        shown = "(set)" if name in secret and value else str(value)
        table.add_row(f"SIGNAAL_{name.upper()}", shown, info.description or "")
    Console().print(table)


from signaal.cli import store as _store  # noqa: E402  (registers after app exists)

app.add_typer(_store.db_app, name="db")
app.add_typer(_store.organisations_app, name="organisations")
app.add_typer(_store.users_app, name="users")
app.add_typer(_store.audit_app, name="audit")

from signaal.cli import chain as _chain  # noqa: E402

app.add_typer(_chain.chain_app, name="chain")

from signaal.cli.triage import triage_app as _triage_app  # noqa: E402

app.add_typer(_triage_app, name="triage")

from signaal.cli.api_tokens import api_tokens_app as _api_tokens_app  # noqa: E402

app.add_typer(_api_tokens_app, name="api-tokens")

from signaal.cli.synth import synth as _synth  # noqa: E402

app.command("synth")(_synth)

from signaal.cli import web as _web  # noqa: E402

app.command("serve")(_web.serve)
app.command("demo")(_web.demo)

from signaal.cli.analyse import analyse as _analyse  # noqa: E402

app.command("analyse")(_analyse)

from signaal.cli.ingest import ingest as _ingest  # noqa: E402

app.command("ingest")(_ingest)

from signaal.cli.calibrate import calibrate as _calibrate  # noqa: E402

app.command("calibrate")(_calibrate)


from signaal.cli.deidentify import setup_deidentify as _setup_deidentify  # noqa: E402

app.command("setup-deidentify")(_setup_deidentify)

from signaal.cli.worker import worker as _worker  # noqa: E402

app.command("worker")(_worker)


from signaal.cli.match_service import match_service_app as _match_service_app  # noqa: E402

app.add_typer(_match_service_app, name="match-service")


def main() -> None:
    app()
