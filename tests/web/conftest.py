"""Fixtures of the web tests: the app on a migrated store, a client, and one user per role.

The app runs with ``SIGNAAL_ENV=test`` (secure ``__Host-`` cookies, HSTS), so the client talks
to ``https://testserver``. Web tests run on SQLite; the access matrix runs on PostgreSQL too.
"""

from __future__ import annotations

import io
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
from signaal.chain.authz import SYSTEM, roles
from signaal.settings import Settings, load_settings
from signaal.store.analysis import save_analysis
from signaal.store.db import transaction
from signaal.store.models import Organisation, OrganisationKind, User
from signaal.web.app import WebState, create_app

TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef-012345"
TEST_AUDIT_KEY = "test-audit-key-0123456789abcdef-0123456789ab"
TEST_CONTACT_KEY = "test-contact-key-0123456789abcdef-0123456789"
TEST_DATA_KEY = "test-data-key-0123456789abcdef-0123456789abcd"
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
        data_key=TEST_DATA_KEY,
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


ROLE_KINDS = {
    "police_officer": OrganisationKind.POLICE,
    "youth_care_worker": OrganisationKind.YOUTH_CARE,
    "shelter_worker": OrganisationKind.SHELTER,
    "policy_officer": OrganisationKind.MUNICIPALITY,
}


@pytest.fixture
def accounts_by_role(state: WebState) -> dict[str, Account]:
    """One active user with TOTP enabled per role (police officer at the police, the youth care
    worker at a youth care organisation, the shelter worker at a shelter, the policy officer at
    a municipality, the rest at a GGD), plus ``other_org_admin``: an administrator of a third
    organisation."""
    created: dict[str, Account] = {}
    with transaction(state.sessions) as session:
        ggd = accounts.create_organisation(session, name="Test GGD", kind=OrganisationKind.GGD)
        police = accounts.create_organisation(
            session, name="Test Politie", kind=OrganisationKind.POLICE
        )
        other = accounts.create_organisation(
            session, name="Andere Gemeente", kind=OrganisationKind.MUNICIPALITY
        )
        by_kind = {OrganisationKind.GGD: ggd, OrganisationKind.POLICE: police}
        for role in roles():
            kind = ROLE_KINDS.get(role, OrganisationKind.GGD)
            if kind not in by_kind:
                by_kind[kind] = accounts.create_organisation(
                    session, name=f"Test {kind.value}", kind=kind
                )
            created[role] = make_account(session, role, by_kind[kind], f"{role}@example.test")
        created["other_org_admin"] = make_account(
            session, "administrator", other, "admin@andere-gemeente.example.test"
        )
    return created


def make_account(session: Session, role: str, organisation: Organisation, email: str) -> Account:
    """An active user of ``organisation`` with ``role``, password :data:`PASSWORD` and TOTP on."""
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


def id_marker(tag: str) -> str:
    """What every id of :func:`analysis_rows` with ``tag`` contains (``N-1-tag``, ``P-1-tag``)."""
    return f"-1-{tag}"


def text_marker(tag: str) -> str:
    """What every text (reasons, titles, ad texts) of :func:`analysis_rows` with ``tag`` holds."""
    return f"[{tag}-tekst]"


def synthetic_thumbnail(owner: str = "P-1", size: tuple[int, int] = (180, 240)) -> bytes:
    """A JPEG thumbnail of a generated photo (gradients and shapes, never a real photo)."""
    from signaal.synth.photos import original

    out = io.BytesIO()
    original(11, owner, 0, size).save(out, format="JPEG", quality=80)
    return out.getvalue()


def analysis_rows(tag: str = "", *, with_photo: bool = False) -> dict[str, list[dict[str, object]]]:
    """A small analysis as ``signaal analyse`` writes it: network N-1 with persona P-1 (two ads,
    one move). With a ``tag``, every id carries :func:`id_marker` and every text
    :func:`text_marker` (to tell organisations' runs apart). ``with_photo``: ad A-1 has one
    photo with a thumbnail."""
    now = datetime.now(UTC)
    suffix = id_marker(tag)[2:] if tag else ""
    text = f" {text_marker(tag)}" if tag else ""
    network, persona = f"N-1{suffix}", f"P-1{suffix}"
    photos: list[dict[str, object]] = [
        {
            "ad_id": f"A-1{suffix}",
            "position": 0,
            "pdq": "ab" * 32,
            "quality": 90,
            "cluster": 0,
            "thumbnail": synthetic_thumbnail(persona),
        }
    ]
    return {
        **({"photos": photos} if with_photo else {}),
        "networks": [
            {
                "network_id": network,
                "n_personas": 1,
                "n_ads": 2,
                "contact_points": "",
                "municipalities": "Amersfoort;Utrecht",
                "risk_score": 80,
                "reasons": f"one phone number in ads of 3 personas; photos reused{text}",
            }
        ],
        "personas": [
            {
                "persona_id": persona,
                "network_id": network,
                "n_ads": 2,
                "municipalities": "Amersfoort;Utrecht",
                "risk_score": 75,
                "reasons": f"new in town; moved between 2 municipalities{text}",
            }
        ],
        "ads": [
            {
                "ad_id": f"A-1{suffix}",
                "persona_id": persona,
                "network_id": network,
                "risk_score": 70,
                "risk_level": "priority",
                "indicators": "",
                "municipality": "Utrecht",
                "title": f"Nieuw in Utrecht{text}",
                "text": f"Synthetische testadvertentie{text}",
                "posted_at": now - timedelta(days=1),
            },
            {
                "ad_id": f"A-2{suffix}",
                "persona_id": persona,
                "network_id": network,
                "risk_score": 40,
                "risk_level": "review",
                "indicators": "new_in_town",
                "municipality": "Amersfoort",
                "title": f"Eerder in Amersfoort{text}",
                "text": f"Nog een synthetische testadvertentie{text}",
                "posted_at": now - timedelta(days=10),
            },
        ],
        "movements": [
            {
                "persona_id": persona,
                "network_id": network,
                "from_municipality": "Amersfoort",
                "to_municipality": "Utrecht",
                "at": now - timedelta(days=1),
            }
        ],
    }


def store_analysis(
    session: Session,
    settings: Settings,
    organisation_id: int,
    rows: dict[str, list[dict[str, object]]],
    *,
    source: str = "matrix-test",
) -> int:
    """Store ``rows`` as a run of ``organisation_id`` the way the command line does (as the
    system actor, through ``save_analysis``); returns the run id."""
    now = datetime.now(UTC)
    return save_analysis(
        session,
        source=source,
        started_at=now - timedelta(minutes=5),
        finished_at=now,
        n_quarantined=0,
        organisation_id=organisation_id,
        actor=SYSTEM,
        settings=settings,
        **rows,  # type: ignore[arg-type]
    )


@pytest.fixture
def seeded_analysis(state: WebState, accounts_by_role: dict[str, Account]) -> int:
    """The same small analysis (network N-1 with persona P-1, see :func:`analysis_rows`) stored
    once for every organisation that has an account, so each account sees it in its own
    organisation's run. Returns the run id of the GGD (the organisation of most accounts)."""
    organisations = sorted({account.organisation_id for account in accounts_by_role.values()})
    runs: dict[int, int] = {}
    with transaction(state.sessions) as session:
        for organisation_id in organisations:
            runs[organisation_id] = store_analysis(
                session, state.settings, organisation_id, analysis_rows(with_photo=True)
            )
    return runs[accounts_by_role["viewer"].organisation_id]
