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
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from signaal.store.encrypted import EncryptedBool, EncryptedBytes, EncryptedText

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
    YOUTH_CARE = "youth_care"


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
    # The region the organisation works in: a province of geo/municipalities.csv (a care
    # coordinator's inbox shows the signals of her region). None: no region (e.g. national).
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    # How another organisation gets in touch after a hit (migration 0004); None: not given.
    contact_route: Mapped[str | None] = mapped_column(String(200), default=None)

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
    # The triage queue filters personas and networks by their ads (indicator, site, period);
    # "Mijn gemeente" counts an area's ads per week (signaal.store.local_picture).
    __table_args__ = (
        Index("ix_analysis_ads_run_persona", "run_id", "persona_id"),
        Index("ix_analysis_ads_run_network", "run_id", "network_id"),
        Index("ix_analysis_ads_run_municipality_posted", "run_id", "municipality", "posted_at"),
    )

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
    #: The reasons as facts (``signaal.ads.outputs.reasons_json``); None for runs stored before
    #: migration 0005, which show ``reasons`` instead.
    reasons_json: Mapped[str | None] = mapped_column(Text, default=None)


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
    #: The reasons as facts (``signaal.ads.outputs.reasons_json``); None for runs stored before
    #: migration 0005, which show ``reasons`` instead.
    reasons_json: Mapped[str | None] = mapped_column(Text, default=None)


class AnalysisMovement(Base):
    __tablename__ = "analysis_movements"
    # Arrivals in an area ("Mijn gemeente") are movements into it in a week.
    __table_args__ = (
        Index("ix_analysis_movements_run_persona", "run_id", "persona_id"),
        Index("ix_analysis_movements_run_to_at", "run_id", "to_municipality", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"))
    persona_id: Mapped[str] = mapped_column(String(100))
    network_id: Mapped[str] = mapped_column(String(100))
    from_municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    to_municipality: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class AnalysisAdPhoto(Base):
    """A photo of a stored ad: its PDQ hash and a small thumbnail (JPEG, at most 240 pixels a
    side, no metadata), encrypted with the data key. ``cluster`` numbers the run's photos that
    are the same picture (near-duplicate PDQ hashes, connected, as the link stage groups them);
    None for a photo of too low quality to match. Deleted with its run."""

    __tablename__ = "analysis_ad_photos"
    __table_args__ = (Index("ix_analysis_ad_photos_run_cluster", "run_id", "cluster"),)

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    ad_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # in the ad's images
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)
    cluster: Mapped[int | None] = mapped_column(Integer, default=None)
    thumbnail: Mapped[bytes | None] = mapped_column(
        EncryptedBytes("analysis_ad_photos", "thumbnail"), default=None
    )


class AnalysisContactPoint(Base):
    """A contact point of a run, sealed: its pseudonym and its clear value encrypted (AES-GCM
    with the contact key from the settings, which the database never holds). Only a role that
    may reveal contact points, stating a purpose, ever sees the clear value; it is audited."""

    __tablename__ = "analysis_contact_points"

    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(80), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)


class AnalysisLineage(Base):
    """A merge or split of personas or networks between a run and the one before it
    (:mod:`signaal.ads.lineage`), with the evidence as facts (JSON: links with pseudonyms,
    never a contact point); deleted with its run (migration 0014)."""

    __tablename__ = "analysis_lineage"
    __table_args__ = (Index("ix_analysis_lineage_run_level", "run_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"))
    previous_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    level: Mapped[str] = mapped_column(String(16))  # persona | network
    kind: Mapped[str] = mapped_column(String(16))  # merged | split
    item_id: Mapped[str] = mapped_column(String(100))
    previous_ids: Mapped[str] = mapped_column(Text)  # comma-separated
    current_ids: Mapped[str] = mapped_column(Text)  # comma-separated
    evidence_json: Mapped[str] = mapped_column(Text, default="[]")


class IngestedAd(Base):
    """One version of an ad as ``signaal ingest`` received it, kept for the next analyses.

    The record itself (JSON, with its contact points in the clear, as the site showed it) is
    encrypted at rest; ``sha256`` is the fingerprint of that exact version (its canonical
    JSON), for an evidence file. The same ad seen again with the same content is one row
    (``last_seen_at``, ``times_seen``); an edited ad is a new version, and the analysis reads
    the newest version of each ad id. Deleted after ``expires_at`` (migration 0014).
    """

    __tablename__ = "ingested_ads"
    __table_args__ = (
        UniqueConstraint(
            "organisation_id", "ad_id", "sha256", name="uq_ingested_ads_org_ad_version"
        ),
        Index("ix_ingested_ads_org_expires", "organisation_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    ad_id: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(EncryptedText("ingested_ads", "record"))
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(500))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime]


# --- Chain coordination (migration 0003) -------------------------------------------------------
#
# Every record below has an owning organisation (``organisation_id``): the one that registered
# it. Another organisation sees it only under a sharing agreement (``agreements``) or an explicit
# share (``record_shares``); :mod:`signaal.chain.visibility` decides, ``allowed()`` enforces.
# Contact points of persons are never stored in the clear: a keyed pseudonym (for matching) and
# the value sealed with the contact key (for those who may call it), as for analysis runs.
# Enumerations are plain strings validated by the services (adding a value needs no migration).

_ORG_FK = "organisations.id"
_USER_FK = "users.id"
_SUBJECT_FK = "subjects.id"
_CASE_FK = "cases.id"
_SIGNAL_FK = "signals.id"


class Subject(Base):
    """A pseudonymous person a signal or case is about: an alias, a year-of-birth range and
    pseudonymised contact points (``subject_contacts``), never a name or number in the clear."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    alias: Mapped[str] = mapped_column(String(120))
    birth_year_from: Mapped[int | None] = mapped_column(Integer, default=None)
    birth_year_to: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A legal hold (migration 0009): while on, retention keeps every record about the subject
    # and an erasure request is refused (``signaal.chain.retention``).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(
        EncryptedText("subjects", "legal_hold_reason"), default=None
    )
    legal_hold_at: Mapped[datetime | None] = mapped_column(default=None)
    legal_hold_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class SubjectContact(Base):
    """A contact point of a subject: keyed pseudonym (``kind:HMAC``) and the sealed value."""

    __tablename__ = "subject_contacts"

    subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), primary_key=True
    )
    pseudonym: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="phone")
    sealed: Mapped[str] = mapped_column(Text)
    masked: Mapped[str] = mapped_column(String(40))  # e.g. 06-•••••89, safe to show
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubjectEncoding(Base):
    """Keyed Bloom-filter encodings of a subject's identifying fields for one matching purpose
    (``signaal.privacy.matching``); the clear values are never stored. NULL: not registered."""

    __tablename__ = "subject_encodings"

    subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    first_name: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    surname: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    birth_date: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    birth_date_variants: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubjectEncodingBlock(Base):
    """A keyed blocking key of a subject's encoding: subjects are compared only when they share
    one."""

    __tablename__ = "subject_encoding_blocks"

    block: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), primary_key=True, index=True
    )


class RemoteMatchRecord(Base):
    """A subject's record at the cross-deployment match service (migration 0013) for one
    purpose: the random opaque ``reference`` the service knows her by and, until it is
    submitted, the encoding to send (``payload``: the wire JSON of keyed filters under the
    purpose's shared secret, never a clear value; emptied once the service has it)."""

    __tablename__ = "remote_match_records"

    subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)


class RemoteMatchWithdrawal(Base):
    """A reference to withdraw from the match service: its subject was erased or past her
    retention period. Names no subject; deleted once the service confirmed."""

    __tablename__ = "remote_match_withdrawals"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemoteHit(Base):
    """A hit of a subject at the match service: another deployment's registered name and
    contact route, nothing else (what the service answers)."""

    __tablename__ = "remote_hits"

    subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(120), primary_key=True)
    contact_route: Mapped[str] = mapped_column(String(300))
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signal(Base):
    """A recorded concern about a person, from a partner's observation, the ad monitor or an
    integration (``source``). ``category`` is one code of :data:`signaal.chain.catalogue`
    (families E and F of the indicator model and a few more); ``status`` follows routing
    (new, routed, accepted, returned, closed)."""

    __tablename__ = "signals"
    __table_args__ = (
        Index("ix_signals_organisation_observed", "organisation_id", "observed_at"),
        Index("ix_signals_region_status", "region", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    source: Mapped[str] = mapped_column(String(32), default="observation")
    category: Mapped[str] = mapped_column(String(48))
    observed_at: Mapped[datetime]
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    text: Mapped[str] = mapped_column(EncryptedText("signals", "text"), default="")
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="SET NULL"), default=None, index=True
    )
    # A subject of the same organisation whose pseudonym matched; a person confirms the link.
    suggested_subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="new")
    # Contact points given with the signal, as keyed pseudonyms (comma separated), for matching.
    contact_pseudonyms: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignalPersona(Base):
    """A link from a signal to an ad persona of a stored analysis run (of the same
    organisation): the ads that raised it or that an outreach worker recognised."""

    __tablename__ = "signal_personas"

    signal_id: Mapped[int] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(
        ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True
    )
    persona_id: Mapped[str] = mapped_column(String(100), primary_key=True)


class Case(Base):
    """The coordinated follow-up of one organisation for one subject, with a stage
    (signal, assessment, contact_made, help_requested, safe_place, aangifte_support, aftercare,
    closed) and its history in ``case_events``."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey(_SUBJECT_FK), index=True)
    stage: Mapped[str] = mapped_column(String(32), default="signal")
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="SET NULL"), default=None
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    closed_reason: Mapped[str | None] = mapped_column(
        EncryptedText("cases", "closed_reason"), default=None
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="SET NULL"), default=None
    )
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseEvent(Base):
    """One step in a case's history: a stage change, a note, an assessment, a contact, a
    placement, an aangifte support (``kind``), with its details as JSON."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(_CASE_FK, ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    kind: Mapped[str] = mapped_column(String(32))
    from_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    to_stage: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str] = mapped_column(EncryptedText("case_events", "text"), default="")
    details: Mapped[str] = mapped_column(EncryptedText("case_events", "details"), default="{}")


class VulnerabilityAssessment(Base):
    """A dated assessment of a case's vulnerability factors, shown as a timeline; never a score
    or a verdict."""

    __tablename__ = "vulnerability_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(_CASE_FK, ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    prior_trauma: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "prior_trauma"), default=None
    )
    intellectual_disability: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "intellectual_disability"), default=None
    )
    youth_care_history: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "youth_care_history"), default=None
    )
    near_adulthood: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "near_adulthood"), default=None
    )
    dependency: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "dependency"), default=None
    )
    language_barrier: Mapped[bool | None] = mapped_column(
        EncryptedBool("vulnerability_assessments", "language_barrier"), default=None
    )
    notes: Mapped[str] = mapped_column(
        EncryptedText("vulnerability_assessments", "notes"), default=""
    )


class JointControl(Base):
    """A visit by police with an outreach worker. The shared part lives here and is seen by both
    organisations; each organisation's own part is a :class:`JointControlPart`."""

    __tablename__ = "joint_controls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)  # planner
    partner_organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    planned_at: Mapped[datetime]
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    location: Mapped[str] = mapped_column(String(200), default="")
    shared_notes: Mapped[str] = mapped_column(
        EncryptedText("joint_controls", "shared_notes"), default=""
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class JointControlPersona(Base):
    """A persona of the planner's latest analysis run selected for a joint control (the visit
    list), and the outcome of the visit: the outcome is shared with the partner, the note is
    seen only by the organisation that recorded it (``outcome_organisation_id``)."""

    __tablename__ = "joint_control_personas"

    control_id: Mapped[int] = mapped_column(
        ForeignKey("joint_controls.id", ondelete="CASCADE"), primary_key=True
    )
    persona_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)  # the run it was selected from (no FK: purged)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    outcome_note: Mapped[str] = mapped_column(
        EncryptedText("joint_control_personas", "outcome_note"), default=""
    )
    outcome_organisation_id: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    outcome_at: Mapped[datetime | None] = mapped_column(default=None)


class JointControlPart(Base):
    """One organisation's own part of a joint control: only that organisation sees it."""

    __tablename__ = "joint_control_parts"

    control_id: Mapped[int] = mapped_column(
        ForeignKey("joint_controls.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), primary_key=True)
    notes: Mapped[str] = mapped_column(EncryptedText("joint_control_parts", "notes"), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class OutreachContact(Base):
    """A contact of an outreach worker (or another partner) with a person: ``kind`` (street,
    workplace, walk_in, phone, joint_control), when, where, how it went, a phone number obtained
    (sealed, shown to those who may call it) and the next contact."""

    __tablename__ = "outreach_contacts"
    __table_args__ = (Index("ix_outreach_contacts_organisation_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    location: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(EncryptedText("outreach_contacts", "outcome"), default="")
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="SET NULL"), default=None, index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey(_CASE_FK, ondelete="SET NULL"), default=None, index=True
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="SET NULL"), default=None
    )
    joint_control_id: Mapped[int | None] = mapped_column(
        ForeignKey("joint_controls.id", ondelete="SET NULL"), default=None
    )
    phone_pseudonym: Mapped[str | None] = mapped_column(String(80), default=None)
    phone_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    phone_masked: Mapped[str | None] = mapped_column(String(40), default=None)
    next_contact_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class Task(Base):
    """A follow-up with an owner and a due date ("call back tomorrow"); reminded in the app and
    by e-mail when due, shown in the team's overdue view after."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_organisation_status_due", "organisation_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="follow_up")  # call_back, visit, ...
    due_at: Mapped[datetime]
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done, cancelled
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="SET NULL"), default=None
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey(_CASE_FK, ondelete="SET NULL"), default=None, index=True
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="SET NULL"), default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_contacts.id", ondelete="SET NULL"), default=None
    )
    notes: Mapped[str] = mapped_column(EncryptedText("tasks", "notes"), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)


class Referral(Base):
    """Routing, referral or transfer (``kind``) of a signal, subject or case from one
    organisation to another, with a question. One state machine (in_progress, accepted,
    rejected, done, revoked), gated by the person's consent or a documented legal basis
    (``basis``: consent | legal_basis, ``legal_basis`` the article and purpose). While it is
    in progress or accepted, the receiving organisation sees the referred records."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_to_state", "to_organisation_id", "state"),
        Index("ix_referrals_from_state", "organisation_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))  # the sender
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    kind: Mapped[str] = mapped_column(String(16), default="referral")  # routing|referral|transfer
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="CASCADE"), default=None, index=True
    )
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), default=None, index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey(_CASE_FK, ondelete="CASCADE"), default=None, index=True
    )
    question: Mapped[str] = mapped_column(EncryptedText("referrals", "question"), default="")
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    basis: Mapped[str] = mapped_column(String(16))  # consent | legal_basis
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(
        EncryptedText("referrals", "reason"), default=""
    )  # of the last rejection/revocation
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class ReferralEvent(Base):
    """One transition of a referral (its history)."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(EncryptedText("referral_events", "reason"), default="")


class Agreement(Base):
    """A sharing agreement (convenant): the organisations it names (``agreement_parties``) see
    each other's signals of the named ``categories`` (comma separated codes, ``*`` for all), for
    ``purpose`` on ``legal_basis``, between ``valid_from`` and ``valid_until``."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)  # keeper
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # The parties learn of each other's records on the same person (hit/no-hit, migration 0004).
    hit_no_hit: Mapped[bool] = mapped_column(Boolean, default=False)


class AgreementParty(Base):
    __tablename__ = "agreement_parties"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), primary_key=True, index=True)


class RecordShare(Base):
    """An explicit share of one record (``record_type``: signal, subject, case) by a user of the
    owning organisation with another organisation, with a reason; ended by ``revoked_at``."""

    __tablename__ = "record_shares"
    __table_args__ = (
        Index("ix_record_shares_record", "record_type", "record_id"),
        Index("ix_record_shares_to", "to_organisation_id", "record_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))  # the owner who shares
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
    shared_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Shelter(Base):
    """A safe place (opvang) of a shelter organisation, with its places kept up to date."""

    __tablename__ = "shelters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(100), default=None)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    available_places: Mapped[int] = mapped_column(Integer, default=0)
    accepts_minors: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class Placement(Base):
    """An offer of a safe place and, once accepted, the placement (``state``: offered, placed,
    declined, ended). Owned by the organisation that offered it; the shelter's organisation
    sees it too."""

    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelters.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey(_CASE_FK, ondelete="SET NULL"), default=None
    )
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="SET NULL"), default=None
    )
    state: Mapped[str] = mapped_column(String(16), default="offered")
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    placed_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(EncryptedText("placements", "notes"), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class AangifteSupport(Base):
    """Support while a person files a police report: who accompanied, when, present in the
    interview or waiting outside (``presence``), and the follow-up."""

    __tablename__ = "aangifte_supports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(_CASE_FK, ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    accompanied_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="SET NULL"), default=None
    )
    accompanied_by: Mapped[str] = mapped_column(String(200), default="")
    presence: Mapped[str] = mapped_column(String(32))  # present | waiting_outside | none
    police_unit: Mapped[str] = mapped_column(String(200), default="")
    follow_up: Mapped[str] = mapped_column(
        EncryptedText("aangifte_supports", "follow_up"), default=""
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class ApiToken(Base):
    """A token of a system integration of one organisation: ``token_hash`` is the SHA-256 of the
    secret (printed once at creation, never kept); the integration acts with ``role``."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise it in lists
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class EmergencyAccess(Base):
    """A "noodprocedure": a user reads a record of another organisation without an agreement or a
    share, for a stated reason, for a short time; the owning organisation's log administrators
    are alerted (``notifications``)."""

    __tablename__ = "emergency_accesses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)  # of the user
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), index=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    owner_organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Notification(Base):
    """A message in the app for one user (or every user of an organisation with ``user_id``
    None and the ``role`` named): reminders, returned signals, emergency-access alerts."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="CASCADE"), default=None
    )
    role: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    record_type: Mapped[str | None] = mapped_column(String(32), default=None)
    record_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboxMail(Base):
    """An e-mail waiting to be sent (reminders); ``signaal chain remind`` writes and sends them
    through the SMTP server of the settings. Holds no contact point or subject data."""

    __tablename__ = "outbox_mails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


# --- Contact requests and protective watches (migration 0006) ----------------------------------


class ContactRequest(Base):
    """A request to get in touch about a hit (:mod:`signaal.chain.contact_requests`): the sender
    (``organisation_id``, the owner) asks the organisation that holds a matching subject. Each
    side's subject is its own: the sender never learns ``to_subject_id``, the receiver never
    learns ``subject_id``. ``state``: open, accepted (with ``answer``: what the receiver shares
    and how to reach her) or declined."""

    __tablename__ = "contact_requests"
    __table_args__ = (
        Index("ix_contact_requests_to_state", "to_organisation_id", "state"),
        Index("ix_contact_requests_from_state", "organisation_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))  # the sender
    subject_id: Mapped[int] = mapped_column(ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), index=True)
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    to_subject_id: Mapped[int] = mapped_column(
        ForeignKey(_SUBJECT_FK, ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(EncryptedText("contact_requests", "message"), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    answer: Mapped[str] = mapped_column(EncryptedText("contact_requests", "answer"), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class ProtectiveWatch(Base):
    """A protective watch (:mod:`signaal.chain.watches`): a youth-care or care organisation
    watches the phone number of a vulnerable young person, with consent or a documented legal
    basis, until ``ends_at``. The number is kept only as a keyed, purpose-specific pseudonym of
    the ads pipeline's contact-point pseudonym (``watch:…``) and masked (``06-•••••89``)."""

    __tablename__ = "protective_watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    label: Mapped[str] = mapped_column(String(120))  # an alias, never a name
    pseudonym: Mapped[str] = mapped_column(String(80), index=True)
    masked: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(16))  # consent | legal_basis
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class WatchHit(Base):
    """A watched number found in a stored analysis run: how many ads, where and since when
    (never the ads themselves). One per watch and run; deleted with either."""

    __tablename__ = "watch_hits"

    watch_id: Mapped[int] = mapped_column(
        ForeignKey("protective_watches.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)  # the watch's
    n_ads: Mapped[int] = mapped_column(Integer)
    municipalities: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime | None] = mapped_column(default=None)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The ad monitor's triage queue (migration 0007) ---------------------------------------------


class TriageItem(Base):
    """Where a persona or network of the ad monitor stands in an organisation's triage queue.

    Keyed by the organisation and the item's id, not by a run: ids stay stable from one run to
    the next, and so does a decision. An item without a row is new. Every change is also a
    :class:`TriageDecision` (the history, and the labels ``signaal calibrate`` learns from)."""

    __tablename__ = "triage_items"
    __table_args__ = (
        UniqueConstraint("organisation_id", "kind", "item_id"),
        Index("ix_triage_items_organisation_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    kind: Mapped[str] = mapped_column(String(16))  # persona, network
    item_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="new")
    assigned_to_user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="SET NULL"), default=None, index=True
    )
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey(_SIGNAL_FK, ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[int | None] = mapped_column(Integer, default=None)


class TriageDecision(Base):
    """One decision on a triage item: assigned, reviewed, escalated or dismissed (with its
    reason), by whom, on which run. ``label`` is what calibration learns: escalated True,
    dismissed False, otherwise None."""

    __tablename__ = "triage_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK), index=True)
    triage_item_id: Mapped[int] = mapped_column(
        ForeignKey("triage_items.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: the decision (and its label) outlives the run's retention.
    run_id: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    label: Mapped[bool | None] = mapped_column(Boolean, default=None)
    reason: Mapped[str] = mapped_column(EncryptedText("triage_decisions", "reason"), default="")
    assigned_to_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    signal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)


# --- The worker's schedule (migration 0009) ----------------------------------------------------


class WorkerJob(Base):
    """The state of one scheduled job of ``signaal worker`` (:mod:`signaal.worker`): when it
    last started and ended, how that went, and which worker holds it now.

    The row is the job's lock on every backend: a worker claims a job by one conditional UPDATE
    (the job is free or its lease ran out, and nobody started it since the worker looked), so two
    workers on the same database never run a job twice for the same turn, nor at the same time.
    No data about persons: a summary holds counts, an error the exception's class and message."""

    __tablename__ = "worker_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    locked_by: Mapped[str | None] = mapped_column(String(120), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str | None] = mapped_column(String(16), default=None)  # ok | failed
    last_summary: Mapped[str] = mapped_column(String(500), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed runs in a row


# --- Watchlists and their alerts (migration 0012) -----------------------------------------------


class WatchlistWatch(Base):
    """A user's watch on a persona, a network or a contact point of her organisation's analysis
    (:mod:`signaal.monitor.watchlists`). A contact point is kept as the analysis' own keyed
    pseudonym (``phone:3f9a…``), never in the clear. ``seen_*`` is what the watch has seen so
    far (``;``-joined): the state the next stored run is compared with. A stopped watch keeps
    its row (``ended_at``) and its alerts, forgets what it saw and derives nothing more."""

    __tablename__ = "watchlist_watches"
    __table_args__ = (
        Index("ix_watchlist_watches_organisation_ended", "organisation_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # persona | network | contact_point
    item_id: Mapped[str] = mapped_column(String(100))
    seen_municipalities: Mapped[str] = mapped_column(Text, default="")
    seen_regions: Mapped[str] = mapped_column(Text, default="")
    seen_personas: Mapped[str] = mapped_column(Text, default="")
    # The newest run compared with (or the baseline's run); None when there was none yet.
    last_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class WatchlistAlert(Base):
    """One change of a watched item in a stored run: a new municipality, a new region or a new
    persona (``detail`` names it; never a contact point or ad text). The mail that tells the
    user (without any of it) is sent by the worker: ``mailed_at``, ``mail_attempts``,
    ``mail_error``. Deleted with its run (the run's retention holds for what it says)."""

    __tablename__ = "watchlist_alerts"
    __table_args__ = (Index("ix_watchlist_alerts_mailed_attempts", "mailed_at", "mail_attempts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_id: Mapped[int] = mapped_column(
        ForeignKey("watchlist_watches.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey(_ORG_FK))
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey(_RUN_FK, ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # new_municipality | new_region | new_persona
    detail: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    mailed_at: Mapped[datetime | None] = mapped_column(default=None)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_error: Mapped[str | None] = mapped_column(String(500), default=None)
