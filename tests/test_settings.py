import pytest

from signaal.errors import ConfigurationError
from signaal.settings import DEFAULT_SECRET_KEY, Environment, load_settings


def test_development_accepts_default_keys() -> None:
    settings = load_settings(env="development")
    assert settings.secret_key == DEFAULT_SECRET_KEY
    assert settings.effective_database_url.startswith("sqlite:///")


@pytest.mark.parametrize("env", ["production", "test"])
def test_outside_development_default_secret_is_refused(env: str) -> None:
    with pytest.raises(ConfigurationError, match="SIGNAAL_SECRET_KEY"):
        load_settings(env=env)


def test_production_with_real_keys_loads() -> None:
    settings = load_settings(
        env="production",
        secret_key="s" * 40,
        pseudonym_key="p" * 40,
        audit_key="a" * 40,
        contact_key="c" * 40,
        data_key="d" * 40,
    )
    assert settings.env is Environment.PRODUCTION


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNAAL_PORT", "8123")
    assert load_settings().port == 8123


def test_absurd_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNAAL_PORT", "99999")
    with pytest.raises(ConfigurationError, match="port"):
        load_settings()
