"""Ingested ads in the app store: what ``signaal ingest`` received, kept for the next analyses.

Every version of an ad is one row of :class:`~signaal.store.models.IngestedAd`, per
organisation: the record as JSON (encrypted at rest, contact points included, as the site
showed them), its SHA-256 over the canonical JSON (sorted keys, no spaces), when it was first
and last seen and how often, and when it expires (``ingest_retention_days`` after it was last
seen). An ad seen again with the same content only moves ``last_seen_at``; an ad whose content
changed under the same id is a new version (the old one is kept, as it was seen); the analysis
reads the newest version of each ad (:func:`newest_records`).

Within one input the same id twice with different content is a conflict, quarantined as
``signaal analyse`` does; the rest of the input is kept. Writing asks
:func:`~signaal.chain.authz.allowed` for ``ads.ingest`` on the organisation and is audited
(``ads.ingested``, counts only); :func:`purge_expired_ads` deletes what has expired (audited).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from signaal import audit
from signaal.ads.lineage import LineageEvent, PreviousIds
from signaal.ads.normalise import parse_posted_at
from signaal.ads.read import ParsedLine, record_from_object
from signaal.ads.types import Quarantined
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.errors import PermissionDenied
from signaal.store.models import AnalysisAd, AnalysisLineage, IngestedAd

_BATCH = 500  # ad ids looked up per query


def batched(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """``values`` in slices of ``size`` (``itertools.batched`` is Python 3.12+)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class IngestReport:
    """What one input added: counts, the quarantined records, the ids of new ads and versions."""

    source: str
    n_new: int = 0
    n_versions: int = 0
    n_seen_again: int = 0
    n_duplicates: int = 0  # the same record twice in this input
    quarantined: list[Quarantined] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)  # new ads and new versions

    @property
    def n_changed(self) -> int:
        return self.n_new + self.n_versions


def canonical_json(obj: Mapping[str, object]) -> bytes:
    """The record as stored and fingerprinted: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def _require(actor: Actor, organisation_id: int) -> None:
    if not allowed(
        actor, Action.INGEST_ADS, Resource("ingested_ad", organisation_id=organisation_id)
    ):
        raise PermissionDenied(f"not allowed to ingest ads for organisation {organisation_id}")


def ingest(
    session: Session,
    items: Iterable[ParsedLine | Quarantined | None],
    *,
    organisation_id: int,
    source: str,
    now: datetime,
    actor: Actor,
    retention_days: int,
) -> IngestReport:
    """Add the parsed records of one input (``read.parsed_items``) to the organisation's
    ingested ads; returns what was added. Nothing is committed here."""
    _require(actor, organisation_id)
    source = source.strip()[:500] or "(unnamed)"
    report = IngestReport(source=source)
    expires = now + timedelta(days=retention_days)
    # This input's records by id (first occurrence), conflicts quarantined.
    seen: dict[str, tuple[str, int]] = {}
    batch: dict[str, tuple[str, bytes, ParsedLine]] = {}
    for item in items:
        if item is None:
            continue
        if isinstance(item, Quarantined):
            report.quarantined.append(item if item.source else _with_source(item, source))
            continue
        obj = item.record.to_json()
        data = canonical_json(obj)
        digest = hashlib.sha256(data).hexdigest()
        ad_id = item.record.id
        earlier = seen.get(ad_id)
        if earlier is not None:
            if earlier[0] == digest:
                report.n_duplicates += 1
            else:
                report.quarantined.append(
                    Quarantined(
                        source,
                        item.line,
                        "id",
                        f"conflicting record: id {ad_id!r} was already read on line "
                        f"{earlier[1]} with different content",
                        ad_id,
                    )
                )
            continue
        seen[ad_id] = (digest, item.line)
        batch[ad_id] = (digest, data, item)
        if len(batch) == _BATCH:
            _store_batch(session, batch, organisation_id, source, now, expires, report)
            batch = {}
    if batch:
        _store_batch(session, batch, organisation_id, source, now, expires, report)
    audit.record(
        session,
        audit.AdsIngested(
            source=source,
            n_new=report.n_new,
            n_versions=report.n_versions,
            n_seen_again=report.n_seen_again,
            n_quarantined=len(report.quarantined),
        ),
        actor=actor,
        ip=None,
    )
    return report


def _store_batch(
    session: Session,
    batch: Mapping[str, tuple[str, bytes, ParsedLine]],
    organisation_id: int,
    source: str,
    now: datetime,
    expires: datetime,
    report: IngestReport,
) -> None:
    """Store one batch of an input's records (distinct ids): seen again, new version or new."""
    known: dict[str, dict[str, tuple[int, int]]] = {}  # ad id -> sha -> (row id, times seen)
    for row_id, ad_id, sha, times in session.execute(
        select(IngestedAd.id, IngestedAd.ad_id, IngestedAd.sha256, IngestedAd.times_seen).where(
            IngestedAd.organisation_id == organisation_id, IngestedAd.ad_id.in_(list(batch))
        )
    ):
        known.setdefault(ad_id, {})[sha] = (row_id, times)
    again: list[dict[str, object]] = []
    added: list[dict[str, object]] = []
    for ad_id in sorted(batch):
        digest, data, parsed = batch[ad_id]
        versions = known.get(ad_id, {})
        if digest in versions:
            row_id, times = versions[digest]
            again.append(
                {"id": row_id, "last_seen_at": now, "times_seen": times + 1, "expires_at": expires}
            )
            continue
        if versions:
            report.n_versions += 1
        else:
            report.n_new += 1
        report.changed_ids.append(ad_id)
        added.append(
            {
                "organisation_id": organisation_id,
                "ad_id": ad_id,
                "sha256": digest,
                "record": data.decode("utf-8"),
                "posted_at": parse_posted_at(parsed.record.posted_at),
                "source": source,
                "first_seen_at": now,
                "last_seen_at": now,
                "times_seen": 1,
                "expires_at": expires,
            }
        )
    if again:
        session.execute(update(IngestedAd), again)  # by primary key, in bulk
        report.n_seen_again += len(again)
    if added:
        session.execute(insert(IngestedAd), added)


def _with_source(item: Quarantined, source: str) -> Quarantined:
    return replace(item, source=source)


def count_ads(session: Session, organisation_id: int, now: datetime) -> int:
    """How many ads (ids, not versions) the organisation holds that have not expired."""
    return int(
        session.scalar(
            select(func.count(func.distinct(IngestedAd.ad_id))).where(
                IngestedAd.organisation_id == organisation_id, IngestedAd.expires_at > now
            )
        )
        or 0
    )


def last_change(session: Session, organisation_id: int) -> datetime | None:
    """When the newest ad or version of the organisation arrived (None: it holds none)."""
    return session.scalar(
        select(func.max(IngestedAd.first_seen_at)).where(
            IngestedAd.organisation_id == organisation_id
        )
    )


def newest_records(
    session: Session, organisation_id: int, now: datetime
) -> Iterator[ParsedLine | Quarantined]:
    """The newest version of every ad of the organisation that has not expired, in ad id order,
    validated again as it is read (a stored record is input like any other)."""
    rows = session.execute(
        select(IngestedAd.ad_id, IngestedAd.record, IngestedAd.id)
        .where(IngestedAd.organisation_id == organisation_id, IngestedAd.expires_at > now)
        .order_by(IngestedAd.ad_id, IngestedAd.last_seen_at.desc(), IngestedAd.id.desc())
        .execution_options(yield_per=2_000)
    )
    previous: str | None = None
    for number, (ad_id, record, row_id) in enumerate(rows, start=1):
        if ad_id == previous:
            continue  # an older version
        previous = ad_id
        try:
            obj = orjson.loads(record)
        except orjson.JSONDecodeError as exc:
            yield Quarantined("store", number, None, f"stored ad {row_id}: {exc}", ad_id)
            continue
        yield record_from_object(obj, "store", number, record)


def purge_expired_ads(session: Session, *, actor: Actor, now: datetime | None = None) -> int:
    """Delete every ingested ad version past its ``expires_at``; one audit event with the count."""
    now = now or datetime.now(UTC)
    organisations = list(
        session.scalars(
            select(IngestedAd.organisation_id).where(IngestedAd.expires_at <= now).distinct()
        )
    )
    for organisation_id in organisations:
        if not allowed(
            actor, Action.PURGE_ANALYSIS, Resource("ingested_ad", organisation_id=organisation_id)
        ):
            raise PermissionDenied(f"not allowed to purge ads of organisation {organisation_id}")
    if not organisations:
        return 0
    result = session.execute(delete(IngestedAd).where(IngestedAd.expires_at <= now))
    deleted = int(getattr(result, "rowcount", 0) or 0)
    audit.record(
        session,
        audit.IngestedAdsPurged(n_deleted=deleted, before=now.isoformat()),
        actor=actor,
        ip=None,
    )
    return deleted


def previous_ids(session: Session, run_id: int) -> PreviousIds:
    """A stored run's assignment of ads to personas and networks (for the next run)."""
    personas: dict[str, str] = {}
    networks: dict[str, str] = {}
    for ad_id, persona, network in session.execute(
        select(AnalysisAd.ad_id, AnalysisAd.persona_id, AnalysisAd.network_id).where(
            AnalysisAd.run_id == run_id
        )
    ):
        personas[ad_id] = persona
        networks[ad_id] = network
    return PreviousIds(persona_of_ad=personas, network_of_ad=networks)


def save_lineage(
    session: Session, run_id: int, previous_run_id: int | None, events: Sequence[LineageEvent]
) -> None:
    """Store the merges and splits of a run (part of storing the run)."""
    session.add_all(
        AnalysisLineage(
            run_id=run_id,
            previous_run_id=previous_run_id,
            level=event.level,
            kind=event.kind,
            item_id=event.item_id,
            previous_ids=",".join(event.previous_ids),
            current_ids=",".join(event.current_ids),
            evidence_json=json.dumps(
                [
                    {
                        "ad_id_a": e.ad_id_a,
                        "ad_id_b": e.ad_id_b,
                        "kind": e.kind,
                        "evidence": e.evidence,
                    }
                    for e in event.evidence
                ],
                ensure_ascii=False,
            ),
        )
        for event in events
    )
    session.flush()


@dataclass(frozen=True)
class LineageRecord:
    """A merge or split that concerns one persona or network, as the pages show it."""

    run_id: int
    at: datetime  # when the run was stored
    level: str
    kind: str
    item_id: str
    previous_ids: tuple[str, ...]
    current_ids: tuple[str, ...]
    evidence: tuple[dict[str, str], ...]


def lineage_of(
    session: Session, organisation_id: int, level: str, item_id: str, *, limit: int = 20
) -> list[LineageRecord]:
    """The merges and splits, newest first, of the organisation's runs that name ``item_id``
    (as the group itself, one of the old groups or one of the new ones)."""
    from sqlalchemy import or_

    from signaal.store.models import AnalysisRun

    rows = session.execute(
        select(AnalysisLineage, AnalysisRun.stored_at)
        .join(AnalysisRun, AnalysisRun.id == AnalysisLineage.run_id)
        .where(
            AnalysisRun.organisation_id == organisation_id,
            AnalysisLineage.level == level,
            or_(
                AnalysisLineage.item_id == item_id,
                AnalysisLineage.previous_ids.contains(item_id, autoescape=True),
                AnalysisLineage.current_ids.contains(item_id, autoescape=True),
            ),
        )
        .order_by(AnalysisRun.stored_at.desc(), AnalysisLineage.id)
        .limit(limit * 4)
    ).all()
    found: list[LineageRecord] = []
    for row, stored_at in rows:
        previous = tuple(filter(None, row.previous_ids.split(",")))
        current = tuple(filter(None, row.current_ids.split(",")))
        if item_id not in (row.item_id, *previous, *current):
            continue  # a longer id that contains this one
        try:
            evidence = tuple(
                {str(k): str(v) for k, v in e.items()} for e in json.loads(row.evidence_json)
            )
        except (ValueError, AttributeError):
            evidence = ()
        found.append(
            LineageRecord(
                row.run_id, stored_at, row.level, row.kind, row.item_id, previous, current, evidence
            )
        )
        if len(found) == limit:
            break
    return found


@dataclass(frozen=True)
class Received:
    """How the newest version of an ad was received (for an evidence file)."""

    sha256: str  # of the record as received (canonical JSON)
    url: str  # as the record gives it; the caller masks contact points in it
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    source: str  # the input's file name


def received(session: Session, organisation_id: int, ad_ids: Sequence[str]) -> dict[str, Received]:
    """The newest received version of each of these ads of the organisation (ads that came by
    ``signaal analyse --store`` rather than ``signaal ingest`` are not in it)."""
    found: dict[str, Received] = {}
    for ids in batched(sorted(set(ad_ids)), _BATCH):
        rows = session.execute(
            select(IngestedAd)
            .where(IngestedAd.organisation_id == organisation_id, IngestedAd.ad_id.in_(ids))
            .order_by(IngestedAd.ad_id, IngestedAd.last_seen_at.desc(), IngestedAd.id.desc())
        ).scalars()
        for row in rows:
            if row.ad_id in found:
                continue
            try:
                url = str(orjson.loads(row.record).get("url", ""))
            except (orjson.JSONDecodeError, AttributeError):
                url = ""
            found[row.ad_id] = Received(
                row.sha256, url, row.first_seen_at, row.last_seen_at, row.times_seen, row.source
            )
    return found
