"""Command groups of the app store: ``signaal db``, ``signaal organisations``, ``signaal users``,
``signaal audit``. Thin adapters: every decision lives in signaal.store, signaal.chain and
signaal.audit.

The database is the one of the settings (``SIGNAAL_DATABASE_URL``, by default a SQLite file in
``SIGNAAL_DATA_DIR``). Commands that use it bring it to the newest migration first.
Exit codes: 0 success, 1 failure (including a broken audit chain), 2 bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.errors import InputError, SignaalError

if TYPE_CHECKING:
    from signaal.audit import Anchor
    from signaal.chain.accounts import EnrolmentLink

db_app = typer.Typer(help="Create, migrate, check and clean the app store.", no_args_is_help=True)
organisations_app = typer.Typer(help="Partner organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The append-only, keyed hash chain of the audit log.", no_args_is_help=True
)

out = Console()
# soft_wrap: an error message stays one line, also when stderr is not a terminal.
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Signaal's own errors become a clear message and an exit code, never a traceback."""
    try:
        yield
    except InputError as exc:
        _fail(exc.message, 2)
    except SignaalError as exc:
        _fail(exc.message, 1)


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table on a terminal; tab-separated lines when piped (for scripts and grep)."""
    if out.is_terminal:
        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    for line in [headers, *rows]:
        typer.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in line))


def _url() -> str:
    from signaal.settings import get_settings
    from signaal.store.db import url_from_settings

    return url_from_settings(get_settings())


@contextmanager
def _store(*, migrate: bool = True) -> Iterator[Session]:
    """A session on the settings' store (migrated first), committed when the block succeeds."""
    from signaal.store.db import ensure_migrated, make_engine, session_factory, transaction

    url = _url()
    if migrate:
        ensure_migrated(url)
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------
# signaal db


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Option(help="Migration to go to; the default is the newest.")
    ] = "head",
) -> None:
    """Create the app store or bring it to the newest migration (safe to run again)."""
    from signaal.store.db import current_revision, describe_url, upgrade

    with _errors():
        url = _url()
        before = current_revision(url)
        upgrade(url, revision)
        after = current_revision(url)
    shown = describe_url(url)
    if before == after:
        out.print(f"app store {shown} is at revision {after} (nothing to do)", highlight=False)
    else:
        out.print(
            f"app store {shown} migrated from {before or 'empty'} to {after}", highlight=False
        )


@db_app.command("current")
def db_current() -> None:
    """Show the migration revision of the app store and the newest one this version ships."""
    from signaal.store.db import current_revision, head_revision

    with _errors():
        current = current_revision(_url())
        head = head_revision()
    out.print(f"current: {current or 'empty (run signaal db upgrade)'}\nnewest:  {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("check")
def db_check() -> None:
    """Compare the app store with the models (like `alembic check`); exit 1 on any drift."""
    from signaal.store.db import schema_drift

    with _errors():
        drift = schema_drift(_url())
    if drift:
        for difference in drift:
            err.print(f"drift: {difference}", highlight=False)
        _fail(f"{len(drift)} difference(s) between the models and the database")
    out.print("the app store matches the models")


@db_app.command("purge-expired")
def db_purge_expired() -> None:
    """Delete analysis runs and ingested ads past their retention period and dead login
    sessions (audited)."""
    from signaal.chain.authz import SYSTEM
    from signaal.chain.sessions import purge_dead_sessions
    from signaal.store.analysis import purge_expired
    from signaal.store.ingested import purge_expired_ads

    with _errors(), _store() as session:
        runs = purge_expired(session, actor=SYSTEM)
        sessions = purge_dead_sessions(session)
        ads = purge_expired_ads(session, actor=SYSTEM)
    out.print(
        f"deleted {len(runs)} expired analysis run(s)"
        + (f" ({', '.join(map(str, runs))})" if runs else "")
        + f" and {sessions} dead login session(s)"
        + (f"; {ads} expired ingested ad version(s)" if ads else ""),
        highlight=False,
    )


# ----------------------------------------------------------------------------------------------
# signaal organisations


@organisations_app.command("create")
def organisations_create(
    name: Annotated[str, typer.Option(help="Name of the organisation (unique).", prompt=True)],
    kind: Annotated[
        str,
        typer.Option(
            help="police, outreach, care_coordination, ggd, municipality, housing or shelter.",
            prompt=True,
        ),
    ],
) -> None:
    """Create a partner organisation."""
    from signaal.chain.accounts import create_organisation

    with _errors(), _store() as session:
        organisation = create_organisation(session, name=name, kind=kind)
        shown = f"{organisation.id}: {organisation.name} ({organisation.kind.value})"
    out.print(f"created organisation {shown}", highlight=False)


@organisations_app.command("list")
def organisations_list() -> None:
    """List the partner organisations."""
    from signaal.store.models import Organisation

    with _errors(), _store() as session:
        rows = [
            [str(o.id), o.name, o.kind.value, "yes" if o.is_demo else ""]
            for o in session.scalars(select(Organisation).order_by(Organisation.id))
        ]
    _print_table(["id", "name", "kind", "demo"], rows)


# ----------------------------------------------------------------------------------------------
# signaal users


def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    if not line.strip():
        _fail("--password-stdin: no password on standard input", 2)
    return line.rstrip("\r\n")


def _print_link(link: EnrolmentLink) -> None:
    from signaal.settings import get_settings

    until = link.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    out.print(
        f"one-time link (works once, until {until}); hand it to the user through a safe "
        "channel, it sets their password:",
        highlight=False,
    )
    # Plain echo: rich would wrap a long link over two lines.
    typer.echo(link.url(get_settings()))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail address; the login name.", prompt=True)],
    organisation: Annotated[
        str, typer.Option(help="Name or id of an existing organisation.", prompt=True)
    ],
    role: Annotated[str, typer.Option(help="Role name (see `signaal users roles`).", prompt=True)],
    display_name: Annotated[
        str, typer.Option(help="Name shown in the app; by default the e-mail address.")
    ] = "",
    password_stdin: Annotated[
        bool,
        typer.Option(
            help="For automation: read the user's password from standard input instead of "
            "printing a one-time enrolment link."
        ),
    ] = False,
) -> None:
    """Create a user and print a one-time enrolment link with which they set their own
    password; two-factor authentication follows. Nobody else ever sees a usable password."""
    from signaal.chain.accounts import create_user, find_organisation, issue_enrolment_link
    from signaal.chain.authz import SYSTEM

    password = _read_password_stdin() if password_stdin else None
    link = None
    with _errors(), _store() as session:
        found = find_organisation(session, organisation)
        if found is None:
            raise InputError(
                f"organisation: no organisation {organisation!r}; see `signaal organisations "
                "list` or create it with `signaal organisations create`"
            )
        user = create_user(
            session,
            email=email,
            password=password,
            display_name=display_name or email.strip().lower(),
            organisation=found,
            role=role,
        )
        if password is None:
            link = issue_enrolment_link(session, user, purpose="enrol", actor=SYSTEM)
        shown = f"{user.id}: {user.email} ({user.role}, {found.name})"
    out.print(f"created user {shown}", highlight=False)
    if link is not None:
        _print_link(link)
    out.print("two-factor authentication is set up at the first login")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Argument(help="E-mail address.")],
) -> None:
    """Make the user's password worthless, end their sessions and print a new one-time link
    with which they set a new one (older links stop working). The second factor stays."""
    from signaal.chain.accounts import find_user, issue_enrolment_link
    from signaal.chain.authz import SYSTEM

    with _errors(), _store() as session:
        user = find_user(session, email)
        if user is None:
            raise InputError(f"email: no user {email!r}")
        link = issue_enrolment_link(session, user, purpose="reset", actor=SYSTEM)
    out.print(f"{email}: password reset; sessions ended", highlight=False)
    _print_link(link)


@users_app.command("list")
def users_list() -> None:
    """List users with their organisation, role, state and second factor."""
    from signaal.store.models import User

    rows: list[list[str]] = []
    with _errors(), _store() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            rows.append(
                [
                    str(user.id),
                    user.email,
                    user.display_name,
                    user.organisation.name,
                    user.role,
                    "yes" if user.is_active else "no",
                    "yes" if user.totp_enabled else "no",
                    "yes" if user.is_demo else "",
                ]
            )
    _print_table(["id", "e-mail", "name", "organisation", "role", "active", "2FA", "demo"], rows)


@users_app.command("roles")
def users_roles() -> None:
    """List the roles, what they may do, which organisations they fit, and who may grant them."""
    from signaal.chain.authz import roles

    rows: list[list[str]] = []
    for name, role in roles().items():
        kinds = (
            "any"
            if role.organisation_kinds is None
            else ", ".join(sorted(k.value for k in role.organisation_kinds))
        )
        rows.append(
            [
                name,
                role.label_for("nl"),
                role.label_for("en"),
                kinds,
                str(role.rank),
                ", ".join(sorted(role.granted_by)),
                ", ".join(sorted(role.actions)),
            ]
        )
    _print_table(
        ["role", "label (nl)", "label (en)", "organisations", "rank", "granted by", "actions"],
        rows,
    )


def _set_active(email: str, active: bool) -> None:
    from signaal.chain.accounts import find_user, set_user_active
    from signaal.chain.authz import SYSTEM

    with _errors(), _store() as session:
        user = find_user(session, email)
        if user is None:
            raise InputError(f"email: no user {email!r}")
        set_user_active(session, user, active, actor=SYSTEM)  # ends the sessions when deactivating
    out.print(f"{email}: {'activated' if active else 'deactivated'}", highlight=False)


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument(help="E-mail address.")]) -> None:
    """Deactivate a user: no more logins, current sessions end (audited)."""
    _set_active(email, False)


@users_app.command("activate")
def users_activate(email: Annotated[str, typer.Argument(help="E-mail address.")]) -> None:
    """Activate a deactivated user again (audited)."""
    _set_active(email, True)


@users_app.command("reset-second-factor")
def users_reset_second_factor(
    email: Annotated[str, typer.Argument(help="E-mail address.")],
) -> None:
    """Remove a user's TOTP secret (lost phone): they set it up again at the next login."""
    from signaal.chain.accounts import find_user, reset_second_factor
    from signaal.chain.authz import SYSTEM

    with _errors(), _store() as session:
        user = find_user(session, email)
        if user is None:
            raise InputError(f"email: no user {email!r}")
        reset_second_factor(session, user, actor=SYSTEM)  # also ends the sessions
    out.print(f"{email}: second factor removed; set up again at the next login", highlight=False)


# ----------------------------------------------------------------------------------------------
# signaal audit


@audit_app.command("verify")
def audit_verify(
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Walk the whole chain from its first row and check every checkpoint, instead "
            "of starting at the latest checkpoint.",
        ),
    ] = False,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="An anchor file from `signaal audit anchor`: also check that the chain still "
            "holds every entry it covers, unchanged (walks the whole chain, like --full).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check the audit chain; exit 1 and name every changed, removed, inserted, reordered or
    forged row. Adds a checkpoint when all is well."""
    from signaal.audit import verify

    with _errors():
        loaded = _read_anchor(anchor) if anchor is not None else None
        with _store() as session:
            # Checking against an anchor is an audit: the content of every row is re-read too.
            report = verify(session, full=full or loaded is not None, anchor=loaded)
    if report.ok:
        scope = (
            "whole chain"
            if report.full
            else f"rows after checkpoint {report.verified_before} of "
            f"{report.checkpoint_at:%Y-%m-%d %H:%M} UTC"
            if report.checkpoint_at
            else f"rows after checkpoint {report.verified_before}"
        )
        out.print(
            f"audit chain ok: {report.checked} row(s) checked ({scope}); "
            f"head {report.head_seq} {report.head_hash}",
            highlight=False,
        )
        if report.legacy_rows:
            out.print(
                f"{report.legacy_rows} row(s) from before the keyed chain (unkeyed sha256)",
                highlight=False,
            )
        if loaded is not None:
            out.print(
                f"matches the anchor of {loaded.created_at}: {loaded.tree_size} entries, "
                f"root {loaded.root_hash}",
                highlight=False,
            )
        return
    for problem in report.problems:
        err.print(f"row {problem.seq}: {problem.kind}: {problem.message}", highlight=False)
    _fail(
        f"the audit chain does not verify: {len(report.problems)} problem(s) in "
        f"{report.checked} row(s)"
    )


def _read_anchor(path: Path) -> Anchor:
    from signaal.audit import Anchor

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--anchor {path}: cannot read it ({exc})") from exc
    return Anchor.from_json(text, source=f"--anchor {path}")


@audit_app.command("anchor")
def audit_anchor(
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the anchor to this file (refused if it exists); by default it is "
            "printed on standard output.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Verify the chain, then export a signed tree head over all its entries: keep it outside
    the database and check the chain against it with `signaal audit verify --anchor`."""
    from signaal.audit import make_anchor, verify

    with _errors(), _store() as session:
        report = verify(session)
        if report.ok:
            anchor = make_anchor(session)
    if not report.ok:
        for problem in report.problems:
            err.print(f"row {problem.seq}: {problem.kind}: {problem.message}", highlight=False)
        _fail("the audit chain does not verify; no anchor was made")
    document = anchor.to_json()
    if out_file is None:
        typer.echo(document, nl=False)
        return
    try:
        with out_file.open("x", encoding="utf-8") as handle:
            handle.write(document)
    except FileExistsError:
        _fail(f"--out {out_file}: the file exists; anchors are never overwritten", 2)
    except OSError as exc:
        _fail(f"--out {out_file}: cannot write it ({exc})")
    err.print(
        f"anchor of {anchor.tree_size} entries (up to row {anchor.last_seq}) written to "
        f"{out_file}; root {anchor.root_hash}",
        highlight=False,
    )


@audit_app.command("show")
def audit_show(
    last: Annotated[int, typer.Option(min=1, max=10_000, help="How many rows to show.")] = 20,
) -> None:
    """Show the newest rows of the audit log."""
    from signaal.store.models import AuditEvent

    lines: list[list[str]] = []
    with _errors(), _store() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(last))
        for row in reversed(list(rows)):
            lines.append(
                [
                    str(row.seq),
                    row.at.strftime("%Y-%m-%d %H:%M:%S"),
                    row.actor_email or "(system)",
                    str(row.organisation_id or ""),
                    row.action,
                    f"{row.record_type or ''}:{row.record_id or ''}".strip(":"),
                    row.purpose or "",
                    row.ip or "",
                ]
            )
    _print_table(["seq", "at (UTC)", "actor", "org", "action", "record", "purpose", "ip"], lines)
