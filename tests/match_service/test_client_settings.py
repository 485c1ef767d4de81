"""The installation's match-service settings fail fast when incomplete or unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaal.chain.remote_matching import RemoteMatching
from signaal.errors import ConfigurationError
from signaal.settings import load_settings

SECRET = "shared-matching-secret-of-police-and-care-0123"


def _load(tmp_path: Path, **overrides: object) -> RemoteMatching | None:
    settings = load_settings(env="development", data_dir=tmp_path, **overrides)
    return RemoteMatching.from_settings(settings)


def test_off_without_an_address(tmp_path: Path) -> None:
    assert _load(tmp_path) is None


def test_on_with_address_token_and_secrets(tmp_path: Path) -> None:
    remote = _load(
        tmp_path,
        remote_match_url="https://match.example.test/",
        remote_match_token="sms_x",
        remote_match_secrets={"trafficking-victims": SECRET},
        remote_match_organisations=[3, 5],
    )
    assert remote is not None
    assert remote.url == "https://match.example.test"
    assert remote.takes_part(3)
    assert not remote.takes_part(4)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"remote_match_url": "ftp://x"}, r"must be an http\(s\) address"),
        ({"remote_match_token": ""}, "needs SIGNAAL_REMOTE_MATCH_TOKEN"),
        ({"remote_match_secrets": {}}, "needs SIGNAAL_REMOTE_MATCH_TOKEN"),
        ({"remote_match_secrets": {"Bad Purpose": SECRET}}, "must be lower-case"),
        (
            {"remote_match_secrets": {"trafficking-victims": "p" * 40}, "pseudonym_key": "p" * 40},
            "must not be the pseudonym key",
        ),
    ],
)
def test_incomplete_or_unsafe_settings_are_refused(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "remote_match_url": "https://match.example.test",
        "remote_match_token": "sms_x",
        "remote_match_secrets": {"trafficking-victims": SECRET},
        **overrides,
    }
    with pytest.raises(ConfigurationError, match=message):
        _load(tmp_path, **values)


def test_a_short_secret_is_refused_outside_development(tmp_path: Path) -> None:
    keys = {
        name: f"{name}-0123456789abcdef0123456789abcdef"
        for name in ("secret_key", "pseudonym_key", "audit_key", "contact_key", "data_key")
    }
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        load_settings(
            env="production",
            data_dir=tmp_path,
            remote_match_url="https://match.example.test",
            remote_match_token="sms_x",
            remote_match_secrets={"trafficking-victims": "short"},
            **keys,
        )
