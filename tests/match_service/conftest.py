"""Two Signaal installations (each its own SQLite store, settings and keys) and the match
service between them, served by uvicorn on a loopback port in a thread.

The service's own store runs on both backends (``service_store_url``: a SQLite file, or a new
PostgreSQL database dropped afterwards, marked ``postgres``); the installations' stores are
copies of the session's migrated SQLite template (their backends are tested elsewhere).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from signaal.chain import accounts, matching, subjects
from signaal.chain.authz import Actor, actor_for
from signaal.chain.remote_matching import RemoteMatching, SyncReport, sync
from signaal.match_service import service
from signaal.match_service.app import create_app
from signaal.match_service.settings import MatchServiceSettings, load_service_settings
from signaal.privacy.matching import Person
from signaal.settings import Settings, load_settings
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import OrganisationKind, Subject

PURPOSE = "trafficking-victims"
OTHER_PURPOSE = "youth-care"
SHARED_SECRET = "shared-matching-secret-of-police-and-care-0123"
OTHER_SECRET = "another-shared-secret-for-youth-care-0123456789"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from conftest import create_postgres_database, drop_postgres_database

    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'service' / 'match-service.db').as_posix()}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningService:
    url: str
    settings: MatchServiceSettings
    engine: Engine
    sessions: sessionmaker[Session]

    def register(self, name: str, route: str, purposes: list[str]) -> str:
        with transaction(self.sessions) as db:
            _, token = service.add_deployment(db, name, route, purposes, now=NOW)
        return token


def start_service(url: str, **overrides: object) -> Iterator[RunningService]:
    settings = load_service_settings(database_url=url, **overrides)
    engine = make_engine(url)
    app = create_app(settings, engine)
    port = _free_port()
    # log_config=None: uvicorn's loggers propagate to the root logger, where caplog reads them.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the match service did not start")
        time.sleep(0.02)
    try:
        yield RunningService(f"http://127.0.0.1:{port}", settings, engine, session_factory(engine))
    finally:
        server.should_exit = True
        thread.join(15)
        engine.dispose()


@pytest.fixture
def match_service(service_store_url: str) -> Iterator[RunningService]:
    yield from start_service(service_store_url)


@dataclass
class Installation:
    """One Signaal deployment: its own store, settings (keys) and one organisation."""

    name: str
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    actor: Actor
    organisation_id: int
    path: Path
    subjects: dict[str, int] = field(default_factory=dict)

    @property
    def remote(self) -> RemoteMatching:
        remote = RemoteMatching.from_settings(self.settings)
        assert remote is not None
        return remote

    def register(self, alias: str, person: Person) -> Subject:
        with transaction(self.sessions) as db:
            subject, _ = subjects.register_subject(
                db,
                self.actor,
                subjects.SubjectDraft(
                    alias=alias,
                    phones=[person.phone] if person.phone else [],
                    first_name=person.first_name,
                    surname=person.surname,
                    birth_date=person.birth_date,
                ),
                pseudonym_key=self.settings.pseudonym_key,
                contact_key=self.settings.contact_key,
                ip=None,
                now=NOW,
                remote=self.remote,
            )
        self.subjects[alias] = subject.id
        return subject

    def sync(self) -> SyncReport:
        with transaction(self.sessions) as db:
            return sync(db, self.remote, now=NOW)

    def hits(self, alias: str) -> list[matching.Hit]:
        with transaction(self.sessions) as db:
            subject = db.get(Subject, self.subjects[alias])
            assert subject is not None
            return matching.hits_of_subject(db, self.actor, subject, ip=None, now=NOW)


InstallationFactory = Callable[..., Installation]


@pytest.fixture
def installation(tmp_path: Path, _sqlite_template: Path) -> Iterator[InstallationFactory]:
    made: list[Installation] = []

    def make(
        name: str,
        kind: OrganisationKind,
        role: str,
        *,
        service_url: str,
        token: str,
        secrets: dict[str, str],
    ) -> Installation:
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "signaal.db"
        shutil.copyfile(_sqlite_template, path)
        url = f"sqlite:///{path.as_posix()}"
        # Each installation has keys of its own; only the matching secrets are shared.
        keys = {
            key: f"{name}-{key}-0123456789abcdef0123456789"
            for key in ("secret_key", "pseudonym_key", "audit_key", "contact_key", "data_key")
        }
        engine = make_engine(url, data_key=keys["data_key"])
        sessions = session_factory(engine, audit_key=keys["audit_key"])
        with transaction(sessions) as db:
            organisation = accounts.create_organisation(db, name=f"Synthetisch {name}", kind=kind)
            user = accounts.create_user(
                db,
                email=f"{name}@example.test",
                password="correct horse battery staple",
                display_name=f"Synthetisch {name}",
                organisation=organisation,
                role=role,
            )
            actor = actor_for(user)
            organisation_id = organisation.id
        settings = load_settings(
            env="development",
            data_dir=folder / "data",
            database_url=url,
            remote_match_url=service_url,
            remote_match_token=token,
            remote_match_secrets=secrets,
            remote_match_organisations=[organisation_id],
            **keys,
        )
        made.append(Installation(name, settings, engine, sessions, actor, organisation_id, path))
        return made[-1]

    yield make
    for item in made:
        item.engine.dispose()


@dataclass
class Pair:
    police: Installation
    care: Installation
    service: RunningService


@pytest.fixture
def pair(match_service: RunningService, installation: InstallationFactory) -> Pair:
    """A police and a care installation registered at the service for :data:`PURPOSE`."""
    police_token = match_service.register("Politie Midden-Nederland", "0900-8844", [PURPOSE])
    care_token = match_service.register("GGD Regio Utrecht", "zorgmeldpunt@ggd.test", [PURPOSE])
    police = installation(
        "politie",
        OrganisationKind.POLICE,
        "police_officer",
        service_url=match_service.url,
        token=police_token,
        secrets={PURPOSE: SHARED_SECRET},
    )
    care = installation(
        "zorg",
        OrganisationKind.CARE_COORDINATION,
        "care_coordinator",
        service_url=match_service.url,
        token=care_token,
        secrets={PURPOSE: SHARED_SECRET},
    )
    return Pair(police, care, match_service)


SANNE = Person("Sanne", "van der Berg", date(1990, 3, 4), "06-1234 5678")
