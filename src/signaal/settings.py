"""One typed settings object, read from ``SIGNAAL_*`` environment variables and ``.env``.

Every setting has a default and a help text (``signaal settings`` lists them; a test checks that
each is documented in docs/settings.md). Outside development mode the settings refuse to load with
the default secret or pseudonym key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signaal.errors import ConfigurationError
from signaal.worker.schedule import parse_schedule

DEFAULT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105
DEFAULT_PSEUDONYM_KEY = "development-only-pseudonym-key-change-me"
DEFAULT_AUDIT_KEY = "development-only-audit-key-change-me"
DEFAULT_CONTACT_KEY = "development-only-contact-key-change-me"
DEFAULT_DATA_KEY = "development-only-data-key-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIGNAAL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="development, test or production. Outside development the default keys are "
        "refused and cookies are only sent over HTTPS.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Folder for the embedded SQLite database, demo corpora and analysis output.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the app store. Empty means a SQLite file "
        "signaal.db in the data folder; use postgresql+psycopg://… for a multi-user deployment.",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="Key that signs session cookies and CSRF tokens; must be set outside "
        "development.",
    )
    pseudonym_key: str = Field(
        default=DEFAULT_PSEUDONYM_KEY,
        description="Key of the keyed pseudonyms (HMAC-SHA256) of contact points. Partners that "
        "match hit/no-hit must share it; must be set outside development.",
    )
    audit_key: str = Field(
        default=DEFAULT_AUDIT_KEY,
        description="Key of the audit chain's HMAC and of signed audit anchors. Keep it out of "
        "the database (an environment variable or .env file only the app reads): whoever holds "
        "the database but not this key cannot rewrite the chain unnoticed. Must be set outside "
        "development.",
    )
    contact_key: str = Field(
        default=DEFAULT_CONTACT_KEY,
        description="Key that seals (AES-GCM) the clear values of contact points in the store, "
        "for the roles that may reveal one on screen. Must be set outside development.",
    )
    data_key: str = Field(
        default=DEFAULT_DATA_KEY,
        description="Key that encrypts (AES-GCM) the special categories at rest: the chain's "
        "free text (signal texts, case, contact and task notes, referral questions, contact "
        "requests) and vulnerability factors. Keep it out of the database; changing it makes "
        "the stored fields unreadable. Must be set outside development.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web app listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the web app listens on.")
    default_locale: str = Field(
        default="nl", description="Language of the user interface when the user has not chosen one."
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, ge=60, description="How long a login session lasts without activity."
    )
    session_absolute_max_age_seconds: int = Field(
        default=12 * 3600,
        ge=60,
        description="How long a login session lasts at most, however active; then the user logs "
        "in again.",
    )
    login_rate_limit: int = Field(
        default=5,
        ge=1,
        description="Failed logins (passwords, and separately second-factor codes) of one account "
        "that are checked without delay; from then on each failure blocks the next attempt for a "
        "growing delay. A success resets the count.",
    )
    login_rate_window_seconds: int = Field(
        default=24 * 3600,
        ge=1,
        description="A throttle count (of an account or an address) is forgotten this long after "
        "its last failure.",
    )
    login_delay_seconds: int = Field(
        default=30,
        ge=1,
        description="Delay after the first failure past the allowance; it doubles with every "
        "further failure, up to login_max_delay_seconds. Attempts during the delay are refused "
        "without checking the password or code.",
    )
    login_max_delay_seconds: int = Field(
        default=900,
        ge=1,
        description="Longest delay between checked attempts on one account (the cap of the "
        "doubling).",
    )
    login_address_rate_limit: int = Field(
        default=30,
        ge=1,
        description="Failed logins from one client address (IPv6: its /64) over all accounts "
        "before that address is slowed down too.",
    )
    login_address_max_delay_seconds: int = Field(
        default=60,
        ge=1,
        description="Longest delay of an address: it slows an address down, it never locks it.",
    )
    login_known_address_days: int = Field(
        default=30,
        ge=0,
        description="An account that logged in successfully from an address within this many "
        "days is not held back by that address's delay (only by its own), so an attacker behind "
        "the same proxy cannot keep everyone out. 0 turns this off.",
    )

    enrolment_link_hours: int = Field(
        default=72,
        ge=1,
        le=30 * 24,
        description="Hours that a one-time link to set up an account (or to set a new password "
        "after a reset) stays valid. The link works once; a new link replaces older ones.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address where users reach the web app (scheme, host and optional "
        "port/path, e.g. https://signaal.example.nl); used to write enrolment links that "
        "`signaal users create` prints.",
    )

    analysis_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days that a stored analysis run is kept; `signaal db purge-expired` deletes "
        "older runs.",
    )
    # Retention per record category (signaal.chain.retention, docs/privacy.md, "Retention per
    # category"): `signaal chain enforce-retention` deletes what is past its period; a legal
    # hold on a subject keeps everything about her.
    retention_signals_days: int = Field(
        default=365,
        ge=1,
        le=7300,
        description="Days that a signal linked to no person is kept after its last change "
        "(not while a referral of it is in progress or accepted).",
    )
    retention_cases_days: int = Field(
        default=730,
        ge=1,
        le=7300,
        description="Days that a closed case (with its history, assessments and aangifte "
        "support) is kept after it was closed.",
    )
    retention_subjects_days: int = Field(
        default=730,
        ge=1,
        le=7300,
        description="Days that a person (subject) without an open case is kept after the last "
        "activity on her records; then she is deleted with everything about her.",
    )
    retention_outreach_contacts_days: int = Field(
        default=365,
        ge=1,
        le=7300,
        description="Days that an outreach contact is kept after it took place (not while its "
        "case is open).",
    )
    retention_tasks_days: int = Field(
        default=180,
        ge=1,
        le=7300,
        description="Days that a done or cancelled task is kept after it was finished.",
    )
    retention_contact_requests_days: int = Field(
        default=180,
        ge=1,
        le=7300,
        description="Days that a contact request on a hit is kept after it was answered (an "
        "unanswered one: after it was sent).",
    )
    retention_notifications_days: int = Field(
        default=90,
        ge=1,
        le=7300,
        description="Days that an in-app notification is kept after it was created, read or not.",
    )
    retention_triage_decisions_days: int = Field(
        default=730,
        ge=1,
        le=7300,
        description="Days that a triage decision (and so its calibration label) is kept after it "
        "was taken.",
    )
    retention_sent_mails_days: int = Field(
        default=30,
        ge=1,
        le=7300,
        description="Days that a sent mail stays in the outbox after it was sent.",
    )
    analysis_config: Path | None = Field(
        default=None,
        description="JSON file with the link and movement parameters of `signaal analyse` "
        "(see docs/analysis.md); `--config` overrides it. Empty: the stages' defaults.",
    )

    # Daily operation (signaal.monitor.ingest, docs/cli.md "signaal ingest"): ads received by
    # `signaal ingest` or the worker's ingest-folder job are kept for the next analyses.
    ingest_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days that an ingested ad is kept after it was last seen; the worker's "
        "purge-expired job (and `signaal db purge-expired`) deletes older ones.",
    )
    ingest_folder: Path | None = Field(
        default=None,
        description="Drop folder of the worker's ingest-folder job: every .jsonl or .csv file "
        "and every folder of saved pages in it is ingested, analysed and moved to its done/ "
        "(or failed/) subfolder. Empty: the job has nothing to do.",
    )
    ingest_organisation: str = Field(
        default="",
        description="The organisation (name or id) that ads from the ingest folder belong to.",
    )

    chain_routing_overdue_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        description="Hours after which a new signal that the care coordinator has not routed, "
        "or a routing or referral still in progress without a due time, counts as overdue "
        "(the coordination page's overdue list and the reminders).",
    )
    chain_emergency_access_hours: int = Field(
        default=4,
        ge=1,
        le=24,
        description="Hours that an emergency access (noodprocedure) to a record of another "
        "organisation lasts.",
    )

    smtp_host: str = Field(
        default="",
        description="SMTP server that sends reminder mails (`signaal chain remind`). Empty: "
        "mails stay queued in the outbox.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(
        default=False, description="Switch the SMTP connection to TLS (STARTTLS) before sending."
    )
    smtp_user: str = Field(default="", description="SMTP login name (empty: no login).")
    smtp_password: str = Field(default="", description="SMTP password (with smtp_user).")
    mail_from: str = Field(
        default="signaal@localhost", description="Sender address of the mails Signaal sends."
    )

    worker_schedule: dict[str, str] = Field(
        default_factory=dict,
        description="When `signaal worker` runs each job, as JSON: job name to an interval "
        '(30s, 15m, 1h, 1d), a cron expression of five fields in UTC ("0 3 * * *") or "off", '
        'e.g. {"remind": "5m", "purge-expired": "0 3 * * *"}. Jobs not named keep their '
        "default (`signaal worker --list` shows them).",
    )
    worker_poll_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="How often a running `signaal worker` looks for due jobs.",
    )
    worker_retry_seconds: int = Field(
        default=300,
        ge=1,
        description="A failed job is tried again this long after it failed (or at its regular "
        "time, when that comes first).",
    )
    worker_lease_seconds: int = Field(
        default=3600,
        ge=60,
        description="How long a worker holds a job it started. Another worker takes the job only "
        "after this, so a worker that died does not block it for ever; make it longer than the "
        "longest run of a job.",
    )

    # The cross-deployment match service (signaal.chain.remote_matching, docs/matching.md,
    # "Between deployments"): off while remote_match_url is empty.
    remote_match_url: str = Field(
        default="",
        description="Address of the match service shared with other deployments (e.g. "
        "https://match.example.nl). Empty: subjects are matched within this deployment only.",
    )
    remote_match_token: str = Field(
        default="",
        description="Bearer token of this deployment at the match service (printed once by "
        "`signaal match-service add-deployment`).",
    )
    remote_match_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="The matching secret shared with the partner deployments, per purpose, as "
        'JSON: {"trafficking-victims": "…"}. Subjects are encoded with each (never with the '
        "pseudonym key) and submitted under that purpose. At least 32 characters each outside "
        "development.",
    )
    remote_match_organisations: list[int] = Field(
        default_factory=list,
        description="Ids of this deployment's organisations whose subjects take part in the "
        "match service (JSON list, e.g. [3, 5]); the others' never leave the deployment.",
    )
    remote_match_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of each call to the match service."
    )

    @field_validator("worker_schedule")
    @classmethod
    def _schedules_parse(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            return {name: parse_schedule(text).text for name, text in value.items()}
        except ConfigurationError as exc:
            raise ValueError(exc.message) from exc

    @model_validator(mode="after")
    def _refuse_default_keys_outside_development(self) -> Settings:
        if self.env is not Environment.DEVELOPMENT:
            for name, default in (
                ("secret_key", DEFAULT_SECRET_KEY),
                ("pseudonym_key", DEFAULT_PSEUDONYM_KEY),
                ("audit_key", DEFAULT_AUDIT_KEY),
                ("contact_key", DEFAULT_CONTACT_KEY),
                ("data_key", DEFAULT_DATA_KEY),
            ):
                value = getattr(self, name)
                if value == default or len(value) < 32:
                    raise ValueError(
                        f"SIGNAAL_{name.upper()} must be set to a random value of at least "
                        f"32 characters when SIGNAAL_ENV={self.env.value}"
                    )
        return self

    @model_validator(mode="after")
    def _remote_matching_is_complete(self) -> Settings:
        if not self.remote_match_url:
            return self
        parsed = urlsplit(self.remote_match_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("SIGNAAL_REMOTE_MATCH_URL must be an http(s) address")
        if not self.remote_match_token or not self.remote_match_secrets:
            raise ValueError(
                "SIGNAAL_REMOTE_MATCH_URL needs SIGNAAL_REMOTE_MATCH_TOKEN and "
                "SIGNAAL_REMOTE_MATCH_SECRETS"
            )
        for purpose, secret in self.remote_match_secrets.items():
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", purpose):
                raise ValueError(
                    f"SIGNAAL_REMOTE_MATCH_SECRETS: purpose {purpose!r} must be lower-case "
                    "letters, digits and '-'"
                )
            if secret == self.pseudonym_key:
                raise ValueError(
                    f"SIGNAAL_REMOTE_MATCH_SECRETS: the secret of {purpose!r} must not be the "
                    "pseudonym key (it is shared with another deployment)"
                )
            if self.env is not Environment.DEVELOPMENT and len(secret) < 32:
                raise ValueError(
                    f"SIGNAAL_REMOTE_MATCH_SECRETS: the secret of {purpose!r} must have at "
                    f"least 32 characters when SIGNAAL_ENV={self.env.value}"
                )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url_is_an_address(cls, value: str) -> str:
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"{value!r} is not an http(s) address like https://signaal.example.nl")
        if parsed.query or parsed.fragment or parsed.username or parsed.password:
            raise ValueError(f"{value!r}: give only scheme, host, port and path")
        return value.strip().rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'signaal.db').as_posix()}"


def load_settings(**overrides: object) -> Settings:
    """Load and validate the settings, turning validation errors into a ConfigurationError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
