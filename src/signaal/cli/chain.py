"""``signaal chain``: jobs of chain coordination (reminders of due tasks and overdue routing,
the end of protective watches, retention per record category)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from signaal.cli.store import _errors, _print_table, _store, out

chain_app = typer.Typer(
    help="Jobs of chain coordination: reminders of due tasks and of overdue routing, the end "
    "of protective watches, retention per record category."
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


@chain_app.command("enforce-retention")
def chain_enforce_retention(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what is past its period, delete nothing."
    ),
) -> None:
    """Delete the chain's records whose retention period has ended (per category, see
    docs/privacy.md), keeping what a legal hold keeps; print the counts per category. One audit
    event per run, counts only; for a scheduled worker, like ``remind``."""
    from signaal.chain.retention import categories_table, enforce_retention

    with _errors(), _store() as session:
        report = enforce_retention(session, now=datetime.now(UTC), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    _print_table(
        ["category", "period (days)", "counted from", verb],
        [
            [name, str(days), counted_from, str(report.counts[name])]
            for name, days, counted_from in categories_table(report.periods)
        ],
    )
    summary = (
        f"{report.total} record(s) past their retention period would be deleted (dry run)"
        if dry_run
        else f"{report.total} record(s) past their retention period deleted"
    )
    out.print(summary, highlight=False)


@chain_app.command("sync-matches")
def chain_sync_matches() -> None:
    """Exchange with the cross-deployment match service (SIGNAAL_REMOTE_MATCH_*): send queued
    withdrawals and encodings, read back the hits; for a scheduled worker, like ``remind``.
    Exit code 1 when the service refused or did not answer a call (the queue keeps it)."""
    from signaal.chain.remote_matching import RemoteMatching, sync
    from signaal.errors import ConfigurationError
    from signaal.settings import get_settings

    with _errors():
        remote = RemoteMatching.from_settings(get_settings())
        if remote is None:
            raise ConfigurationError("SIGNAAL_REMOTE_MATCH_URL is not set: no match service")
        with _store() as session:
            report = sync(session, remote, now=datetime.now(UTC))
    out.print(report.describe(), highlight=False)
    for problem in report.problems:
        out.print(f"problem: {problem}", highlight=False)
    if report.problems:
        raise typer.Exit(1)
