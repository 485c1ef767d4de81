"""Analysis results in the app store: what ``signaal analyse --store`` writes and the web app reads.

Rows arrive as mappings with the CSV column names of ``signaal analyse`` (values as strings from a
CSV file or as typed values). Every value is checked before anything is written; a bad value
raises :class:`~signaal.errors.RecordError` naming the table, row and field, and nothing of the
run is stored. Rows are inserted in bulk (executemany).

Contact points are stored pseudonymised only (``phone:3f9a…``, see
:mod:`signaal.privacy.pseudonyms`); a raw phone number or address is refused. Each run gets an
``expires_at`` from ``analysis_retention_days``; :func:`purge_expired` deletes expired runs and
audits that it did.

The photos of the ads (:func:`save_analysis`'s ``photos``) are kept as their PDQ hash, the
number of their cluster of near-duplicates in the run and a small JPEG thumbnail, encrypted
with the data key (``analysis_ad_photos``); they go with their run.

Every run belongs to one organisation, and so do its ads, personas, networks and movements.
Writing asks :func:`~signaal.chain.authz.allowed` with an actor (a user, or
:data:`~signaal.chain.authz.SYSTEM` for jobs and the command line); reading is scoped by the
organisation: :func:`latest_run` and :func:`get_run` never return a run of another organisation,
and :func:`owning_organisation` tells a resource loader whose record an id names.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, cast, runtime_checkable

import psycopg
from psycopg import sql as psycopg_sql
from sqlalchemy import Table, case, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.errors import PermissionDenied, RecordError, StoreError
from signaal.settings import Settings, get_settings
from signaal.store.db import database_problem
from signaal.store.models import (
    AnalysisAd,
    AnalysisAdPhoto,
    AnalysisMovement,
    AnalysisNetwork,
    AnalysisPersona,
    AnalysisRun,
    Base,
)

RISK_LEVELS = ("log", "review", "priority")
PSEUDONYM = re.compile(r"^(phone|email|handle|website):[0-9a-f]{8,64}$")
MAX_TEXT_LENGTH = 100_000
# A reason fact's contact that is not a pseudonym (anything but ``kind:hex``).
_CLEAR_CONTACT = re.compile(r"^(?!(phone|email|handle|website):[0-9a-f]{8,64}$).+")
BATCH_SIZE = 5_000
#: A thumbnail larger than this is refused (the photo stage makes them of a few kilobytes).
MAX_THUMBNAIL_BYTES = 200_000
_PDQ = re.compile(r"^[0-9a-f]{64}$")
_JPEG = b"\xff\xd8\xff"


# ----------------------------------------------------------------------------------------------
# What readers get back


@dataclass(frozen=True)
class NetworkResult:
    network_id: str
    n_personas: int
    n_ads: int
    contact_points: tuple[str, ...]  # pseudonyms
    municipalities: tuple[str, ...]  # in order of first appearance
    risk_score: int
    reasons: str
    #: The reasons as facts (``reasons_json`` of ``signaal analyse``); None for a run stored
    #: before they existed (then ``reasons`` is all there is).
    reasons_json: str | None = None


@dataclass(frozen=True)
class PersonaResult:
    persona_id: str
    network_id: str
    n_ads: int
    first_seen: datetime | None
    last_seen: datetime | None
    municipalities: tuple[str, ...]
    risk_score: int
    reasons: str
    #: The reasons as facts (``reasons_json`` of ``signaal analyse``); None for a run stored
    #: before they existed (then ``reasons`` is all there is).
    reasons_json: str | None = None


@dataclass(frozen=True)
class AdResult:
    ad_id: str
    persona_id: str
    network_id: str
    risk_score: int
    risk_level: str
    indicators: tuple[str, ...]
    posted_at: datetime | None
    site: str | None
    municipality: str | None
    title: str | None
    text: str | None


@dataclass(frozen=True)
class MovementStep:
    persona_id: str
    network_id: str
    from_municipality: str | None
    to_municipality: str
    at: datetime


@dataclass(frozen=True)
class Flow:
    """Moves of a network's personas from one municipality to another."""

    from_municipality: str
    to_municipality: str
    n_moves: int
    n_personas: int


@dataclass(frozen=True)
class AdPhoto:
    """A photo of one of a persona's ads, and the other personas of the run with the same
    picture (a near-duplicate PDQ hash: the same cluster)."""

    number: int  # 1, 2, … among the persona's photos (ordered by ad id, then position)
    ad_id: str
    position: int  # in the ad's images
    has_thumbnail: bool
    elsewhere: tuple[str, ...]  # persona ids, sorted

    @property
    def elsewhere_shown(self) -> tuple[str, ...]:
        return self.elsewhere[:MAX_ELSEWHERE]


@dataclass(frozen=True)
class PersonaDetail:
    persona: PersonaResult
    network: NetworkResult | None
    ads: list[AdResult]  # newest first
    movements: list[MovementStep]  # in time order


# ----------------------------------------------------------------------------------------------
# Checking input values, a column at a time (few function calls per row: 100k ads in seconds)

Columns = dict[str, list[Any]]


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                return None
            return int(as_float) if as_float.is_integer() else None
    return None


def _moment(value: object) -> datetime | None:
    """An aware UTC datetime, or None when ``value`` is not a time. Naive times are UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    # The pipeline works in UTC; a time without zone is taken to be UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@runtime_checkable
class Columnar(Protocol):
    """A table that gives one column's values without making its rows."""

    def column(self, name: str) -> Sequence[object]: ...


class _Input:
    """The rows of one input table, checked a column at a time.

    Every getter returns the column's checked values or raises RecordError naming the table,
    the row (1-based) and the field.
    """

    def __init__(self, name: str, rows: Sequence[Mapping[str, object]]) -> None:
        self.name = name
        self.rows = rows

    def error(self, index: int, field: str, reason: str) -> RecordError:
        return RecordError(f"{self.name} row {index + 1}", field, reason)

    def values(self, field: str) -> Sequence[object]:
        """The field of every row (None where a row lacks it). A table that gives its columns
        (the analysis's ``RowTable``) is read a column at a time: its rows are made when read,
        and a persona's or network's row writes its reasons then."""
        if isinstance(self.rows, Columnar):
            return self.rows.column(field)
        return [row.get(field) for row in self.rows]

    def _raw(self, field: str) -> list[object]:
        column: list[object] = []
        for value in self.values(field):
            if value.__class__ is str:
                value = value.strip() or None
            column.append(value)
        return column

    def text(self, field: str, max_length: int, *, required: bool = True) -> list[str | None]:
        column: list[str | None] = []
        for index, value in enumerate(self._raw(field)):
            if value is None:
                if required:
                    raise self.error(index, field, "is missing")
                column.append(None)
                continue
            text = value if isinstance(value, str) else str(value)
            if len(text) > max_length:
                raise self.error(index, field, f"longer than {max_length} characters")
            column.append(text)
        return column

    def choice(self, field: str, choices: Sequence[str]) -> list[str]:
        column = self.text(field, 32)
        allowed_values = set(choices)
        for index, value in enumerate(column):
            if value not in allowed_values:
                raise self.error(index, field, f"{value!r} is not one of {', '.join(choices)}")
        return cast(list[str], column)

    def integer(self, field: str, low: int, high: int) -> list[int]:
        column: list[int] = []
        for index, value in enumerate(self._raw(field)):
            if value is None:
                raise self.error(index, field, "is missing")
            number = _number(value)
            if number is None:
                raise self.error(index, field, f"{value!r} is not a whole number")
            if not low <= number <= high:
                raise self.error(index, field, f"{number} is outside {low}–{high}")
            column.append(number)
        return column

    def moment(self, field: str, *, required: bool) -> list[datetime | None]:
        column: list[datetime | None] = []
        for index, value in enumerate(self._raw(field)):
            if value is None:
                if required:
                    raise self.error(index, field, "is missing")
                column.append(None)
                continue
            moment = _moment(value)
            if moment is None:
                raise self.error(index, field, f"{value!r} is not an ISO 8601 time")
            column.append(moment)
        return column

    def joined(self, field: str, separator: str, max_length: int) -> list[tuple[str, ...]]:
        """A list field: a string split on ``separator`` or a sequence of strings."""
        split_on = separator.strip() or None
        column: list[tuple[str, ...]] = []
        for index, value in enumerate(self.values(field)):
            if value is None or value == "":
                column.append(())
                continue
            if isinstance(value, str):
                parts = tuple(p for p in (p.strip() for p in value.split(split_on)) if p)
            elif isinstance(value, Iterable):
                parts = tuple(p for p in (str(p).strip() for p in value) if p)
            else:
                raise self.error(index, field, f"{value!r} is not a list")
            if sum(map(len, parts)) + len(parts) > max_length:
                raise self.error(index, field, f"longer than {max_length} characters")
            column.append(parts)
        return column

    def reasons(self, field: str) -> list[str]:
        column: list[str] = []
        for index, value in enumerate(self.values(field)):
            if value is None:
                column.append("")
                continue
            if not isinstance(value, str) and isinstance(value, Iterable):
                value = "\n".join(str(v) for v in value)
            text = str(value).strip()
            if len(text) > MAX_TEXT_LENGTH:
                raise self.error(index, field, f"longer than {MAX_TEXT_LENGTH} characters")
            column.append(text)
        return column

    def facts(self, field: str) -> list[str | None]:
        """A JSON array of reason facts, or None when the rows have none (an older CSV)."""
        column: list[str | None] = []
        for index, value in enumerate(self.values(field)):
            if value is None or value == "":
                column.append(None)
                continue
            text = str(value).strip()
            if len(text) > MAX_TEXT_LENGTH:
                raise self.error(index, field, f"longer than {MAX_TEXT_LENGTH} characters")
            try:
                data = json.loads(text)
            except ValueError:
                raise self.error(index, field, "is not JSON") from None
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise self.error(index, field, "is not a JSON array of objects")
            if any(_CLEAR_CONTACT.search(str(item.get("contact", ""))) for item in data):
                raise self.error(index, field, "names a contact point that is no pseudonym")
            column.append(text)
        return column

    def unique(self, field: str, column: Sequence[object]) -> None:
        if len(set(column)) == len(column):
            return
        seen: set[object] = set()
        for index, value in enumerate(column):
            if value in seen:
                raise self.error(index, field, f"duplicate {value!r}")
            seen.add(value)


def _ads(rows: Sequence[Mapping[str, object]]) -> Columns:
    table = _Input("ads", rows)
    columns: Columns = {
        "ad_id": table.text("ad_id", 200),
        "persona_id": table.text("persona_id", 100),
        "network_id": table.text("network_id", 100),
        "risk_score": table.integer("risk_score", 0, 100),
        "risk_level": table.choice("risk_level", RISK_LEVELS),
        "indicators": [" ".join(p) for p in table.joined("indicators", " ", MAX_TEXT_LENGTH)],
        "posted_at": table.moment("posted_at", required=False),
        "site": table.text("site", 200, required=False),
        "municipality": table.text("municipality", 100, required=False),
        "title": table.text("title", MAX_TEXT_LENGTH, required=False),
        "text": table.text("text", MAX_TEXT_LENGTH, required=False),
    }
    table.unique("ad_id", columns["ad_id"])
    return columns


def _personas(rows: Sequence[Mapping[str, object]]) -> Columns:
    table = _Input("personas", rows)
    columns: Columns = {
        "persona_id": table.text("persona_id", 100),
        "network_id": table.text("network_id", 100),
        "n_ads": table.integer("n_ads", 0, 10_000_000),
        "first_seen": table.moment("first_seen", required=False),
        "last_seen": table.moment("last_seen", required=False),
        "municipalities": [
            ";".join(p) for p in table.joined("municipalities", ";", MAX_TEXT_LENGTH)
        ],
        "risk_score": table.integer("risk_score", 0, 100),
        "reasons": table.reasons("reasons"),
        "reasons_json": table.facts("reasons_json"),
    }
    for index, (first, last) in enumerate(
        zip(columns["first_seen"], columns["last_seen"], strict=True)
    ):
        if first is not None and last is not None and last < first:
            raise table.error(index, "last_seen", "is before first_seen")
    table.unique("persona_id", columns["persona_id"])
    return columns


def _networks(rows: Sequence[Mapping[str, object]]) -> Columns:
    table = _Input("networks", rows)
    contact_points = table.joined("contact_points", ";", MAX_TEXT_LENGTH)
    for index, points in enumerate(contact_points):
        for point in points:
            if not PSEUDONYM.match(point):
                raise table.error(
                    index,
                    "contact_points",
                    f"{point[:4]}… is not a pseudonym (kind:hex); contact points are stored "
                    "pseudonymised only",
                )
    columns: Columns = {
        "network_id": table.text("network_id", 100),
        "n_personas": table.integer("n_personas", 0, 10_000_000),
        "n_ads": table.integer("n_ads", 0, 10_000_000),
        "contact_points": [";".join(p) for p in contact_points],
        "municipalities": [
            ";".join(p) for p in table.joined("municipalities", ";", MAX_TEXT_LENGTH)
        ],
        "risk_score": table.integer("risk_score", 0, 100),
        "reasons": table.reasons("reasons"),
        "reasons_json": table.facts("reasons_json"),
    }
    table.unique("network_id", columns["network_id"])
    return columns


def _movements(rows: Sequence[Mapping[str, object]]) -> Columns:
    table = _Input("movements", rows)
    return {
        "persona_id": table.text("persona_id", 100),
        "network_id": table.text("network_id", 100),
        "from_municipality": table.text("from_municipality", 100, required=False),
        "to_municipality": table.text("to_municipality", 100),
        "at": table.moment("at", required=True),
    }


def _photos(rows: Sequence[Mapping[str, object]], ad_ids: Sequence[object]) -> Columns:
    table = _Input("photos", rows)
    columns: Columns = {
        "ad_id": table.text("ad_id", 200),
        "position": table.integer("position", 0, 10_000),
        "pdq": [str(v).lower() for v in table.text("pdq", 64)],
        "quality": table.integer("quality", 0, 100),
        "cluster": [],
        "thumbnail": [],
    }
    known = set(ad_ids)
    for index, (ad_id, pdq) in enumerate(zip(columns["ad_id"], columns["pdq"], strict=True)):
        if ad_id not in known:
            raise table.error(index, "ad_id", f"{ad_id!r} is not an ad of the run")
        if not _PDQ.match(pdq):
            raise table.error(index, "pdq", "is not a PDQ hash (64 hex characters)")
    for index, value in enumerate(table.values("cluster")):
        number = None if value is None or value == "" else _number(value)
        if value not in (None, "") and (number is None or number < 0):
            raise table.error(index, "cluster", f"{value!r} is not a cluster number")
        columns["cluster"].append(number)
    for index, value in enumerate(table.values("thumbnail")):
        if value is not None and not isinstance(value, bytes):
            raise table.error(index, "thumbnail", "is not bytes")
        if value is not None and (len(value) > MAX_THUMBNAIL_BYTES or not value.startswith(_JPEG)):
            raise table.error(index, "thumbnail", f"is no JPEG of at most {MAX_THUMBNAIL_BYTES}")
        columns["thumbnail"].append(value)
    table.unique("position", list(zip(columns["ad_id"], columns["position"], strict=True)))
    return columns


# ----------------------------------------------------------------------------------------------
# Writing


def save_analysis(
    session: Session,
    *,
    source: str,
    started_at: datetime,
    finished_at: datetime,
    ads: Sequence[Mapping[str, object]],
    personas: Sequence[Mapping[str, object]],
    networks: Sequence[Mapping[str, object]],
    movements: Sequence[Mapping[str, object]],
    n_quarantined: int,
    organisation_id: int,
    actor: Actor,
    ip: str | None = None,
    settings: Settings | None = None,
    photos: Sequence[Mapping[str, object]] = (),
) -> int:
    """Store one analysis run of organisation ``organisation_id`` with all its rows and one
    ``analysis.stored`` audit event.

    ``photos``: per photo of an ad, ``ad_id``, ``position`` (in the ad's images), ``pdq``,
    ``quality``, ``cluster`` (near-duplicates, or None) and ``thumbnail`` (JPEG bytes, or None
    when none could be made), stored encrypted.

    ``actor`` is the user who stores it, or :data:`~signaal.chain.authz.SYSTEM` for the command
    line; ``allowed()`` decides whether that actor may store a run of that organisation.
    Returns the run id. Nothing is committed here; on a bad value nothing is added.
    """
    if not allowed(
        actor, Action.STORE_ANALYSIS, Resource("analysis_run", organisation_id=organisation_id)
    ):
        raise PermissionDenied(
            f"not allowed to store analysis results of organisation {organisation_id}"
        )
    settings = settings or get_settings()
    for name, moment in (("started_at", started_at), ("finished_at", finished_at)):
        if moment.tzinfo is None:
            raise RecordError("analysis run", name, "needs a time zone")
    if finished_at < started_at:
        raise RecordError("analysis run", "finished_at", "is before started_at")
    if n_quarantined < 0:
        raise RecordError("analysis run", "n_quarantined", "is negative")
    source = source.strip()[:500] or "(unnamed)"

    ad_columns = _ads(ads)
    tables: list[tuple[type[Base], Columns, int]] = [
        (AnalysisNetwork, _networks(networks), len(networks)),
        (AnalysisPersona, _personas(personas), len(personas)),
        (AnalysisAd, ad_columns, len(ads)),
        (AnalysisMovement, _movements(movements), len(movements)),
        (AnalysisAdPhoto, _photos(photos, ad_columns["ad_id"]), len(photos)),
    ]

    now = datetime.now(UTC)
    try:
        run = AnalysisRun(
            source=source,
            started_at=started_at,
            finished_at=finished_at,
            stored_at=now,
            expires_at=now + timedelta(days=settings.analysis_retention_days),
            n_ads=len(ads),
            n_personas=len(personas),
            n_networks=len(networks),
            n_movements=len(movements),
            n_quarantined=n_quarantined,
            organisation_id=organisation_id,
            stored_by_user_id=None if actor.is_system else actor.user_id,
        )
        session.add(run)
        session.flush()
        for model, columns, n_rows in tables:
            columns["run_id"] = [run.id] * n_rows
            _bulk_insert(session, cast(Table, model.__table__), columns, n_rows)
        audit.record(
            session,
            audit.AnalysisStored(
                run_id=run.id,
                source=source,
                n_ads=run.n_ads,
                n_personas=run.n_personas,
                n_networks=run.n_networks,
                n_quarantined=n_quarantined,
            ),
            actor=actor,
            ip=ip,
        )
    except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as exc:
        problem = database_problem(exc)
        raise StoreError(f"storing the analysis of {source!r} failed: {problem}") from exc
    return run.id


def _bulk_insert(session: Session, table: Table, columns: Columns, n_rows: int) -> None:
    """Insert the rows given as columns in the session's transaction, fast.

    PostgreSQL: COPY (an order of magnitude faster than executemany). SQLite: one DB-API
    executemany. Values go through the columns' own bind processors, so they are stored exactly
    as the ORM would store them.
    """
    if n_rows == 0:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    processed: list[list[Any]] = []
    for name in names:
        process = table.c[name].type.bind_processor(dialect)
        column = columns[name]
        processed.append([process(v) for v in column] if process else column)
    values = list(zip(*processed, strict=True))
    driver = connection.connection.driver_connection
    if driver is None:
        raise StoreError("the database connection is closed")
    if dialect.name == "postgresql":
        statement = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
            psycopg_sql.Identifier(table.name),
            psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(n) for n in names),
        )
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row_values in values:
                copy.write_row(row_values)
        return
    if dialect.name == "sqlite":
        # Table and column names come from the models, never from input.
        quoted = ", ".join(f'"{name}"' for name in names)
        placeholders = ", ".join("?" for _ in names)
        statement_text = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})'  # noqa: S608
        cursor = driver.cursor()
        try:
            cursor.executemany(statement_text, values)
        finally:
            cursor.close()
        return
    rows = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    for start in range(0, n_rows, BATCH_SIZE):
        session.execute(insert(table), rows[start : start + BATCH_SIZE])


def purge_expired(session: Session, *, actor: Actor, now: datetime | None = None) -> list[int]:
    """Delete analysis runs whose retention has ended (with all their rows); audit it.

    ``allowed()`` decides for every expired run (with its organisation) whether ``actor`` may
    purge it; one refusal stops the purge before anything is deleted.
    """
    if not allowed(actor, Action.PURGE_ANALYSIS):
        raise PermissionDenied("not allowed to purge analysis runs")
    now = now or datetime.now(UTC)
    expired = session.execute(
        select(AnalysisRun.id, AnalysisRun.organisation_id)
        .where(AnalysisRun.expires_at <= now)
        .order_by(AnalysisRun.id)
    ).all()
    for run_id, organisation_id in expired:
        if not allowed(
            actor,
            Action.PURGE_ANALYSIS,
            Resource("analysis_run", str(run_id), organisation_id=organisation_id),
        ):
            raise PermissionDenied(f"not allowed to purge analysis run {run_id}")
    run_ids = [run_id for run_id, _ in expired]
    if not run_ids:
        return []
    try:
        # Children first: no reliance on ON DELETE CASCADE being enabled on the connection.
        for model in (
            AnalysisAdPhoto,
            AnalysisMovement,
            AnalysisAd,
            AnalysisPersona,
            AnalysisNetwork,
        ):
            session.execute(delete(model).where(model.run_id.in_(run_ids)))
        session.execute(delete(AnalysisRun).where(AnalysisRun.id.in_(run_ids)))
        audit.record(
            session,
            audit.AnalysisPurged(run_ids=tuple(run_ids), before=now.isoformat()),
            actor=actor,
            ip=None,
        )
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        raise StoreError(f"purging expired analysis runs failed: {problem}") from exc
    return run_ids


# ----------------------------------------------------------------------------------------------
# Reading


def _split(value: str, separator: str) -> tuple[str, ...]:
    return tuple(p for p in value.split(separator) if p) if value else ()


def _network_result(row: AnalysisNetwork) -> NetworkResult:
    return NetworkResult(
        network_id=row.network_id,
        n_personas=row.n_personas,
        n_ads=row.n_ads,
        contact_points=_split(row.contact_points, ";"),
        municipalities=_split(row.municipalities, ";"),
        risk_score=row.risk_score,
        reasons=row.reasons,
        reasons_json=row.reasons_json,
    )


def _persona_result(row: AnalysisPersona) -> PersonaResult:
    return PersonaResult(
        persona_id=row.persona_id,
        network_id=row.network_id,
        n_ads=row.n_ads,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        municipalities=_split(row.municipalities, ";"),
        risk_score=row.risk_score,
        reasons=row.reasons,
        reasons_json=row.reasons_json,
    )


def _ad_result(row: AnalysisAd) -> AdResult:
    return AdResult(
        ad_id=row.ad_id,
        persona_id=row.persona_id,
        network_id=row.network_id,
        risk_score=row.risk_score,
        risk_level=row.risk_level,
        indicators=_split(row.indicators, " "),
        posted_at=row.posted_at,
        site=row.site,
        municipality=row.municipality,
        title=row.title,
        text=row.text,
    )


def latest_run(
    session: Session, organisation_id: int, *, now: datetime | None = None
) -> AnalysisRun | None:
    """The most recently stored run of ``organisation_id`` that has not expired."""
    now = now or datetime.now(UTC)
    return session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.organisation_id == organisation_id, AnalysisRun.expires_at > now)
        .order_by(AnalysisRun.stored_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    ).first()


def get_run(session: Session, run_id: int, *, organisation_id: int) -> AnalysisRun | None:
    """Run ``run_id`` if it belongs to ``organisation_id``; None otherwise (also when it exists
    in another organisation: the caller cannot tell the difference)."""
    run = session.get(AnalysisRun, run_id)
    return run if run is not None and run.organisation_id == organisation_id else None


def list_runs(session: Session, organisation_id: int, *, limit: int = 20) -> list[AnalysisRun]:
    """The runs of ``organisation_id``, newest first."""
    return list(
        session.scalars(
            select(AnalysisRun)
            .where(AnalysisRun.organisation_id == organisation_id)
            .order_by(AnalysisRun.id.desc())
            .limit(limit)
        )
    )


RecordKind = Literal["persona", "network"]


def owning_organisation(
    session: Session,
    kind: RecordKind,
    record_id: str,
    *,
    prefer: int | None,
    now: datetime | None = None,
) -> int | None:
    """The organisation that owns the persona or network named ``record_id`` in a run that has
    not expired: ``prefer`` (the asking actor's organisation) when one of its runs holds it, else
    the organisation of the newest run that does; None when no run holds it.

    For resource loaders: the answer goes to ``allowed()``, never to the asker.
    """
    now = now or datetime.now(UTC)
    model = AnalysisPersona if kind == "persona" else AnalysisNetwork
    key = AnalysisPersona.persona_id if kind == "persona" else AnalysisNetwork.network_id
    preferred = case((AnalysisRun.organisation_id == prefer, 0), else_=1)
    return session.scalar(
        select(AnalysisRun.organisation_id)
        .join(model, model.run_id == AnalysisRun.id)
        .where(key == record_id, AnalysisRun.expires_at > now)
        .order_by(preferred, AnalysisRun.stored_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    )


def top_networks(session: Session, run_id: int, *, limit: int = 50) -> list[NetworkResult]:
    """Networks of the run, highest risk first (then most ads)."""
    rows = session.scalars(
        select(AnalysisNetwork)
        .where(AnalysisNetwork.run_id == run_id)
        .order_by(
            AnalysisNetwork.risk_score.desc(),
            AnalysisNetwork.n_ads.desc(),
            AnalysisNetwork.network_id,
        )
        .limit(limit)
    )
    return [_network_result(r) for r in rows]


def top_personas(
    session: Session, run_id: int, *, limit: int = 50, network_id: str | None = None
) -> list[PersonaResult]:
    """Personas of the run (optionally of one network), highest risk first."""
    statement = select(AnalysisPersona).where(AnalysisPersona.run_id == run_id)
    if network_id is not None:
        statement = statement.where(AnalysisPersona.network_id == network_id)
    rows = session.scalars(
        statement.order_by(
            AnalysisPersona.risk_score.desc(),
            AnalysisPersona.n_ads.desc(),
            AnalysisPersona.persona_id,
        ).limit(limit)
    )
    return [_persona_result(r) for r in rows]


def network_detail(session: Session, run_id: int, network_id: str) -> NetworkResult | None:
    row = session.get(AnalysisNetwork, (run_id, network_id))
    return _network_result(row) if row else None


def network_ads(
    session: Session, run_id: int, network_id: str, *, limit: int
) -> tuple[list[AdResult], int]:
    """The ads of one network's personas (newest first, at most ``limit``) and how many it has."""
    where = (AnalysisAd.run_id == run_id, AnalysisAd.network_id == network_id)
    total = session.scalar(select(func.count()).select_from(AnalysisAd).where(*where)) or 0
    rows = session.scalars(
        select(AnalysisAd)
        .where(*where)
        .order_by(AnalysisAd.posted_at.desc(), AnalysisAd.ad_id)
        .limit(limit)
    )
    return [_ad_result(a) for a in rows], int(total)


def ads_of_personas(
    session: Session, run_id: int, persona_ids: Sequence[str], *, limit: int
) -> list[AdResult]:
    """The ads of the given personas, newest first, at most ``limit``."""
    if not persona_ids:
        return []
    rows = session.scalars(
        select(AnalysisAd)
        .where(AnalysisAd.run_id == run_id, AnalysisAd.persona_id.in_(list(persona_ids)))
        .order_by(AnalysisAd.posted_at.desc(), AnalysisAd.ad_id)
        .limit(limit)
    )
    return [_ad_result(a) for a in rows]


def network_flows(session: Session, run_id: int, network_id: str) -> list[Flow]:
    """The moves of a network's personas between two municipalities, counted per pair (a first
    appearance, with no municipality before it, is no move); most moves first."""
    moves = func.count()
    rows = session.execute(
        select(
            AnalysisMovement.from_municipality,
            AnalysisMovement.to_municipality,
            moves,
            func.count(AnalysisMovement.persona_id.distinct()),
        )
        .where(
            AnalysisMovement.run_id == run_id,
            AnalysisMovement.network_id == network_id,
            AnalysisMovement.from_municipality.is_not(None),
            AnalysisMovement.from_municipality != AnalysisMovement.to_municipality,
        )
        .group_by(AnalysisMovement.from_municipality, AnalysisMovement.to_municipality)
        .order_by(
            moves.desc(), AnalysisMovement.from_municipality, AnalysisMovement.to_municipality
        )
    ).all()
    return [Flow(str(a), str(b), int(n), int(p)) for a, b, n, p in rows]


def persona_detail(session: Session, run_id: int, persona_id: str) -> PersonaDetail | None:
    """One persona with its network, its ads (newest first) and its movements (in time order)."""
    persona = session.get(AnalysisPersona, (run_id, persona_id))
    if persona is None:
        return None
    network = session.get(AnalysisNetwork, (run_id, persona.network_id))
    ads = session.scalars(
        select(AnalysisAd)
        .where(AnalysisAd.run_id == run_id, AnalysisAd.persona_id == persona_id)
        .order_by(AnalysisAd.posted_at.desc(), AnalysisAd.ad_id)
    )
    movements = session.scalars(
        select(AnalysisMovement)
        .where(AnalysisMovement.run_id == run_id, AnalysisMovement.persona_id == persona_id)
        .order_by(AnalysisMovement.at, AnalysisMovement.id)
    )
    return PersonaDetail(
        persona=_persona_result(persona),
        network=_network_result(network) if network else None,
        ads=[_ad_result(a) for a in ads],
        movements=[
            MovementStep(
                persona_id=m.persona_id,
                network_id=m.network_id,
                from_municipality=m.from_municipality,
                to_municipality=m.to_municipality,
                at=m.at,
            )
            for m in movements
        ],
    )


#: The persona page shows at most so many photos (and says so).
MAX_PERSONA_PHOTOS = 60
#: Other personas named per photo, at most.
MAX_ELSEWHERE = 20


def _persona_photo_rows(run_id: int, persona_id: str) -> Any:
    return (
        select(AnalysisAdPhoto)
        .join(
            AnalysisAd,
            (AnalysisAd.run_id == AnalysisAdPhoto.run_id)
            & (AnalysisAd.ad_id == AnalysisAdPhoto.ad_id),
        )
        .where(AnalysisAdPhoto.run_id == run_id, AnalysisAd.persona_id == persona_id)
        .order_by(AnalysisAdPhoto.ad_id, AnalysisAdPhoto.position)
    )


def count_persona_photos(session: Session, run_id: int, persona_id: str) -> int:
    statement = _persona_photo_rows(run_id, persona_id).with_only_columns(func.count())
    return int(session.scalar(statement.order_by(None)) or 0)


def persona_photos(
    session: Session, run_id: int, persona_id: str, *, limit: int = MAX_PERSONA_PHOTOS
) -> list[AdPhoto]:
    """The photos of a persona's ads (at most ``limit``), each with the other personas of the
    run that have the same picture. The thumbnails are not read (nor decrypted) here."""
    rows = session.execute(
        _persona_photo_rows(run_id, persona_id)
        .with_only_columns(
            AnalysisAdPhoto.ad_id,
            AnalysisAdPhoto.position,
            AnalysisAdPhoto.cluster,
            AnalysisAdPhoto.thumbnail.is_not(None),
        )
        .limit(limit)
    ).all()
    clusters = sorted({cluster for _, _, cluster, _ in rows if cluster is not None})
    others: dict[int, set[str]] = {}
    if clusters:
        found = session.execute(
            select(AnalysisAdPhoto.cluster, AnalysisAd.persona_id)
            .join(
                AnalysisAd,
                (AnalysisAd.run_id == AnalysisAdPhoto.run_id)
                & (AnalysisAd.ad_id == AnalysisAdPhoto.ad_id),
            )
            .where(
                AnalysisAdPhoto.run_id == run_id,
                AnalysisAdPhoto.cluster.in_(clusters),
                AnalysisAd.persona_id != persona_id,
            )
            .distinct()
        ).all()
        for cluster, other in found:
            if cluster is not None:
                others.setdefault(int(cluster), set()).add(str(other))
    return [
        AdPhoto(
            number=number,
            ad_id=str(ad_id),
            position=int(position),
            has_thumbnail=bool(has_thumbnail),
            elsewhere=tuple(sorted(others.get(cluster, ()) if cluster is not None else ())),
        )
        for number, (ad_id, position, cluster, has_thumbnail) in enumerate(rows, start=1)
    ]


def persona_photo_thumbnail(
    session: Session, run_id: int, persona_id: str, number: int
) -> bytes | None:
    """The thumbnail of photo ``number`` (1-based, as :func:`persona_photos` numbers them) of
    the persona in run ``run_id``; None when there is no such photo or it has no thumbnail."""
    if not 1 <= number <= MAX_PERSONA_PHOTOS:
        return None
    statement = (
        _persona_photo_rows(run_id, persona_id)
        .with_only_columns(AnalysisAdPhoto.thumbnail)
        .offset(number - 1)
        .limit(1)
    )
    value = session.scalar(statement)
    return value if isinstance(value, bytes) else None
