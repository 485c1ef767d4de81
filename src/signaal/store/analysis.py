"""Analysis results in the app store: what ``signaal analyse --store`` writes and the web app reads.

Rows arrive as mappings with the CSV column names of ``signaal analyse`` (values as strings from a
CSV file or as typed values). Every value is checked before anything is written; a bad value
raises :class:`~signaal.errors.RecordError` naming the table, row and field, and nothing of the
run is stored. Rows are inserted in bulk (executemany).

Contact points are stored pseudonymised only (``phone:3f9a…``, see
:mod:`signaal.privacy.pseudonyms`); a raw phone number or address is refused. Each run gets an
``expires_at`` from ``analysis_retention_days``; :func:`purge_expired` deletes expired runs and
audits that it did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import Action, Actor, allowed
from signaal.errors import PermissionDenied, RecordError, StoreError
from signaal.settings import Settings, get_settings
from signaal.store.models import (
    AnalysisAd,
    AnalysisMovement,
    AnalysisNetwork,
    AnalysisPersona,
    AnalysisRun,
)

RISK_LEVELS = ("log", "review", "priority")
PSEUDONYM = re.compile(r"^(phone|email|handle|website):[0-9a-f]{8,64}$")
MAX_TEXT_LENGTH = 100_000
BATCH_SIZE = 5_000


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
class PersonaDetail:
    persona: PersonaResult
    network: NetworkResult | None
    ads: list[AdResult]  # newest first
    movements: list[MovementStep]  # in time order


# ----------------------------------------------------------------------------------------------
# Checking input values


class _Row:
    """One input row with typed getters that raise RecordError naming table, row and field."""

    def __init__(self, table: str, number: int, values: Mapping[str, object]) -> None:
        self.table = table
        self.number = number
        self.values = values

    def error(self, field: str, reason: str) -> RecordError:
        return RecordError(f"{self.table} row {self.number}", field, reason)

    def _raw(self, field: str) -> object:
        value = self.values.get(field)
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, field: str, max_length: int, *, required: bool = True) -> str | None:
        value = self._raw(field)
        if value is None:
            if required:
                raise self.error(field, "is missing")
            return None
        if not isinstance(value, str):
            value = str(value)
        if len(value) > max_length:
            raise self.error(field, f"longer than {max_length} characters")
        return value

    def required_text(self, field: str, max_length: int) -> str:
        value = self.text(field, max_length)
        assert value is not None
        return value

    def integer(self, field: str, low: int, high: int) -> int:
        value = self._raw(field)
        if value is None:
            raise self.error(field, "is missing")
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            try:
                number = int(value)
            except ValueError:
                try:
                    as_float = float(value)
                except ValueError:
                    number = None
                else:
                    number = int(as_float) if as_float.is_integer() else None
        if number is None:
            raise self.error(field, f"{value!r} is not a whole number")
        if not low <= number <= high:
            raise self.error(field, f"{number} is outside {low}–{high}")
        return number

    def moment(self, field: str, *, required: bool) -> datetime | None:
        value = self._raw(field)
        if value is None:
            if required:
                raise self.error(field, "is missing")
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise self.error(field, f"{value!r} is not an ISO 8601 time") from None
        else:
            raise self.error(field, f"{value!r} is not a time")
        # The pipeline works in UTC; a time without zone is taken to be UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def joined(self, field: str, separator: str, max_length: int) -> tuple[str, ...]:
        value = self.values.get(field)
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(separator.strip() or None)]
        elif isinstance(value, Iterable):
            parts = [str(p).strip() for p in value]
        else:
            raise self.error(field, f"{value!r} is not a list")
        parts = [p for p in parts if p]
        if sum(len(p) + 1 for p in parts) > max_length:
            raise self.error(field, f"longer than {max_length} characters")
        return tuple(parts)

    def reasons(self, field: str) -> str:
        value = self.values.get(field)
        if value is None:
            return ""
        if not isinstance(value, str) and isinstance(value, Iterable):
            value = "\n".join(str(v) for v in value)
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise self.error(field, f"longer than {MAX_TEXT_LENGTH} characters")
        return text


def _ad(row: _Row, run_id: int) -> dict[str, Any]:
    level = row.required_text("risk_level", 16)
    if level not in RISK_LEVELS:
        raise row.error("risk_level", f"{level!r} is not one of {', '.join(RISK_LEVELS)}")
    return {
        "run_id": run_id,
        "ad_id": row.required_text("ad_id", 200),
        "persona_id": row.required_text("persona_id", 100),
        "network_id": row.required_text("network_id", 100),
        "risk_score": row.integer("risk_score", 0, 100),
        "risk_level": level,
        "indicators": " ".join(row.joined("indicators", " ", MAX_TEXT_LENGTH)),
        "posted_at": row.moment("posted_at", required=False),
        "site": row.text("site", 200, required=False),
        "municipality": row.text("municipality", 100, required=False),
        "title": row.text("title", MAX_TEXT_LENGTH, required=False),
        "text": row.text("text", MAX_TEXT_LENGTH, required=False),
    }


def _persona(row: _Row, run_id: int) -> dict[str, Any]:
    first_seen = row.moment("first_seen", required=False)
    last_seen = row.moment("last_seen", required=False)
    if first_seen and last_seen and last_seen < first_seen:
        raise row.error("last_seen", "is before first_seen")
    return {
        "run_id": run_id,
        "persona_id": row.required_text("persona_id", 100),
        "network_id": row.required_text("network_id", 100),
        "n_ads": row.integer("n_ads", 0, 10_000_000),
        "first_seen": first_seen,
        "last_seen": last_seen,
        "municipalities": ";".join(row.joined("municipalities", ";", MAX_TEXT_LENGTH)),
        "risk_score": row.integer("risk_score", 0, 100),
        "reasons": row.reasons("reasons"),
    }


def _network(row: _Row, run_id: int) -> dict[str, Any]:
    contact_points = row.joined("contact_points", ";", MAX_TEXT_LENGTH)
    for point in contact_points:
        if not PSEUDONYM.match(point):
            raise row.error(
                "contact_points",
                f"{point[:4]}… is not a pseudonym (kind:hex); contact points are stored "
                "pseudonymised only",
            )
    return {
        "run_id": run_id,
        "network_id": row.required_text("network_id", 100),
        "n_personas": row.integer("n_personas", 0, 10_000_000),
        "n_ads": row.integer("n_ads", 0, 10_000_000),
        "contact_points": ";".join(contact_points),
        "municipalities": ";".join(row.joined("municipalities", ";", MAX_TEXT_LENGTH)),
        "risk_score": row.integer("risk_score", 0, 100),
        "reasons": row.reasons("reasons"),
    }


def _movement(row: _Row, run_id: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "persona_id": row.required_text("persona_id", 100),
        "network_id": row.required_text("network_id", 100),
        "from_municipality": row.text("from_municipality", 100, required=False),
        "to_municipality": row.required_text("to_municipality", 100),
        "at": row.moment("at", required=True),
    }


def _check_rows(
    table: str,
    rows: Sequence[Mapping[str, object]],
    convert: Callable[[_Row, int], dict[str, Any]],
    key: str | None,
) -> list[dict[str, Any]]:
    # run_id 0 is a placeholder filled in after the run row exists.
    checked = [convert(_Row(table, i, values), 0) for i, values in enumerate(rows, start=1)]
    if key is not None:
        seen: set[str] = set()
        for number, values in enumerate(checked, start=1):
            if values[key] in seen:
                raise RecordError(f"{table} row {number}", key, f"duplicate {values[key]!r}")
            seen.add(values[key])
    return checked


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
    actor: Actor | None,
    ip: str | None = None,
    settings: Settings | None = None,
) -> int:
    """Store one analysis run with all its rows and one ``analysis.stored`` audit event.

    Returns the run id. Nothing is committed here; on a bad value nothing is added.
    """
    if actor is not None and not allowed(actor, Action.STORE_ANALYSIS):
        raise PermissionDenied("you may not store analysis results")
    settings = settings or get_settings()
    for name, moment in (("started_at", started_at), ("finished_at", finished_at)):
        if moment.tzinfo is None:
            raise RecordError("analysis run", name, "needs a time zone")
    if finished_at < started_at:
        raise RecordError("analysis run", "finished_at", "is before started_at")
    if n_quarantined < 0:
        raise RecordError("analysis run", "n_quarantined", "is negative")
    source = source.strip()[:500] or "(unnamed)"

    ad_rows = _check_rows("ads", ads, _ad, "ad_id")
    persona_rows = _check_rows("personas", personas, _persona, "persona_id")
    network_rows = _check_rows("networks", networks, _network, "network_id")
    movement_rows = _check_rows("movements", movements, _movement, None)

    now = datetime.now(UTC)
    try:
        run = AnalysisRun(
            source=source,
            started_at=started_at,
            finished_at=finished_at,
            stored_at=now,
            expires_at=now + timedelta(days=settings.analysis_retention_days),
            n_ads=len(ad_rows),
            n_personas=len(persona_rows),
            n_networks=len(network_rows),
            n_movements=len(movement_rows),
            n_quarantined=n_quarantined,
            stored_by_user_id=actor.user_id if actor else None,
        )
        session.add(run)
        session.flush()
        for model, rows in (
            (AnalysisNetwork, network_rows),
            (AnalysisPersona, persona_rows),
            (AnalysisAd, ad_rows),
            (AnalysisMovement, movement_rows),
        ):
            for values in rows:
                values["run_id"] = run.id
            for start in range(0, len(rows), BATCH_SIZE):
                session.execute(insert(model), rows[start : start + BATCH_SIZE])
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
    except SQLAlchemyError as exc:
        raise StoreError(f"storing the analysis of {source!r} failed: {exc}") from exc
    return run.id


def purge_expired(
    session: Session, *, now: datetime | None = None, actor: Actor | None = None
) -> list[int]:
    """Delete analysis runs whose retention has ended (with all their rows); audit it."""
    now = now or datetime.now(UTC)
    run_ids = list(
        session.scalars(
            select(AnalysisRun.id).where(AnalysisRun.expires_at <= now).order_by(AnalysisRun.id)
        )
    )
    if not run_ids:
        return []
    try:
        # Children first: no reliance on ON DELETE CASCADE being enabled on the connection.
        for model in (AnalysisMovement, AnalysisAd, AnalysisPersona, AnalysisNetwork):
            session.execute(delete(model).where(model.run_id.in_(run_ids)))
        session.execute(delete(AnalysisRun).where(AnalysisRun.id.in_(run_ids)))
        audit.record(
            session,
            audit.AnalysisPurged(run_ids=tuple(run_ids), before=now.isoformat()),
            actor=actor,
            ip=None,
        )
    except SQLAlchemyError as exc:
        raise StoreError(f"purging expired analysis runs failed: {exc}") from exc
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


def latest_run(session: Session, *, now: datetime | None = None) -> AnalysisRun | None:
    """The most recently stored run that has not expired."""
    now = now or datetime.now(UTC)
    return session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.expires_at > now)
        .order_by(AnalysisRun.stored_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    ).first()


def get_run(session: Session, run_id: int) -> AnalysisRun | None:
    return session.get(AnalysisRun, run_id)


def list_runs(session: Session, *, limit: int = 20) -> list[AnalysisRun]:
    return list(session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(limit)))


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
