"""Hit/no-hit between deployments: this installation's side of the match service.

A police and a care installation of Signaal each keep their own database and keys; for one agreed
purpose they share only a matching secret (``SIGNAAL_REMOTE_MATCH_SECRETS``) and a match service
(:mod:`signaal.match_service`, ``SIGNAAL_REMOTE_MATCH_URL``) that each reaches with its own
token. The steps:

1. **Enrol** (:func:`enrol`, from :func:`signaal.chain.subjects.register_subject`): when a
   subject of a taking-part organisation (``SIGNAAL_REMOTE_MATCH_ORGANISATIONS``) is registered
   with a name and a birth date, she is encoded with ``Matcher(shared_secret, purpose)`` for each
   purpose, while the clear values are still in memory, and the encoding is queued with a new
   random reference (``remote_match_records``). No clear value is stored or sent; the encoding
   is emptied from the queue once the service has it.
2. **Withdraw** (:func:`withdraw_subjects`, from
   :func:`signaal.chain.retention.erase_subject_records`, so for an erasure request and for
   retention alike): her references are queued for withdrawal (``remote_match_withdrawals``,
   which name no subject) in the same transaction that deletes her.
3. **Sync** (:func:`sync`, the worker job ``match-service-sync`` and ``signaal chain
   sync-matches``): queued encodings are submitted, queued withdrawals sent, and the current
   hits of every purpose are read back into ``remote_hits`` (the other deployment's registered
   name and contact route; nothing else exists to store). Every change of a subject's remote
   hits is audited, with the purpose and the organisation names, never a value.

The hits appear with the in-deployment hits (:func:`signaal.chain.matching.hits`): same shape,
an organisation name and a contact route, without an organisation id (the other deployment's
organisations are not this store's, so a contact request goes through the contact route).

The HTTP client (:class:`MatchServiceClient`) takes an optional ``httpx`` transport, so tests
inject one; every call has a timeout.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signaal.chain import journal
from signaal.chain.authz import SYSTEM, Action, allowed
from signaal.errors import PermissionDenied, SignaalError
from signaal.match_service.wire import record_out
from signaal.privacy.matching import Matcher, Person
from signaal.settings import Settings
from signaal.store.models import (
    RemoteHit,
    RemoteMatchRecord,
    RemoteMatchWithdrawal,
    Subject,
)

SUBMIT_BATCH = 100
WITHDRAW_BATCH = 500


class MatchServiceError(SignaalError):
    """The match service could not be reached or refused a call (status and its message)."""

    code = "match_service"
    http_status = 502

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RemoteMatching:
    """The match service's settings of this deployment: where, with which token, which
    purposes with which shared secrets, and which organisations take part."""

    url: str
    token: str
    secrets: Mapping[str, str]
    organisations: frozenset[int]
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteMatching | None:
        """The settings' match service, or None when it is off (no URL)."""
        if not settings.remote_match_url:
            return None
        return cls(
            url=settings.remote_match_url.rstrip("/"),
            token=settings.remote_match_token,
            secrets=dict(settings.remote_match_secrets),
            organisations=frozenset(settings.remote_match_organisations),
            timeout_seconds=settings.remote_match_timeout_seconds,
        )

    def takes_part(self, organisation_id: int) -> bool:
        return organisation_id in self.organisations


class MatchServiceClient:
    """The match service's API (see :mod:`signaal.match_service.app`) over httpx."""

    def __init__(
        self, remote: RemoteMatching, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._client = httpx.Client(
            base_url=remote.url,
            headers={"Authorization": f"Bearer {remote.token}"},
            timeout=remote.timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise MatchServiceError(
                f"the match service did not answer {method} {path}: {type(exc).__name__}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") or response.reason_phrase
            raise MatchServiceError(
                f"the match service refused {method} {path} ({response.status_code}): {message}",
                response.status_code,
            )
        if not isinstance(body, dict):
            raise MatchServiceError(f"the match service answered {method} {path} with no object")
        return body

    def submit(self, purpose: str, records: Sequence[Mapping[str, object]]) -> list[dict[str, str]]:
        body = self._call("POST", "/v1/records", json={"purpose": purpose, "records": records})
        return list(body.get("hits", []))

    def withdraw(self, purpose: str, references: Sequence[str]) -> int:
        body = self._call(
            "POST", "/v1/records/withdraw", json={"purpose": purpose, "references": references}
        )
        return int(body.get("withdrawn", 0))

    def hits(self, purpose: str) -> list[dict[str, str]]:
        """Every current hit of this deployment's records of ``purpose`` (all pages)."""
        found: list[dict[str, str]] = []
        after: str | None = None
        while True:
            params = {"purpose": purpose, **({"after": after} if after else {})}
            body = self._call("GET", "/v1/hits", params=params)
            found += list(body.get("hits", []))
            after = body.get("next")
            if not after:
                return found


def enrol(db: Session, subject: Subject, person: Person, remote: RemoteMatching | None) -> int:
    """Queue the subject's encodings for the match service, one per purpose, when her
    organisation takes part; returns how many were queued. The caller has the clear values
    only now: nothing of them is kept but the keyed filters."""
    if remote is None or not remote.takes_part(subject.organisation_id):
        return 0
    queued = 0
    for purpose, secret in sorted(remote.secrets.items()):
        reference = secrets.token_urlsafe(24)
        encoding = Matcher(secret, purpose).encode(person)
        db.add(
            RemoteMatchRecord(
                subject_id=subject.id,
                purpose=purpose,
                reference=reference,
                payload=json.dumps(record_out(reference, encoding)),
            )
        )
        queued += 1
    db.flush()
    return queued


def withdraw_subjects(db: Session, subject_ids: Sequence[int], *, now: datetime) -> int:
    """Queue the withdrawal of these subjects' records at the match service (before they are
    deleted); returns how many. Pending and sent alike: a withdrawal of a reference the
    service never saw is no error there."""
    rows = list(
        db.scalars(
            select(RemoteMatchRecord).where(RemoteMatchRecord.subject_id.in_(sorted(subject_ids)))
        )
    )
    for row in rows:
        if db.get(RemoteMatchWithdrawal, (row.reference, row.purpose)) is None:
            db.add(
                RemoteMatchWithdrawal(reference=row.reference, purpose=row.purpose, created_at=now)
            )
    db.flush()
    return len(rows)


@dataclass
class SyncReport:
    submitted: int = 0
    withdrawn: int = 0
    hits_found: int = 0
    hits_gone: int = 0
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.submitted} encoding(s) submitted, {self.withdrawn} withdrawn, "
            f"{self.hits_found} remote hit(s) found, {self.hits_gone} gone"
        )


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _submit_pending(
    db: Session, client: MatchServiceClient, now: datetime, report: SyncReport
) -> None:
    pending = list(
        db.scalars(
            select(RemoteMatchRecord)
            .where(RemoteMatchRecord.payload.is_not(None))
            .order_by(RemoteMatchRecord.purpose, RemoteMatchRecord.subject_id)
        )
    )
    by_purpose: dict[str, list[RemoteMatchRecord]] = defaultdict(list)
    for row in pending:
        by_purpose[row.purpose].append(row)
    for purpose, rows in by_purpose.items():
        for batch in _batches(rows, SUBMIT_BATCH):
            try:
                client.submit(purpose, [json.loads(row.payload or "{}") for row in batch])
            except MatchServiceError as exc:
                report.problems.append(exc.message)
                if exc.status == 429:
                    return  # the allowance is spent this hour; the rest waits in the queue
                continue
            for row in batch:
                row.payload = None
                row.submitted_at = now
            report.submitted += len(batch)
            db.flush()


def _send_withdrawals(db: Session, client: MatchServiceClient, report: SyncReport) -> None:
    queued = list(
        db.scalars(
            select(RemoteMatchWithdrawal).order_by(
                RemoteMatchWithdrawal.purpose, RemoteMatchWithdrawal.reference
            )
        )
    )
    by_purpose: dict[str, list[RemoteMatchWithdrawal]] = defaultdict(list)
    for row in queued:
        by_purpose[row.purpose].append(row)
    for purpose, rows in by_purpose.items():
        for batch in _batches(rows, WITHDRAW_BATCH):
            try:
                client.withdraw(purpose, [row.reference for row in batch])
            except MatchServiceError as exc:
                report.problems.append(exc.message)
                continue
            for row in batch:
                db.delete(row)
            report.withdrawn += len(batch)
            db.flush()


def _read_hits(
    db: Session, client: MatchServiceClient, purpose: str, now: datetime, report: SyncReport
) -> None:
    answered = client.hits(purpose)
    subjects = dict(
        db.execute(
            select(RemoteMatchRecord.reference, RemoteMatchRecord.subject_id).where(
                RemoteMatchRecord.purpose == purpose
            )
        ).all()
    )
    current: dict[tuple[int, str], str] = {}
    for hit in answered:
        subject_id = subjects.get(str(hit.get("reference")))
        if subject_id is not None:  # withdrawn meanwhile: not ours any more
            current[(subject_id, str(hit["organisation"]))] = str(hit["contact_route"])
    stored = {
        (row.subject_id, row.organisation): row
        for row in db.scalars(select(RemoteHit).where(RemoteHit.purpose == purpose))
    }
    found: dict[int, list[str]] = defaultdict(list)
    gone: dict[int, list[str]] = defaultdict(list)
    for (subject_id, organisation), route in sorted(current.items()):
        row = stored.get((subject_id, organisation))
        if row is None:
            db.add(
                RemoteHit(
                    subject_id=subject_id,
                    purpose=purpose,
                    organisation=organisation,
                    contact_route=route,
                    found_at=now,
                )
            )
            found[subject_id].append(organisation)
        elif row.contact_route != route:
            row.contact_route = route
    for key, row in sorted(stored.items()):
        if key not in current:
            db.delete(row)
            gone[key[0]].append(key[1])
    db.flush()
    for subject_id in sorted(set(found) | set(gone)):
        journal.written(
            db,
            SYSTEM,
            "subject",
            subject_id,
            "remote_hits",
            ip=None,
            subject_id=subject_id,
            fields={
                "purpose": purpose,
                "found": found.get(subject_id, []),
                "gone": gone.get(subject_id, []),
            },
        )
    report.hits_found += sum(len(v) for v in found.values())
    report.hits_gone += sum(len(v) for v in gone.values())


def sync(
    db: Session,
    remote: RemoteMatching,
    *,
    now: datetime,
    transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Submit queued encodings, send queued withdrawals, read back every purpose's hits (see
    the module docstring). A call the service refuses is a problem in the report; the queue
    keeps what was not sent."""
    if not allowed(SYSTEM, Action.SYNC_REMOTE_MATCHES):
        raise PermissionDenied("matching.sync_remote not allowed")
    report = SyncReport()
    client = MatchServiceClient(remote, transport=transport)
    try:
        _send_withdrawals(db, client, report)
        _submit_pending(db, client, now, report)
        for purpose in sorted(remote.secrets):
            try:
                _read_hits(db, client, purpose, now, report)
            except MatchServiceError as exc:
                report.problems.append(exc.message)
    finally:
        client.close()
    return report


def remote_hits_of(db: Session, subject: Subject) -> list[RemoteHit]:
    """The subject's hits at the match service, by organisation name (one per organisation,
    whatever the purposes)."""
    rows = db.scalars(
        select(RemoteHit)
        .where(RemoteHit.subject_id == subject.id)
        .order_by(RemoteHit.organisation, RemoteHit.purpose)
    )
    seen: dict[str, RemoteHit] = {}
    for row in rows:
        seen.setdefault(row.organisation, row)
    return list(seen.values())


def forget_subjects(db: Session, subject_ids: Sequence[int]) -> tuple[int, int]:
    """Delete the subjects' queue rows and remote hits (the foreign keys would cascade; the
    counts are for the erasure's audit event). Returns (records, hits)."""
    ids = sorted(subject_ids)
    records = len(
        list(
            db.scalars(
                select(RemoteMatchRecord.reference).where(RemoteMatchRecord.subject_id.in_(ids))
            )
        )
    )
    hits = len(
        list(db.scalars(select(RemoteHit.organisation).where(RemoteHit.subject_id.in_(ids))))
    )
    db.execute(delete(RemoteHit).where(RemoteHit.subject_id.in_(ids)))
    db.execute(delete(RemoteMatchRecord).where(RemoteMatchRecord.subject_id.in_(ids)))
    return records, hits
