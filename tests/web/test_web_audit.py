"""The audit page: pages of the reader's own organisation's events, filtered in SQL however busy
the deployment, and the chain verified from the last checkpoint instead of from the start."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from signaal import audit
from signaal.chain.authz import Actor
from signaal.store.db import transaction
from signaal.store.models import AuditCheckpoint, OrganisationKind
from signaal.web.app import WebState

from .conftest import Account, SignIn


def write_views(state: WebState, account: Account, n: int, prefix: str) -> None:
    actor = Actor(
        account.user_id,
        account.email,
        account.organisation_id,
        OrganisationKind.GGD,
        account.role,
        False,
    )
    with transaction(state.sessions) as session:
        for i in range(n):
            audit.record(
                session,
                audit.PersonaViewed(run_id=1, persona_id=f"{prefix}-{i:04d}"),
                actor=actor,
                ip=None,
                purpose="synthetic test",
            )


def shown_seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<td data-label="#" class="number">(\d+)</td>', html)]


def test_own_events_are_shown_however_busy_the_deployment(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    """The page used to take the newest 1,000 events of everyone and filter afterwards: an
    organisation whose events were older than that saw none of them."""
    admin, other = accounts_by_role["administrator"], accounts_by_role["other_org_admin"]
    write_views(state, admin, 3, "EIGEN")
    write_views(state, other, 1100, "ANDER")
    sign_in(admin)
    page = client.get("/beheer/audit")
    assert page.status_code == 200
    for i in range(3):
        assert f"EIGEN-{i:04d}" in page.text
    assert "ANDER-" not in page.text
    assert other.email not in page.text


def test_pages_link_to_older_and_newer_events(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    admin = accounts_by_role["administrator"]
    write_views(state, admin, 130, "EIGEN")
    write_views(state, accounts_by_role["other_org_admin"], 40, "ANDER")
    sign_in(admin)
    first = client.get("/beheer/audit")
    first_seqs = shown_seqs(first.text)
    assert len(first_seqs) == 100
    assert first_seqs == sorted(first_seqs, reverse=True)
    assert "Nieuwere gebeurtenissen" not in first.text
    older = re.search(r'href="(/beheer/audit\?voor=\d+)"', first.text)
    assert older is not None
    second = client.get(older.group(1))
    second_seqs = shown_seqs(second.text)
    assert len(second_seqs) == 30
    assert max(second_seqs) < min(first_seqs)
    assert "Oudere gebeurtenissen" not in second.text
    assert "ANDER-" not in first.text + second.text
    newer = re.search(r'href="(/beheer/audit\?na=\d+)"', second.text)
    assert newer is not None
    back = client.get(newer.group(1))
    assert shown_seqs(back.text) == first_seqs


def test_platform_administrator_reads_every_organisation(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    write_views(state, accounts_by_role["other_org_admin"], 2, "ANDER")
    sign_in(accounts_by_role["platform_administrator"])
    page = client.get("/beheer/audit")
    assert "ANDER-0001" in page.text


def test_bad_page_keys_are_refused_as_bad_input(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    sign_in(accounts_by_role["administrator"])
    for query in ("voor=abc", "na=-1", "voor=1%27%20OR%201=1", "na=" + "9" * 40, "voor=%C2%B2"):
        assert client.get(f"/beheer/audit?{query}").status_code == 422, query


def test_each_view_verifies_only_what_is_new_since_the_last_checkpoint(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    admin = accounts_by_role["administrator"]
    write_views(state, admin, 200, "EIGEN")
    sign_in(admin)
    first = client.get("/beheer/audit")
    assert "De keten is intact." in first.text
    assert "gebeurtenissen gecontroleerd." in first.text  # no checkpoint yet: all of it
    write_views(state, admin, 50, "NIEUW")
    second = client.get("/beheer/audit")
    # The first view's own audit event and the 50 new ones; the rest stands at the checkpoint.
    assert "51 nieuwe gebeurtenissen gecontroleerd" in second.text
    with state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 2


def test_a_row_changed_after_the_checkpoint_is_shown_as_broken(
    client: TestClient, state: WebState, accounts_by_role: dict[str, Account], sign_in: SignIn
) -> None:
    admin = accounts_by_role["administrator"]
    sign_in(admin)
    client.get("/beheer/audit")
    write_views(state, admin, 5, "NIEUW")
    with state.engine.begin() as connection:  # an attacker with database access (SQLite)
        connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        connection.execute(
            text(
                "UPDATE audit_events SET purpose = 'nieuwsgierigheid' "
                "WHERE seq = (SELECT MAX(seq) - 2 FROM audit_events)"
            )
        )
    page = client.get("/beheer/audit")
    assert page.status_code == 200
    assert "De auditketen klopt niet." in page.text
    assert "gewijzigd nadat hij was geschreven" in page.text
