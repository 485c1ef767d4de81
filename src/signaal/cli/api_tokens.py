"""``signaal api-tokens``: tokens of system integrations (create, list, revoke).

The command line acts as the system (``api_tokens.manage``); every change is audited
(``api_token.event``). The secret of a new token is printed once, after it was stored, and can
never be shown again: only its SHA-256 is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from signaal.cli.store import _errors, _fail, _print_table, _store, out

api_tokens_app = typer.Typer(help="API tokens of system integrations.", no_args_is_help=True)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


@api_tokens_app.command("create")
def api_tokens_create(
    organisation: Annotated[
        str, typer.Option("--organisation", help="Name or id of the organisation it acts for.")
    ],
    name: Annotated[str, typer.Option("--name", help="A label to recognise the integration.")],
    role: Annotated[
        str, typer.Option("--role", help="Role of roles.json it acts with.")
    ] = "integration",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="Ends after this many days (1-3650).")
    ] = None,
) -> None:
    """Create a token; its secret is printed once (store it in the integration's vault)."""
    from signaal.chain.accounts import find_organisation
    from signaal.chain.api_tokens import create_token

    with _errors(), _store() as session:
        found = find_organisation(session, organisation)
        if found is None:
            _fail(f"--organisation: no organisation {organisation!r}", 2)
        created = create_token(
            session, organisation=found, name=name, role=role, expires_days=expires_days
        )
        expires = created.token.expires_at
        summary = (
            f"created API token {created.token.id} ({created.token.prefix}…) for "
            f"{found.name} with role {created.token.role}"
            + (f", expires {_when(expires)} UTC" if expires else "")
        )
        secret = created.secret
    # Only after the commit: a token that was not stored is never shown.
    out.print(summary, highlight=False)
    out.print("The secret is shown once; send it as 'Authorization: Bearer <secret>':")
    typer.echo(secret)


@api_tokens_app.command("list")
def api_tokens_list(
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Only the tokens of this organisation.")
    ] = None,
) -> None:
    """List tokens (never a secret): id, prefix, organisation, name, role, state, dates."""
    from signaal.chain.accounts import find_organisation
    from signaal.chain.api_tokens import list_tokens, token_state
    from signaal.store.models import Organisation, utcnow

    with _errors(), _store() as session:
        organisation_id = None
        if organisation is not None:
            found = find_organisation(session, organisation)
            if found is None:
                _fail(f"--organisation: no organisation {organisation!r}", 2)
            organisation_id = found.id
        now = utcnow()
        rows = []
        for token in list_tokens(session, organisation_id=organisation_id):
            owner = session.get(Organisation, token.organisation_id)
            rows.append(
                [
                    str(token.id),
                    token.prefix + "…",
                    owner.name if owner else str(token.organisation_id),
                    token.name,
                    token.role,
                    token_state(token, now),
                    _when(token.created_at),
                    _when(token.last_used_at),
                    _when(token.expires_at),
                ]
            )
    headers = ["id", "prefix", "organisation", "name", "role", "state", "created", "last used"]
    _print_table([*headers, "expires"], rows)


@api_tokens_app.command("revoke")
def api_tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Id of the token (signaal api-tokens list).")],
) -> None:
    """Revoke a token: its next request is refused."""
    from signaal.chain.api_tokens import revoke_token

    with _errors(), _store() as session:
        token = revoke_token(session, token_id)
        shown = f"{token.id} ({token.prefix}…, {token.name})"
    out.print(f"revoked API token {shown}", highlight=False)
