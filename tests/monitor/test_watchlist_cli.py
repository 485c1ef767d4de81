"""Watchlists from the command line: ``signaal analyse --store`` compares each stored run with
the organisation's watchlists, and ``signaal worker --once`` (job ``mail-alerts``) mails the
alerts to a local SMTP server, with no contact point in the mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ads.adfactories import record_json
from fake_smtp import SmtpServer, running_smtp_server
from signaal.chain import accounts
from signaal.chain.authz import actor_for
from signaal.cli import app
from signaal.monitor import watchlists
from signaal.monitor.alerts import WatchKind
from signaal.privacy.pseudonyms import pseudonym
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, transaction, upgrade
from signaal.store.models import OrganisationKind, WatchlistAlert

runner = CliRunner()
NUMBER = "+31690000001"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> Iterator[str]:
    url = f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}"
    (tmp_path / "data").mkdir()
    host, port = smtp_server.host_and_port
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    monkeypatch.setenv("SIGNAAL_SMTP_HOST", host)
    monkeypatch.setenv("SIGNAAL_SMTP_PORT", str(port))
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


def _analyse(tmp_path: Path, name: str, cities: list[str]) -> None:
    ads = [
        record_json(id=f"{name}:{i}", text=f"Nieuw in {city}, bel 06-90000001", city=city)
        for i, city in enumerate(cities)
    ]
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in ads))
    result = runner.invoke(
        app,
        [
            "analyse",
            str(path),
            "--out",
            str(tmp_path / f"out-{name}"),
            "--quiet",
            "--store",
            "--organisation",
            "Testpolitie",
        ],
    )
    assert result.exit_code == 0, result.output


def test_a_stored_run_alerts_a_watched_number_and_the_worker_mails_it(
    store: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    engine = make_engine(store)
    try:
        with transaction(session_factory(engine)) as session:
            police = accounts.create_organisation(
                session, name="Testpolitie", kind=OrganisationKind.POLICE
            )
            analyst = accounts.create_user(
                session,
                email="analist@politie.example.test",
                password="correct horse battery staple",
                display_name="Synthetisch",
                organisation=police,
                role="analyst",
            )
        _analyse(tmp_path, "eerste", ["Utrecht", "Zeist"])
        point = pseudonym("phone", NUMBER, get_settings().pseudonym_key)
        with transaction(session_factory(engine)) as session:
            user = accounts.find_user(session, "analist@politie.example.test")
            assert user is not None
            watch = watchlists.watch_item(
                session, actor_for(user), WatchKind.CONTACT_POINT, point, ip=None
            )
            watch_id = watch.id
        _analyse(tmp_path, "tweede", ["Utrecht", "Zwolle"])
        with session_factory(engine)() as session:
            alerts = session.scalars(select(WatchlistAlert)).all()
            assert sorted((a.kind, a.detail) for a in alerts if a.kind != "new_persona") == [
                ("new_municipality", "Zwolle"),
                ("new_region", "Overijssel"),
            ]
            assert {a.watch_id for a in alerts} == {watch_id}
    finally:
        engine.dispose()
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "mail-alerts: ok: 1 alert mail(s) sent" in result.output
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert analyst.email in mail
    assert f"#{watch_id}" in mail
    for secret in ("90000001", "9000 0001", point, point.split(":")[1][:8], "Zwolle"):
        assert secret not in mail
    again = runner.invoke(app, ["worker", "--once"])
    assert again.exit_code == 0, again.output
    assert len(smtp_server.messages) == 1
