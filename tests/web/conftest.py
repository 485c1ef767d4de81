"""Fixtures of the web tests: the app on a migrated store, a client, and one user per role.

The app runs with ``SIGNAAL_ENV=test`` (secure ``__Host-`` cookies, HSTS), so the client talks
to ``https://testserver``. Web tests run on SQLite; the access matrix runs on PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signaal.chain import accounts, sessions
from signaal.chain.authz import roles
from signaal.settings import Settings, load_settings
from signaal.store.db import transaction
from signaal.store.models import (
    AnalysisAd,
    AnalysisMovement,
    AnalysisNetwork,
    AnalysisPersona,
    AnalysisRun,
    Organisation,
    OrganisationKind,
    User,
)
from signaal.web.app import WebState, create_app

TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef-012345"
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef-0123456789ab"
TEST_CONTACT_KEY = "test-contact-key-0123456789abcdef-0123456789"
PASSWORD = "correct horse battery staple"
BASE_URL = "https://testserver"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2 with its production cost takes ~0.5 s here; the web tests hash dozens of
    passwords. The hash format and the code paths stay the same, only the cost is lower."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Web tests run on SQLite unless a test asks for more (see test_access_matrix.py)."""
    return str(request.param)


@pytest.fixture
def web_settings(migrated_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        env="test",
        database_url=migrated_url,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        pseudonym_key=TEST_PSEUDONYM_KEY,
        audit_key=TEST_AUDIT_KEY,
        contact_key=TEST_CONTACT_KEY,
        login_rate_limit=3,
    )


@pytest.fixture
def app(web_settings: Settings) -> Iterator[FastAPI]:
    created = create_app(web_settings)
    try:
        yield created
    finally:
        created.state.web.engine.dispose()


@pytest.fixture
def state(app: FastAPI) -> WebState:
    web: WebState = app.state.web
    return web


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as test_client:
        yield test_client


@dataclass
class Account:
    user_id: int
    email: str
    password: str
    role: str
    organisation_id: int
    totp_secret: str | None

    def code(self) -> str:
        assert self.totp_secret is not None
        return pyotp.TOTP(self.totp_secret).now()


ROLE_KINDS = {"police_officer": OrganisationKind.POLICE}


@pytest.fixture
def accounts_by_role(state: WebState) -> dict[str, Account]:
    """One active user with TOTP enabled per role (police officer at the police, rest at a GGD),
    plus ``other_org_admin``: an administrator of a third organisation."""
    created: dict[str, Account] = {}
    with transaction(state.sessions) as session:
        ggd = accounts.create_organisation(session, name="Test GGD", kind=OrganisationKind.GGD)
        police = accounts.create_organisation(
            session, name="Test Politie", kind=OrganisationKind.POLICE
        )
        other = accounts.create_organisation(
            session, name="Andere Gemeente", kind=OrganisationKind.MUNICIPALITY
        )
        for role in roles():
            organisation = police if ROLE_KINDS.get(role) == OrganisationKind.POLICE else ggd
            created[role] = _account(session, role, organisation, f"{role}@example.test")
        created["other_org_admin"] = _account(
            session, "administrator", other, "admin@andere-gemeente.example.test"
        )
    return created


def _account(session: Session, role: str, organisation: Organisation, email: str) -> Account:
    user = accounts.create_user(
        session,
        email=email,
        password=PASSWORD,
        display_name=f"Test {role}",
        organisation=organisation,
        role=role,
    )
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = True
    session.flush()
    return Account(user.id, user.email, PASSWORD, role, organisation.id, secret)


SignIn = Callable[[Account], str]


@pytest.fixture
def sign_in(client: TestClient, state: WebState) -> SignIn:
    """Give the client a complete login session of an account (as if password and code were
    right); returns the raw session token."""

    def do(account: Account) -> str:
        with transaction(state.sessions) as session:
            user = session.get(User, account.user_id)
            assert user is not None
            token = sessions.create_session(
                session,
                user,
                ip="testclient",
                user_agent="pytest",
                second_factor_done=True,
                settings=state.settings,
            )
        client.cookies.set(state.cookies.session_cookie, state.signer.sign_session(token))
        return token

    return do


def _csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


@pytest.fixture
def csrf_of() -> Callable[[str], str]:
    """The CSRF token of the first form on a page."""
    return _csrf_of


@pytest.fixture
def seeded_analysis(state: WebState) -> int:
    """A small stored analysis: network N-1 with persona P-1 (two ads, one move); returns the
    run id."""
    now = datetime.now(UTC)
    with transaction(state.sessions) as session:
        owner = Organisation(name="Analyse-eigenaar", kind=OrganisationKind.POLICE)
        session.add(owner)
        session.flush()
        run = AnalysisRun(
            organisation_id=owner.id,
            source="matrix-test",
            started_at=now - timedelta(minutes=5),
            finished_at=now,
            expires_at=now + timedelta(days=30),
            n_ads=1,
            n_personas=1,
            n_networks=1,
        )
        session.add(run)
        session.flush()
        session.add(
            AnalysisNetwork(
                run_id=run.id,
                network_id="N-1",
                n_personas=1,
                n_ads=2,
                contact_points="",
                municipalities="Amersfoort;Utrecht",
                risk_score=80,
                reasons="one phone number in ads of 3 personas; photos reused",
            )
        )
        session.add(
            AnalysisPersona(
                run_id=run.id,
                persona_id="P-1",
                network_id="N-1",
                n_ads=2,
                municipalities="Amersfoort;Utrecht",
                risk_score=75,
                reasons="new in town; moved between 2 municipalities",
            )
        )
        session.add(
            AnalysisAd(
                run_id=run.id,
                ad_id="A-1",
                persona_id="P-1",
                network_id="N-1",
                risk_score=70,
                risk_level="high",
                indicators="",
                municipality="Utrecht",
                title="Nieuw in Utrecht",
                text="Synthetische testadvertentie",
                posted_at=now - timedelta(days=1),
            )
        )
        session.add(
            AnalysisAd(
                run_id=run.id,
                ad_id="A-2",
                persona_id="P-1",
                network_id="N-1",
                risk_score=40,
                risk_level="review",
                indicators="new_in_town",
                municipality="Amersfoort",
                title="Eerder in Amersfoort",
                text="Nog een synthetische testadvertentie",
                posted_at=now - timedelta(days=10),
            )
        )
        session.add(
            AnalysisMovement(
                run_id=run.id,
                persona_id="P-1",
                network_id="N-1",
                from_municipality="Amersfoort",
                to_municipality="Utrecht",
                at=now - timedelta(days=1),
            )
        )
        run_id = run.id
    return run_id
