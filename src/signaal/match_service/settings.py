"""Settings of the match service, read from ``SIGNAAL_MATCH_SERVICE_*`` environment variables.

Kept apart from :class:`signaal.settings.Settings`: the service runs on its own machine, with
none of a deployment's keys (it never needs one: it only compares encodings).
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from signaal.errors import ConfigurationError
from signaal.privacy.matching import MATCH_THRESHOLD


class MatchServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIGNAAL_MATCH_SERVICE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite:///data/match-service.db",
        description="SQLAlchemy URL of the match service's own store (SQLite file by default; "
        "postgresql+psycopg://… for PostgreSQL). Never a deployment's database.",
    )
    host: str = Field(default="127.0.0.1", description="Address the match service listens on.")
    port: int = Field(
        default=8100, ge=1, le=65535, description="Port the match service listens on."
    )
    records_per_hour: int = Field(
        default=1000,
        ge=1,
        description="Records (new or replaced encodings) one deployment may submit per clock "
        "hour (UTC), over all its purposes; more is refused with 429 until the next hour. "
        "Every submitted record is a question 'does a partner hold this person?', so this caps "
        "probing.",
    )
    max_records_per_request: int = Field(
        default=100, ge=1, le=1000, description="Records in one submission at most."
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest request body accepted; a larger one is refused with 413 before it "
        "is read further.",
    )
    match_threshold: float = Field(
        default=MATCH_THRESHOLD,
        description="Points a pair of encodings needs to be a hit (signaal.privacy.matching; "
        "see docs/matching.md for how it depends on the number of records).",
    )


def load_service_settings(**overrides: object) -> MatchServiceSettings:
    """Load and validate the settings, turning validation errors into a ConfigurationError."""
    try:
        return MatchServiceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid match service settings: {problems}") from exc
