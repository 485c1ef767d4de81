"""``signaal chain``: jobs of chain coordination (reminders of due tasks)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from signaal.cli.store import _errors, _store, out

chain_app = typer.Typer(help="Jobs of chain coordination: reminders of due tasks.")


@chain_app.command("remind")
def chain_remind() -> None:
    """Remind the owners of due tasks (in the app and by e-mail) and send queued mails."""
    from signaal.chain.tasks import send_reminders
    from signaal.settings import get_settings

    with _errors(), _store() as session:
        summary = send_reminders(session, datetime.now(UTC), get_settings())
    out.print(summary.describe(), highlight=False)
    for problem in summary.errors:
        out.print(f"problem: {problem}", highlight=False)
    if summary.errors or summary.failed:
        raise typer.Exit(1)
