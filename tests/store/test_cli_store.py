"""`signaal db`, `organisations`, `users` and `audit` through the real command line (CliRunner)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from signaal.cli import app
from signaal.errors import AuthenticationError
from signaal.settings import get_settings
from signaal.store.db import current_revision, head_revision, make_engine

runner = CliRunner()
PASSWORD = "a long enough password"


def use_store(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def empty_url(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at an empty database."""
    yield from use_store(store_url, monkeypatch)


@pytest.fixture
def cli_url(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a migrated, empty store."""
    yield from use_store(migrated_url, monkeypatch)


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def setup_user(url: str) -> None:
    assert run("organisations", "create", "--name", "Politie Test", "--kind", "police")[0] == 0
    code, output = run(
        "users",
        "create",
        "--email",
        "Agent@Politie.example",
        "--organisation",
        "Politie Test",
        "--role",
        "police_officer",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert code == 0, output


def test_db_upgrade_creates_and_is_idempotent(empty_url: str) -> None:
    cli_url = empty_url
    code, output = run("db", "upgrade")
    assert code == 0, output
    assert "migrated from empty" in output
    assert current_revision(cli_url) == head_revision()
    code, output = run("db", "upgrade")
    assert code == 0
    assert "nothing to do" in output
    assert run("db", "current")[0] == 0
    code, output = run("db", "check")
    assert code == 0
    assert "matches" in output


def test_db_current_fails_on_an_empty_store(empty_url: str) -> None:
    code, output = run("db", "current")
    assert code == 1
    assert "empty" in output


def test_users_create_with_options_and_stdin(cli_url: str) -> None:
    setup_user(cli_url)
    code, output = run("users", "list")
    assert code == 0
    assert "agent@politie.example" in output
    code, output = run("organisations", "list")
    assert "Politie Test" in output


def test_users_create_with_prompts(cli_url: str) -> None:
    run("organisations", "create", "--name", "GGD Test", "--kind", "ggd")
    answers = "\n".join(["zorg@ggd.example", "GGD Test", "care_coordinator"])
    code, output = run("users", "create", input=answers + "\n")
    assert code == 0, output
    assert "created user" in output
    # No password is asked or printed: the user sets her own through the one-time link.
    assert "Password" not in output
    assert "http://127.0.0.1:8000/account/activeren/" in output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--email", "not-an-address"], PASSWORD, "email"),
        (["--role", "boss"], PASSWORD, "role"),
        (["--organisation", "Nope"], PASSWORD, "no organisation 'Nope'"),
        ([], "short", "at least 12 characters"),
        ([], "", "no password on standard input"),
    ],
)
def test_users_create_bad_input_is_a_clear_error(
    cli_url: str, args: list[str], stdin: str, message: str
) -> None:
    run("organisations", "create", "--name", "Politie Test", "--kind", "police")
    values = {
        "--email": "x@politie.example",
        "--organisation": "Politie Test",
        "--role": "police_officer",
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        values[flag] = value
    flat = [item for pair in values.items() for item in pair]
    code, output = run(
        "users", "create", *flat, "--password-stdin", input=stdin + "\n" if stdin else ""
    )
    assert code == 2
    assert message in output
    assert "Traceback" not in output
    assert "agent" not in run("users", "list")[1]


def test_duplicate_user_is_exit_1(cli_url: str) -> None:
    setup_user(cli_url)
    code, output = run(
        "users",
        "create",
        "--email",
        "agent@politie.example",
        "--organisation",
        "1",
        "--role",
        "police_officer",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert code == 1
    assert "already exists" in output


def test_deactivate_activate_and_reset(cli_url: str) -> None:
    setup_user(cli_url)
    assert run("users", "deactivate", "agent@politie.example")[0] == 0
    assert "\tno\t" in run("users", "list")[1]
    assert run("users", "activate", "AGENT@politie.example")[0] == 0
    assert run("users", "reset-second-factor", "agent@politie.example")[0] == 0
    code, output = run("users", "deactivate", "ghost@politie.example")
    assert code == 2
    assert "no user" in output


def _link_token(output: str) -> str:
    match = re.search(r"http://127\.0\.0\.1:8000/account/activeren/([A-Za-z0-9_-]+)", output)
    assert match is not None, output
    return match.group(1)


def test_users_create_prints_a_link_that_sets_the_own_password_once(cli_url: str) -> None:
    from signaal.chain.accounts import complete_enrolment
    from signaal.store.db import session_factory, transaction

    run("organisations", "create", "--name", "GGD Test", "--kind", "ggd")
    code, output = run(
        "users", "create", "--email", "zorg@ggd.example", "--organisation", "GGD Test",
        "--role", "care_coordinator",
    )  # fmt: skip
    assert code == 0, output
    token = _link_token(output)
    assert "password" not in output.lower().split("one-time link")[0]
    engine = make_engine(cli_url)
    try:
        with transaction(session_factory(engine)) as session:
            complete_enrolment(session, token, PASSWORD)
        with pytest.raises(AuthenticationError), transaction(session_factory(engine)) as session:
            complete_enrolment(session, token, "another long password")
    finally:
        engine.dispose()


def test_users_reset_password_prints_a_new_link(cli_url: str) -> None:
    from signaal.chain.accounts import authenticate, find_enrolment
    from signaal.store.db import session_factory, transaction

    setup_user(cli_url)
    code, output = run("users", "reset-password", "AGENT@politie.example")
    assert code == 0, output
    first = _link_token(output)
    second = _link_token(run("users", "reset-password", "agent@politie.example")[1])
    engine = make_engine(cli_url)
    try:
        with transaction(session_factory(engine)) as session:
            assert find_enrolment(session, first) is None  # replaced by the second
            assert find_enrolment(session, second) is not None
            with pytest.raises(AuthenticationError):
                authenticate(
                    session,
                    email="agent@politie.example",
                    password=PASSWORD,
                    ip="1.1.1.1",
                    settings=get_settings(),
                )
    finally:
        engine.dispose()
    code, output = run("users", "reset-password", "ghost@politie.example")
    assert code == 2
    assert "no user" in output
    run("users", "deactivate", "agent@politie.example")
    code, output = run("users", "reset-password", "agent@politie.example")
    assert code == 1
    assert "deactivated" in output


def test_users_roles_lists_who_may_grant_each_role(cli_url: str) -> None:
    code, output = run("users", "roles")
    assert code == 0, output
    lines = {line.split("\t")[0]: line.split("\t") for line in output.splitlines()}
    assert lines["role"][4:6] == ["rank", "granted by"]
    assert lines["platform_administrator"][4:6] == ["100", "platform_administrator"]
    assert lines["analyst"][3] == "care_coordination, ggd, municipality, police"
    assert lines["analyst"][5] == "administrator, platform_administrator"


def test_audit_verify_ok_then_names_the_tampered_row(cli_url: str) -> None:
    setup_user(cli_url)
    code, output = run("audit", "verify")
    assert code == 0, output
    assert "audit chain ok: 2 row(s)" in output
    engine = make_engine(cli_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("UPDATE audit_events SET actor_email = 'x@y.z' WHERE seq = 2"))
    finally:
        engine.dispose()
    code, output = run("audit", "verify")
    assert code == 1
    assert "row 2: changed" in output
    assert "does not verify" in output


def test_audit_show(cli_url: str) -> None:
    setup_user(cli_url)
    code, output = run("audit", "show", "--last", "1")
    assert code == 0
    assert "\tuser.created\tuser:1\t" in output
    assert "organisation.created" not in output


def test_purge_expired(cli_url: str) -> None:
    code, output = run("db", "purge-expired")
    assert code == 0, output
    assert "deleted 0 expired analysis run(s)" in output


def test_unreachable_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SIGNAAL_DATABASE_URL",
        "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2",
    )
    get_settings.cache_clear()
    try:
        code, output = run("db", "upgrade")
    finally:
        get_settings.cache_clear()
    assert code == 1
    assert "error:" in output
    assert "hunter2" not in output
    assert "Traceback" not in output
