"""``signaal chain``: jobs of chain coordination (reminders of due tasks and overdue routing,
the end of protective watches)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from signaal.cli.store import _errors, _store, out

chain_app = typer.Typer(
    help="Jobs of chain coordination: reminders of due tasks and of overdue routing, the end "
    "of protective watches."
)


@chain_app.command("remind")
def chain_remind() -> None:
    """Remind the owners of due tasks (in the app and by e-mail), send queued mails, and remind
    the care coordinators of signals left unrouted and of routings and referrals overdue."""
    from signaal.chain.referrals import overdue_routing_reminders
    from signaal.chain.tasks import send_reminders
    from signaal.settings import get_settings

    now = datetime.now(UTC)
    with _errors(), _store() as session:
        summary = send_reminders(session, now, get_settings())
        routing = overdue_routing_reminders(session, now)
    out.print(summary.describe(), highlight=False)
    routing_text = f"{routing} reminder(s) of overdue routing for the care coordinators"
    out.print(routing_text, highlight=False)
    for problem in summary.errors:
        out.print(f"problem: {problem}", highlight=False)
    if summary.errors or summary.failed:
        raise typer.Exit(1)


@chain_app.command("expire-watches")
def chain_expire_watches() -> None:
    """Delete the protective watches whose end date has passed (with their hits), each deletion
    audited; for a scheduled worker, like ``remind``."""
    from signaal.chain.watches import expire_watches

    with _errors(), _store() as session:
        deleted = expire_watches(session, datetime.now(UTC))
    out.print(f"{len(deleted)} protective watch(es) past their end date deleted", highlight=False)
