"""What the match service does, as functions over its store (no HTTP here; :mod:`.app` adapts).

- :func:`add_deployment` registers a deployment for some purposes and returns its token once;
  the store keeps only the token's SHA-256 (a 256-bit random secret needs no slow hash: there
  is nothing to guess from its hash), looked up by that hash and compared in constant time.
- :func:`submit` stores (or replaces) a deployment's records of one purpose, compares each with
  the records of *other* deployments registered for the same purpose that share a blocking key
  (:func:`signaal.privacy.matching.is_match`), stores the matches and returns the hits of the
  submitted records. Every record counts against the deployment's hourly allowance
  (:class:`QuotaExceeded`), checked before anything is stored.
- :func:`withdraw` deletes records (and their matches) by reference.
- :func:`hits_of` lists the current hits of a deployment's records of one purpose, so that the
  deployment that submitted first learns of a later partner's record too.

A hit names the other deployment (its registered name and contact route) and nothing else: not
its reference, not when it submitted, not how well the encodings agreed. A purpose the caller is
not registered for is refused; a record never matches across purposes (the filters of different
purposes are keyed differently anyway) nor with a deployment that no longer takes part.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signaal.errors import (
    AuthenticationError,
    ConflictError,
    FieldErrors,
    NotFoundError,
    PermissionDenied,
    SignaalError,
)
from signaal.match_service.store import (
    Deployment,
    DeploymentPurpose,
    HourlyUsage,
    Match,
    Record,
    RecordBlock,
)
from signaal.match_service.wire import FILTER_FIELDS, PURPOSE_PATTERN, RecordIn
from signaal.privacy.bloom import from_bytes, to_bytes
from signaal.privacy.matching import Encoding, is_match

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sms_"  # noqa: S105  (a marker, not a secret)
MAX_TOKEN_LENGTH = 128
MAX_NAME = 120
MAX_CONTACT_ROUTE = 300


class QuotaExceeded(SignaalError):
    """The deployment submitted its allowance of records this hour; ``retry_after`` seconds."""

    code = "too_many_records"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ServiceHit:
    reference: str
    organisation: str
    contact_route: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_purposes(purposes: Sequence[str]) -> list[str]:
    cleaned = sorted({p.strip() for p in purposes})
    if not cleaned:
        raise FieldErrors({"purpose": "name at least one purpose"})
    for purpose in cleaned:
        if not re.fullmatch(PURPOSE_PATTERN, purpose):
            raise FieldErrors(
                {"purpose": f"{purpose!r}: lower-case letters, digits and '-', at most 64"}
            )
    return cleaned


def add_deployment(
    db: Session, name: str, contact_route: str, purposes: Sequence[str], *, now: datetime
) -> tuple[Deployment, str]:
    """Register a deployment; returns it and its bearer token (the only time it exists)."""
    problems: dict[str, str] = {}
    name, contact_route = name.strip(), contact_route.strip()
    if not name or len(name) > MAX_NAME or "\n" in name:
        problems["name"] = f"1 to {MAX_NAME} characters on one line"
    if not contact_route or len(contact_route) > MAX_CONTACT_ROUTE or "\n" in contact_route:
        problems["contact_route"] = f"1 to {MAX_CONTACT_ROUTE} characters on one line"
    if problems:
        raise FieldErrors(problems)
    cleaned = _clean_purposes(purposes)
    if db.scalar(select(Deployment.id).where(Deployment.name == name)) is not None:
        raise ConflictError(f"a deployment named {name!r} is already registered")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    deployment = Deployment(
        name=name, contact_route=contact_route, token_hash=hash_token(token), created_at=now
    )
    db.add(deployment)
    db.flush()
    db.add_all(DeploymentPurpose(deployment_id=deployment.id, purpose=p) for p in cleaned)
    db.flush()
    log.info("deployment %r registered for %s", name, ", ".join(cleaned))
    return deployment, token


def revoke_deployment(db: Session, name: str, *, now: datetime) -> int:
    """End a deployment's token and delete its records (and so every hit with them); returns
    the number of records deleted."""
    deployment = db.scalar(select(Deployment).where(Deployment.name == name))
    if deployment is None:
        raise NotFoundError(f"no deployment named {name!r}")
    ids = list(db.scalars(select(Record.id).where(Record.deployment_id == deployment.id)))
    _delete_records(db, ids)
    deployment.revoked_at = deployment.revoked_at or now
    db.flush()
    log.info("deployment %r revoked, %d record(s) deleted", name, len(ids))
    return len(ids)


def purposes_of(db: Session, deployment: Deployment) -> list[str]:
    return sorted(
        db.scalars(
            select(DeploymentPurpose.purpose).where(
                DeploymentPurpose.deployment_id == deployment.id
            )
        )
    )


def list_deployments(db: Session) -> list[tuple[Deployment, list[str], int]]:
    """Each deployment with its purposes and how many records it holds here."""
    rows = []
    for deployment in db.scalars(select(Deployment).order_by(Deployment.name)):
        count = len(
            list(db.scalars(select(Record.id).where(Record.deployment_id == deployment.id)))
        )
        rows.append((deployment, purposes_of(db, deployment), count))
    return rows


def authenticate(db: Session, token: str | None) -> Deployment:
    """The deployment of a bearer token in force; AuthenticationError otherwise (one message
    for every failure, so that a caller cannot tell a revoked token from a wrong one)."""
    refused = AuthenticationError("a valid bearer token of a registered deployment is required")
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        raise refused
    digest = hash_token(token)
    deployment = db.scalar(select(Deployment).where(Deployment.token_hash == digest))
    if (
        deployment is None
        or deployment.revoked_at is not None
        or not hmac.compare_digest(deployment.token_hash, digest)
    ):
        raise refused
    return deployment


def _require_purpose(db: Session, deployment: Deployment, purpose: str) -> None:
    if purpose not in purposes_of(db, deployment):
        raise PermissionDenied(
            f"deployment {deployment.name!r} is not registered for purpose {purpose!r}"
        )


def _hour(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def _add_usage(
    db: Session, deployment: Deployment, hour: datetime, records: int, limit: int
) -> bool:
    """Add ``records`` to this hour's counter if it stays within ``limit``, atomically: one
    conditional UPDATE (PostgreSQL re-checks its condition after a concurrent update of the row;
    SQLite runs writers one at a time), or the hour's first INSERT in a savepoint, which a
    concurrent first request may win (then the UPDATE is tried again). True when counted."""
    for _ in range(2):
        result = db.execute(
            update(HourlyUsage)
            .where(
                HourlyUsage.deployment_id == deployment.id,
                HourlyUsage.hour == hour,
                HourlyUsage.records + records <= limit,
            )
            .values(records=HourlyUsage.records + records)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            return True
        exists = db.scalar(
            select(HourlyUsage.records).where(
                HourlyUsage.deployment_id == deployment.id, HourlyUsage.hour == hour
            )
        )
        if exists is not None or records > limit:
            return False
        try:
            with db.begin_nested():
                db.add(HourlyUsage(deployment_id=deployment.id, hour=hour, records=records))
            return True
        except IntegrityError:
            continue  # another request made the hour's row first: count on it
    return False


def _charge(
    db: Session, deployment: Deployment, records: int, *, now: datetime, limit: int
) -> None:
    """Count ``records`` against this hour's allowance, or refuse them all."""
    hour = _hour(now)
    if not _add_usage(db, deployment, hour, records, limit):
        used = db.scalar(
            select(HourlyUsage.records).where(
                HourlyUsage.deployment_id == deployment.id, HourlyUsage.hour == hour
            )
        )
        retry = int((hour + timedelta(hours=1) - now).total_seconds()) + 1
        raise QuotaExceeded(
            f"deployment {deployment.name!r} has submitted {used or 0} of its {limit} records "
            f"this hour; {records} more would exceed it (try again in {retry} s)",
            retry,
        )
    db.execute(
        delete(HourlyUsage)
        .where(HourlyUsage.hour < hour - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )
    db.flush()


def _delete_records(db: Session, ids: Sequence[int]) -> None:
    if not ids:
        return
    db.execute(delete(Match).where(Match.record_id.in_(ids) | Match.other_record_id.in_(ids)))
    db.execute(delete(RecordBlock).where(RecordBlock.record_id.in_(ids)))
    db.execute(delete(Record).where(Record.id.in_(ids)))


def _encoding(row: Record) -> Encoding:
    values = {name: from_bytes(getattr(row, name) or b"") for name in FILTER_FIELDS}
    return Encoding(blocks=(), **values)


def _partners(db: Session, deployment: Deployment, purpose: str) -> dict[int, Deployment]:
    """The other deployments in force that are registered for ``purpose``."""
    rows = db.scalars(
        select(Deployment)
        .join(DeploymentPurpose, DeploymentPurpose.deployment_id == Deployment.id)
        .where(
            DeploymentPurpose.purpose == purpose,
            Deployment.revoked_at.is_(None),
            Deployment.id != deployment.id,
        )
    )
    return {d.id: d for d in rows}


def submit(
    db: Session,
    deployment: Deployment,
    purpose: str,
    records: Sequence[RecordIn],
    *,
    now: datetime,
    records_per_hour: int,
    threshold: float,
) -> list[ServiceHit]:
    """Store the records (a reference submitted again replaces its encoding) and return the
    hits of each, sorted by reference; see the module docstring."""
    _require_purpose(db, deployment, purpose)
    seen: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.reference in seen:
            raise FieldErrors(
                {
                    f"records[{index}].reference": (
                        f"{record.reference!r} is also records[{seen[record.reference]}]"
                    )
                }
            )
        seen[record.reference] = index
    _charge(db, deployment, len(records), now=now, limit=records_per_hour)
    references = [r.reference for r in records]
    _delete_records(
        db,
        list(
            db.scalars(
                select(Record.id).where(
                    Record.deployment_id == deployment.id,
                    Record.purpose == purpose,
                    Record.reference.in_(references),
                )
            )
        ),
    )
    partners = _partners(db, deployment, purpose)
    found: list[ServiceHit] = []
    for record in records:
        encoding = record.encoding()
        row = Record(deployment_id=deployment.id, purpose=purpose, reference=record.reference)
        for name in FILTER_FIELDS:
            value = encoding.field(name)
            setattr(row, name, to_bytes(value) if value else None)
        db.add(row)
        db.flush()
        db.add_all(
            RecordBlock(purpose=purpose, block=block, record_id=row.id) for block in encoding.blocks
        )
        matched = _matching(db, row.id, encoding, purpose, partners, threshold)
        db.add_all(Match(record_id=row.id, other_record_id=other.id) for other in matched)
        db.add_all(Match(record_id=other.id, other_record_id=row.id) for other in matched)
        holders = {o.deployment_id for o in matched}
        found += [
            ServiceHit(record.reference, partners[d].name, partners[d].contact_route)
            for d in holders
        ]
    db.flush()
    log.info(
        "deployment %r submitted %d record(s) for %r: %d hit(s)",
        deployment.name,
        len(records),
        purpose,
        len(found),
    )
    return sorted(found, key=lambda h: (h.reference, h.organisation))


def _matching(
    db: Session,
    record_id: int,
    encoding: Encoding,
    purpose: str,
    partners: dict[int, Deployment],
    threshold: float,
) -> list[Record]:
    if not partners or not encoding.blocks:
        return []
    candidates = (
        select(RecordBlock.record_id)
        .where(RecordBlock.purpose == purpose, RecordBlock.block.in_(encoding.blocks))
        .distinct()
    )
    rows = db.scalars(
        select(Record)
        .where(
            Record.id.in_(candidates),
            Record.id != record_id,
            Record.purpose == purpose,
            Record.deployment_id.in_(sorted(partners)),
        )
        .order_by(Record.id)
    )
    return [row for row in rows if is_match(encoding, _encoding(row), threshold)]


def withdraw(db: Session, deployment: Deployment, purpose: str, references: Sequence[str]) -> int:
    """Delete the deployment's records of ``purpose`` with these references (and their
    matches); unknown references are no error (a withdrawal may be sent twice). Returns how
    many were deleted."""
    _require_purpose(db, deployment, purpose)
    ids = list(
        db.scalars(
            select(Record.id).where(
                Record.deployment_id == deployment.id,
                Record.purpose == purpose,
                Record.reference.in_(sorted(set(references))),
            )
        )
    )
    _delete_records(db, ids)
    db.flush()
    log.info("deployment %r withdrew %d record(s) for %r", deployment.name, len(ids), purpose)
    return len(ids)


def hits_of(
    db: Session, deployment: Deployment, purpose: str, *, after: str | None, limit: int
) -> tuple[list[ServiceHit], str | None]:
    """The current hits of the deployment's records of ``purpose``, by reference from after
    ``after``; at most ``limit`` references per page, and the reference to continue after."""
    _require_purpose(db, deployment, purpose)
    partners = _partners(db, deployment, purpose)
    if not partners:
        return [], None
    query = select(Record.id, Record.reference).where(
        Record.deployment_id == deployment.id,
        Record.purpose == purpose,
        Record.id.in_(select(Match.record_id)),
    )
    if after is not None:
        query = query.where(Record.reference > after)
    page = list(db.execute(query.order_by(Record.reference).limit(limit + 1)))
    more = len(page) > limit
    page = page[:limit]
    references = {row.id: row.reference for row in page}
    found: set[tuple[str, int]] = set()
    if references:
        pairs = db.execute(
            select(Match.record_id, Record.deployment_id)
            .join(Record, Record.id == Match.other_record_id)
            .where(Match.record_id.in_(sorted(references)))
        )
        found = {(references[record_id], other) for record_id, other in pairs if other in partners}
    hits = sorted(
        (
            ServiceHit(reference, partners[other].name, partners[other].contact_route)
            for reference, other in found
        ),
        key=lambda h: (h.reference, h.organisation),
    )
    return hits, (page[-1].reference if more else None)
