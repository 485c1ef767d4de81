"""The tables of an analysis, as rows and as CSV files (a stable contract for scripts and tools).

    ads.csv         ad_id, persona_id, network_id, risk_score, risk_level, indicators
    personas.csv    persona_id, network_id, n_ads, first_seen, last_seen, municipalities,
                    risk_score, reasons
    networks.csv    network_id, n_personas, n_ads, contact_points, municipalities, risk_score,
                    reasons
    movements.csv   persona_id, network_id, from_municipality, to_municipality, at
    links.csv       ad_id_a, ad_id_b, kind, evidence
    quarantine.jsonl  source, line, field, reason, raw (one JSON object per bad input record)

Lists inside a cell (municipalities, contact points) are joined with ``;``; ``indicators`` is a
space-separated list of indicator ids; ``reasons`` is readable text ("C01 +3: phone shared by
4 personas (phone:3f9a…); A05 +2: …"). Times are ISO 8601 in UTC with a ``Z``. Contact points
are keyed pseudonyms, never the number or address itself. Rows are sorted (highest risk first,
then by id), so the same input gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from signaal.ads.pipeline import AnalysisResult
from signaal.ads.types import Quarantined, Reason, Score
from signaal.privacy.pseudonyms import pseudonym

ADS_COLUMNS = ("ad_id", "persona_id", "network_id", "risk_score", "risk_level", "indicators")
PERSONAS_COLUMNS = (
    "persona_id",
    "network_id",
    "n_ads",
    "first_seen",
    "last_seen",
    "municipalities",
    "risk_score",
    "reasons",
)
NETWORKS_COLUMNS = (
    "network_id",
    "n_personas",
    "n_ads",
    "contact_points",
    "municipalities",
    "risk_score",
    "reasons",
)
MOVEMENTS_COLUMNS = ("persona_id", "network_id", "from_municipality", "to_municipality", "at")
LINKS_COLUMNS = ("ad_id_a", "ad_id_b", "kind", "evidence")

Row = dict[str, str | int]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def points_text(value: float) -> str:
    text = f"{value:+.2f}".rstrip("0").rstrip(".")
    return text if text not in ("+0", "-0") else "0"


def ordered_reasons(reasons: Iterable[Reason]) -> list[Reason]:
    """Strongest first, then by indicator id."""
    return sorted(reasons, key=lambda r: (-abs(r.points), r.indicator_id, r.text))


def reasons_text(reasons: Iterable[Reason]) -> str:
    """Readable reasons, strongest first: "C01 +3: phone shared by 4 personas; A05 +2: 24/7"."""
    return "; ".join(
        f"{r.indicator_id} {points_text(r.points)}: {r.text}" for r in ordered_reasons(reasons)
    )


def _score(scores: dict[str, Score], key: str) -> Score:
    found = scores.get(key)
    return found if found is not None else Score(0, "log", ())


@dataclass(frozen=True, slots=True)
class Tables:
    ads: list[Row]
    personas: list[Row]
    networks: list[Row]
    movements: list[Row]
    links: list[Row]


def build_tables(result: AnalysisResult, *, pseudonym_key: str) -> Tables:
    """The rows of every output table (pure: the same result gives the same rows)."""
    linkage, risk, moves = result.linkage, result.risk, result.movement
    persona_of = linkage.persona_of_ad
    network_of = linkage.network_of_persona

    ads: list[Row] = []
    persona_ads: dict[str, list[int]] = defaultdict(list)
    for index, ad in enumerate(result.ads):
        persona = persona_of[ad.id]
        network = network_of[persona]
        persona_ads[persona].append(index)
        score = _score(risk.ads, ad.id)
        ids = {h.indicator_id for h in result.hits.get(ad.id, ())}
        ids.update(r.indicator_id for r in score.reasons)
        ads.append(
            {
                "ad_id": ad.id,
                "persona_id": persona,
                "network_id": network,
                "risk_score": score.score,
                "risk_level": score.level,
                "indicators": " ".join(sorted(ids)),
            }
        )

    personas: list[Row] = []
    network_personas: dict[str, list[str]] = defaultdict(list)
    for persona, indexes in persona_ads.items():
        network = network_of[persona]
        network_personas[network].append(persona)
        times = [result.ads[i].posted_at for i in indexes]
        score = _score(risk.personas, persona)
        places = moves.municipalities_of_persona.get(persona) or _first_seen_places(result, indexes)
        personas.append(
            {
                "persona_id": persona,
                "network_id": network,
                "n_ads": len(indexes),
                "first_seen": iso(min(times)),
                "last_seen": iso(max(times)),
                "municipalities": ";".join(places),
                "risk_score": score.score,
                "risk_level": score.level,
                "reasons": reasons_text(score.reasons),
            }
        )
    personas.sort(key=lambda r: (-int(r["risk_score"]), str(r["persona_id"])))

    pseudonyms: dict[tuple[str, str], str] = {}

    def pseudonym_of(kind: str, value: str) -> str:
        key = (kind, value)
        found = pseudonyms.get(key)
        if found is None:
            found = pseudonyms[key] = pseudonym(kind, value, pseudonym_key)
        return found

    networks: list[Row] = []
    for network, members in network_personas.items():
        indexes = [i for p in members for i in persona_ads[p]]
        contacts = sorted(
            {pseudonym_of(c.kind.value, c.value) for i in indexes for c in result.ads[i].contacts}
        )
        score = _score(risk.networks, network)
        places = moves.municipalities_of_network.get(network) or _first_seen_places(
            result, sorted(indexes, key=lambda i: (result.ads[i].posted_at, result.ads[i].id))
        )
        networks.append(
            {
                "network_id": network,
                "n_personas": len(members),
                "n_ads": len(indexes),
                "contact_points": ";".join(contacts),
                "municipalities": ";".join(places),
                "risk_score": score.score,
                "risk_level": score.level,
                "reasons": reasons_text(score.reasons),
            }
        )
    networks.sort(key=lambda r: (-int(r["risk_score"]), str(r["network_id"])))

    movements: list[Row] = [
        {
            "persona_id": m.persona_id,
            "network_id": m.network_id,
            "from_municipality": m.from_municipality or "",
            "to_municipality": m.to_municipality,
            "at": iso(m.at),
        }
        for m in sorted(moves.movements, key=lambda m: (m.persona_id, m.at, m.to_municipality))
    ]
    links: list[Row] = [
        {"ad_id_a": k.ad_id_a, "ad_id_b": k.ad_id_b, "kind": k.kind.value, "evidence": k.evidence}
        for k in sorted(
            linkage.links, key=lambda k: (k.ad_id_a, k.ad_id_b, k.kind.value, k.evidence)
        )
    ]
    return Tables(ads, personas, networks, movements, links)


def _first_seen_places(result: AnalysisResult, indexes: Sequence[int]) -> list[str]:
    ordered = sorted(indexes, key=lambda i: (result.ads[i].posted_at, result.ads[i].id))
    places: dict[str, None] = {}
    for i in ordered:
        municipality = result.ads[i].municipality
        if municipality:
            places.setdefault(municipality, None)
    return list(places)


def csv_text(rows: Iterable[Row], columns: Sequence[str]) -> str:
    """CSV with a header row, ``\\n`` line ends, only the given columns, in that order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue()


def quarantine_jsonl(items: Iterable[Quarantined]) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "source": q.source,
                "line": q.line,
                "field": q.field,
                "reason": q.reason,
                "raw": q.raw,
            }
        )
        + b"\n"
        for q in items
    )


def write_tables(tables: Tables, out: Path) -> list[Path]:
    """Write the five CSV files into ``out`` (created if needed); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows, columns in (
        ("ads.csv", tables.ads, ADS_COLUMNS),
        ("personas.csv", tables.personas, PERSONAS_COLUMNS),
        ("networks.csv", tables.networks, NETWORKS_COLUMNS),
        ("movements.csv", tables.movements, MOVEMENTS_COLUMNS),
        ("links.csv", tables.links, LINKS_COLUMNS),
    ):
        path = out / name
        path.write_text(csv_text(rows, columns), "utf-8", newline="")
        written.append(path)
    return written


def write_quarantine(items: Sequence[Quarantined], out: Path) -> Path:
    """``quarantine.jsonl`` in ``out``; written (empty) even when nothing was quarantined."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "quarantine.jsonl"
    path.write_bytes(quarantine_jsonl(items))
    return path
