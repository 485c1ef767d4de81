"""The match service's own store: its own metadata, never the app store's tables or migrations.

Tables (prefix ``ms_``): registered deployments with the SHA-256 of their token and their
purposes; submitted records (an opaque reference of the submitting deployment and the keyed
filters, nothing else: no date, category or organisation of the record); their keyed blocking
keys; the matches found between records of different deployments; and the records each
deployment submitted per clock hour (the rate limit).

The schema is made with :func:`create_schema` (``metadata.create_all``) when the service starts,
not with Alembic: it is the service's first version, six small tables with no data to carry
over. The first change of it gets an Alembic environment of its own (never the app's
``signaal/store/migrations``, which describe a different database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from signaal.store.models import UTCDateTime


class ServiceBase(DeclarativeBase):
    metadata = MetaData()
    # Aware UTC datetimes on every backend (SQLite keeps none), as in the app store.
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}  # noqa: RUF012


_DEPLOYMENT_FK = "ms_deployments.id"
_RECORD_FK = "ms_records.id"


class Deployment(ServiceBase):
    """A Signaal installation that takes part: its name and contact route are what its partners
    learn on a hit; the token itself is never stored, only its SHA-256."""

    __tablename__ = "ms_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    contact_route: Mapped[str] = mapped_column(String(300))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class DeploymentPurpose(ServiceBase):
    """A purpose (the agreed name under which the deployments share a matching secret) that a
    deployment may submit records for and see hits of."""

    __tablename__ = "ms_deployment_purposes"

    deployment_id: Mapped[int] = mapped_column(ForeignKey(_DEPLOYMENT_FK), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)


class Record(ServiceBase):
    """One submitted encoding: the keyed filters per field (NULL: the field is unknown)."""

    __tablename__ = "ms_records"
    __table_args__ = (UniqueConstraint("deployment_id", "purpose", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey(_DEPLOYMENT_FK))
    purpose: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    surname: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    birth_date: Mapped[bytes] = mapped_column(LargeBinary)
    birth_date_variants: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    phone: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class RecordBlock(ServiceBase):
    """A keyed blocking key of a record: records are compared only when they share one."""

    __tablename__ = "ms_record_blocks"
    __table_args__ = (Index("ix_ms_record_blocks_record", "record_id"),)

    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    block: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey(_RECORD_FK), primary_key=True)


class Match(ServiceBase):
    """Two records of different deployments that match; stored in both directions."""

    __tablename__ = "ms_matches"
    __table_args__ = (Index("ix_ms_matches_other", "other_record_id"),)

    record_id: Mapped[int] = mapped_column(ForeignKey(_RECORD_FK), primary_key=True)
    other_record_id: Mapped[int] = mapped_column(ForeignKey(_RECORD_FK), primary_key=True)


class HourlyUsage(ServiceBase):
    """Records a deployment submitted in one clock hour (UTC), for the rate limit."""

    __tablename__ = "ms_hourly_usage"

    deployment_id: Mapped[int] = mapped_column(ForeignKey(_DEPLOYMENT_FK), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    records: Mapped[int] = mapped_column(Integer, default=0)


def create_schema(engine: Engine) -> None:
    """Create the service's tables that do not exist yet (see the module docstring)."""
    ServiceBase.metadata.create_all(engine)
