"""The protective watch from the command line: ``signaal analyse --store`` compares the stored
run with the watches, ``signaal chain expire-watches`` deletes the ones past their end date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ads.adfactories import record_json
from signaal.chain import accounts, sharing, watches
from signaal.chain.authz import actor_for
from signaal.cli import app
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, transaction, upgrade
from signaal.store.models import Notification, OrganisationKind, ProtectiveWatch

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}"
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def _watching(url: str, *, registered: datetime, ends_at: datetime) -> int:
    """A youth-care organisation with a hit/no-hit agreement with the police, watching the
    number the ads below advertise with; returns the watch id."""
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            youth = accounts.create_organisation(
                session, name="Synthetisch Jeugdzorg", kind=OrganisationKind.YOUTH_CARE
            )
            police = accounts.create_organisation(
                session, name="Testpolitie", kind=OrganisationKind.POLICE
            )
            worker = accounts.create_user(
                session,
                email="jeugd@example.test",
                password="correct horse battery staple",
                display_name="Synthetisch",
                organisation=youth,
                role="youth_care_worker",
            )
            admin = accounts.create_user(
                session,
                email="beheer@example.test",
                password="correct horse battery staple",
                display_name="Synthetisch",
                organisation=youth,
                role="administrator",
            )
            sharing.create_agreement(
                session,
                actor_for(admin),
                sharing.AgreementDraft(
                    name="Convenant",
                    parties=[youth.id, police.id],
                    categories=["*"],
                    purpose="Beschermen",
                    legal_basis="Convenant art. 3",
                    valid_from=registered - timedelta(days=1),
                    hit_no_hit=True,
                ),
                ip=None,
                now=registered - timedelta(days=1),
            )
            watch = watches.register_watch(
                session,
                actor_for(worker),
                watches.WatchDraft("Jongere J.", "06 9000 0001", "consent", ends_at),
                pseudonym_key=get_settings().pseudonym_key,
                ip=None,
                now=registered,
            )
            return watch.id
    finally:
        engine.dispose()


def _ads(tmp_path: Path) -> Path:
    ads = [
        record_json(id="s:1", text="Nieuw in Utrecht, bel 06-90000001", city="Utrecht"),
        record_json(id="s:2", text="Nu in Zeist, bel 06-90000001", city="Zeist"),
    ]
    path = tmp_path / "ads.jsonl"
    path.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in ads))
    return path


def test_a_stored_analysis_fires_a_watch_in_force(store: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _watching(store, registered=now, ends_at=now + timedelta(days=30))
    result = runner.invoke(
        app,
        [
            "analyse",
            str(_ads(tmp_path)),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--store",
            "--organisation",
            "Testpolitie",
        ],
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(store)
    try:
        with session_factory(engine)() as session:
            notes = session.scalars(select(Notification).where(Notification.kind == "watch_hit"))
            texts = [n.text for n in notes]
    finally:
        engine.dispose()
    assert len(texts) == 1
    assert "appears in 2 ads" in texts[0]
    assert "90000001" not in texts[0]


def test_expire_watches_deletes_a_watch_past_its_end_date(store: str) -> None:
    now = datetime.now(UTC)
    watch_id = _watching(
        store, registered=now - timedelta(days=10), ends_at=now - timedelta(days=1)
    )
    result = runner.invoke(app, ["chain", "expire-watches"])
    assert result.exit_code == 0, result.output
    assert "1 protective watch(es) past their end date deleted" in result.output
    engine = make_engine(store)
    try:
        with session_factory(engine)() as session:
            assert session.get(ProtectiveWatch, watch_id) is None
    finally:
        engine.dispose()
    again = runner.invoke(app, ["chain", "expire-watches"])
    assert "0 protective watch(es)" in again.output
