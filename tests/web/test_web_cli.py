"""``signaal demo`` seeds the embedded store and prints the demo logins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from signaal.chain.authz import roles
from signaal.cli import app
from signaal.cli import web as web_cli
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory
from signaal.store.models import User


@pytest.fixture
def demo_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNAAL_DATABASE_URL", raising=False)
    loaded: list[str] = []

    def fake_analysis(settings, *, ads):  # type: ignore[no-untyped-def]
        loaded.append(str(settings.data_dir))
        return "demo analysis loaded"

    # The synthetic corpus and the pipeline have their own tests; here only the wiring.
    monkeypatch.setattr(web_cli, "load_demo_analysis", fake_analysis)
    get_settings.cache_clear()
    yield tmp_path, loaded
    get_settings.cache_clear()


def test_demo_seeds_and_prints_the_logins(demo_env):
    tmp_path, loaded = demo_env
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "analyst@demo.signaal.test" in result.output
    assert "demo-analyst" in result.output
    assert "http://127.0.0.1:8000" in result.output
    assert "demo analysis loaded" in result.output
    assert "signals" in result.output  # the demo chain was made
    assert loaded == [str(tmp_path / "data")]
    # Running it again changes nothing (the demo is seeded once).
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0
    assert "the demo chain was there already" in again.output
    engine = make_engine(f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}")
    with session_factory(engine)() as session:
        demo_users = session.scalar(
            select(func.count()).select_from(User).where(User.is_demo.is_(True))
        )
    engine.dispose()
    # One demo user per role given to persons (not the integration role of API tokens).
    assert demo_users == sum(1 for role in roles().values() if role.granted_by)


def test_demo_refuses_outside_development(demo_env, monkeypatch):
    monkeypatch.setenv("SIGNAAL_ENV", "production")
    monkeypatch.setenv("SIGNAAL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("SIGNAAL_PSEUDONYM_KEY", "p" * 40)
    monkeypatch.setenv("SIGNAAL_AUDIT_KEY", "a" * 40)
    monkeypatch.setenv("SIGNAAL_CONTACT_KEY", "c" * 40)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", "d" * 40)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 1
    assert "development" in result.output


def test_demo_analysis_generates_analyses_and_stores_once(tmp_path, monkeypatch):
    """The real hook: synth + analyse --store as subprocesses, then kept on the next start."""
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.delenv("SIGNAAL_DATABASE_URL", raising=False)
    settings = get_settings().model_copy(update={"data_dir": tmp_path / "data"})
    (tmp_path / "data").mkdir()
    from signaal.store.db import upgrade, url_from_settings

    upgrade(url_from_settings(settings))
    first = web_cli.load_demo_analysis(settings, ads=300)
    assert "stored" in first
    assert (tmp_path / "data" / "demo" / "analysis" / "ads.csv").exists()
    assert (tmp_path / "data" / "demo" / "analysis" / "report.html").exists()
    engine = make_engine(url_from_settings(settings))
    try:
        with session_factory(engine)() as session:
            from signaal.chain.accounts import find_organisation
            from signaal.store import analysis

            owners = web_cli.demo_analysis_organisations()
            assert owners
            for name in owners:  # each demo organisation that reads analyses has its own run
                owner = find_organisation(session, name)
                assert owner is not None
                run = analysis.latest_run(session, owner.id)
                assert run is not None
                assert run.n_ads == 300
                assert analysis.top_networks(session, run.id, limit=5)
    finally:
        engine.dispose()
    assert "kept" in web_cli.load_demo_analysis(settings, ads=300)


def test_demo_serves_on_the_port_given(demo_env, monkeypatch):
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        web_cli, "_run_server", lambda settings, host, port, *rest: served.append((host, port))
    )
    result = CliRunner().invoke(app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served == [("127.0.0.1", 8123)]
    assert "http://127.0.0.1:8123" in result.output


def test_the_no_serve_hint_works_as_printed(demo_env, monkeypatch):
    """``--no-serve --port`` prints the command that serves the demo on that port; running it
    as printed serves on that port."""
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--port", "8124"])
    assert result.exit_code == 0, result.output
    assert "signaal serve --port 8124" in result.output
    assert "http://127.0.0.1:8124" in result.output
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        web_cli, "_run_server", lambda settings, host, port, *rest: served.append((host, port))
    )
    hinted = ["signaal", "serve", "--port", "8124"][1:]
    again = CliRunner().invoke(app, hinted)
    assert again.exit_code == 0, again.output
    assert served == [("127.0.0.1", 8124)]


def test_demo_refuses_a_port_that_cannot_be(demo_env):
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--port", "70000"])
    assert result.exit_code == 2
