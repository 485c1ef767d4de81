"""The tables of the app store, as SQLAlchemy 2 typed declarative models.

The schema itself is created and changed only by the Alembic migrations in
``signaal/store/migrations``; a test checks that these models and the migrations agree.

Times are stored timezone-aware (``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, UTC text on SQLite)
and always come back as aware UTC datetimes (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC, returned as aware UTC on every backend.

    SQLite has no time zones: the value is stored as naive UTC there and given back its zone
    when read. Naive datetimes are refused on the way in, so that no local time slips in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}  # noqa: RUF012


class OrganisationKind(StrEnum):
    """The kinds of partner organisation in the chain."""

    POLICE = "police"
    OUTREACH = "outreach"
    CARE_COORDINATION = "care_coordination"
    GGD = "ggd"
    MUNICIPALITY = "municipality"
    HOUSING = "housing"
    SHELTER = "shelter"


# Stored as plain strings (not a database enum) so that adding a kind needs no type migration;
# the application validates the value.
_KIND_LENGTH = 32


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(
        Enum(
            OrganisationKind,
            native_enum=False,
            create_constraint=False,
            length=_KIND_LENGTH,
            values_callable=lambda kinds: [kind.value for kind in kinds],
            validate_strings=True,
        )
    )
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"Organisation(id={self.id!r}, name={self.name!r}, kind={self.kind.value!r})"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None until the user has set her own password through an enrolment link.
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!r})"


class LoginSession(Base):
    """A login session; ``id`` is the SHA-256 of the random token, which is never kept."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)

    user: Mapped[User] = relationship(lazy="joined")


class UserEnrolment(Base):
    """A one-time link for a user to set her own password and second factor.

    ``token_hash`` is the SHA-256 of the random token in the link; the token itself is never
    kept. ``purpose`` is ``"enrol"`` for a new account or ``"reset"`` for a password reset an
    administrator started. A link is used at most once (``used_at``) and dies at ``expires_at``.
    """

    __tablename__ = "user_enrolments"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="enrol")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class LoginThrottle(Base):
    """Failed login attempts per key (``account:<e-mail>`` or ``address:<ip>``), counted with
    atomic updates so that concurrent attempts cannot slip past the count.

    ``blocked_until`` is the earliest moment the next attempt for this key is checked at all;
    it grows with every failure (a growing delay, never a lock-out of everyone).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)


class LoginAttempt(Base):
    """One password or second-factor attempt, counted for rate limiting."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)
    factor: Mapped[str] = mapped_column(String(16), default="password")


class AuditEvent(Base):
    """One row of the append-only, hash-chained audit log (see :mod:`signaal.audit`)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor_email: Mapped[str | None] = mapped_column(String(254), default=None)
    organisation_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    record_type: Mapped[str | None] = mapped_column(String(64), default=None)
    record_id: Mapped[str | None] = mapped_column(String(128), default=None)
    purpose: Mapped[str | None] = mapped_column(Text, default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How ``hash`` was made: "sha256" (rows before migration 0002, unkeyed) or "hmac-sha256"
    # (keyed with the audit key from the settings, which the database never holds).
    scheme: Mapped[str] = mapped_column(String(16), default="sha256")


class AuditChainHead(Base):
    """The single row that holds the last sequence number and hash of the audit chain.

    Every append updates it in the same transaction, which serialises writers (row lock on
    PostgreSQL, the write lock on SQLite) and lets verification notice removed trailing rows.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A point up to which the audit chain was verified: later verifications start here."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisRun(Base):
    """One stored run of ``signaal analyse``; everything below it is deleted with it.

    The run belongs to one organisation; its ads, personas, networks, movements and sealed
    contact points belong to that organisation through the run.
    """

    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    source: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    n_ads: Mapped[int] = mapped_column(Integer, default=0)
    n_personas: Mapped[int] = mapped_column(Integer, default=0)
    n_networks: Mapped[int] = mapped_column(Integer, default=0)
    n_movements: Mapped[int] = mapped_column(Integer, default=0)
    n_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    stored_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


_RUN_FK = "analysis_runs.id"


class AnalysisAd(Base):
    __tablename__ = "analysis_ads"
    __table_args__ = (Index("ix_analysis_ads_run_persona", "run_id", "persona_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    ad_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    persona_id: Mapped[str] = mapped_column(String(100))
    network_id: Mapped[str] = mapped_column(String(100))
    risk_score: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(16))
    indicators: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    site: Mapped[str | None] = mapped_column(String(200), default=None)
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    title: Mapped[str | None] = mapped_column(Text, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)


class AnalysisPersona(Base):
    __tablename__ = "analysis_personas"
    __table_args__ = (
        Index("ix_analysis_personas_run_score", "run_id", "risk_score"),
        Index("ix_analysis_personas_run_network", "run_id", "network_id"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    persona_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(100))
    n_ads: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime | None] = mapped_column(default=None)
    last_seen: Mapped[datetime | None] = mapped_column(default=None)
    municipalities: Mapped[str] = mapped_column(Text, default="")
    risk_score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="")


class AnalysisNetwork(Base):
    __tablename__ = "analysis_networks"
    __table_args__ = (Index("ix_analysis_networks_run_score", "run_id", "risk_score"),)

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    n_personas: Mapped[int] = mapped_column(Integer)
    n_ads: Mapped[int] = mapped_column(Integer)
    contact_points: Mapped[str] = mapped_column(Text, default="")
    municipalities: Mapped[str] = mapped_column(Text, default="")
    risk_score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="")


class AnalysisMovement(Base):
    __tablename__ = "analysis_movements"
    __table_args__ = (Index("ix_analysis_movements_run_persona", "run_id", "persona_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"))
    persona_id: Mapped[str] = mapped_column(String(100))
    network_id: Mapped[str] = mapped_column(String(100))
    from_municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    to_municipality: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class AnalysisContactPoint(Base):
    """A contact point of a run, sealed: its pseudonym and its clear value encrypted (AES-GCM
    with the contact key from the settings, which the database never holds). Only a role that
    may reveal contact points, stating a purpose, ever sees the clear value; it is audited."""

    __tablename__ = "analysis_contact_points"

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(80), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
