"""How fast does ``save_analysis`` store a large run, and reading it back?

Prints figures; asserts nothing. The baseline, measured in the same run on the same database, is
a bare DB-API ``executemany`` of the same ad rows (no checking, no ORM): the ratio says what
checking every value and the audit event cost on top of the unavoidable insert.

    .venv/bin/python bench/store_analysis.py                      # SQLite file in a temp folder
    .venv/bin/python bench/store_analysis.py --ads 100000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from signaal.chain.authz import SYSTEM
from signaal.privacy.pseudonyms import pseudonym
from signaal.settings import load_settings
from signaal.store import analysis
from signaal.store.db import make_engine, session_factory, upgrade
from signaal.store.models import Organisation, OrganisationKind

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CITIES = ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Zwolle", "Breda"]


def synthetic_results(n_ads: int, seed: int = 1) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)
    n_personas = max(1, n_ads // 5)
    n_networks = max(1, n_personas // 4)
    ads: list[dict[str, object]] = []
    for i in range(n_ads):
        persona = i % n_personas
        ads.append(
            {
                "ad_id": f"ad-{i:07d}",
                "persona_id": f"P{persona:06d}",
                "network_id": f"N{persona % n_networks:05d}",
                "risk_score": str(rng.randint(0, 100)),
                "risk_level": rng.choice(["log", "review", "priority"]),
                "indicators": "A05 B02 C11",
                "posted_at": (T0 + timedelta(minutes=i)).isoformat(),
                "site": "example.test",
                "municipality": rng.choice(CITIES),
                "title": "Nieuw in de stad, alleen deze week",
                "text": "Lieve meid, discreet, bel of app. " * 8,
            }
        )
    personas = [
        {
            "persona_id": f"P{p:06d}",
            "network_id": f"N{p % n_networks:05d}",
            "n_ads": "5",
            "first_seen": T0.isoformat(),
            "last_seen": (T0 + timedelta(days=30)).isoformat(),
            "municipalities": ";".join(rng.sample(CITIES, 3)),
            "risk_score": str(rng.randint(0, 100)),
            "reasons": "phone shared by 3 personas; new here",
        }
        for p in range(n_personas)
    ]
    networks = [
        {
            "network_id": f"N{n:05d}",
            "n_personas": "4",
            "n_ads": "20",
            "contact_points": pseudonym("phone", f"+3169{n:07d}", "bench-key"),
            "municipalities": ";".join(rng.sample(CITIES, 4)),
            "risk_score": str(rng.randint(0, 100)),
            "reasons": "shared phone; co-movement",
        }
        for n in range(n_networks)
    ]
    movements = [
        {
            "persona_id": f"P{p:06d}",
            "network_id": f"N{p % n_networks:05d}",
            "from_municipality": CITIES[p % 7],
            "to_municipality": CITIES[(p + 1) % 7],
            "at": (T0 + timedelta(days=p % 30)).isoformat(),
        }
        for p in range(n_personas)
    ]
    return {"ads": ads, "personas": personas, "networks": networks, "movements": movements}


def baseline_seconds(url: str, ads: list[dict[str, object]]) -> float:
    """A bare executemany of the ad rows into a table of the same shape."""
    rows = [
        (
            a["ad_id"],
            a["persona_id"],
            a["network_id"],
            int(str(a["risk_score"])),
            a["risk_level"],
            a["indicators"],
            a["posted_at"],
            a["site"],
            a["municipality"],
            a["title"],
            a["text"],
        )
        for a in ads
    ]
    columns = (
        "ad_id text primary key, persona_id text, network_id text, risk_score integer, "
        "risk_level text, indicators text, posted_at text, site text, municipality text, "
        "title text, text text"
    )
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database))
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"CREATE TABLE bench_ads ({columns})")
        start = time.perf_counter()
        conn.executemany(f"INSERT INTO bench_ads VALUES ({', '.join('?' * 11)})", rows)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed
    with psycopg.connect(parsed.set(drivername="postgresql").render_as_string(False)) as pg:
        pg.execute(f"CREATE TABLE bench_ads ({columns})")
        start = time.perf_counter()
        with pg.cursor() as cursor:
            cursor.executemany(f"INSERT INTO bench_ads VALUES ({', '.join(['%s'] * 11)})", rows)
        pg.commit()
        return time.perf_counter() - start


def run(url: str, n_ads: int) -> None:
    upgrade(url)
    data = synthetic_results(n_ads)
    base = baseline_seconds(url, data["ads"])
    engine = make_engine(url)
    factory = session_factory(engine)
    settings = load_settings(env="development")
    with factory() as session:
        owner = Organisation(name="Bench", kind=OrganisationKind.POLICE)
        session.add(owner)
        session.commit()
        owner_id = owner.id
    start = time.perf_counter()
    with factory() as session:
        run_id = analysis.save_analysis(
            session,
            source="bench",
            started_at=T0,
            finished_at=T0 + timedelta(minutes=1),
            n_quarantined=0,
            organisation_id=owner_id,
            actor=SYSTEM,
            settings=settings,
            **data,
        )
        session.commit()
    stored = time.perf_counter() - start
    start = time.perf_counter()
    with factory() as session:
        latest = analysis.latest_run(session, owner_id)
        assert latest is not None
        assert latest.id == run_id
        networks = analysis.top_networks(session, run_id)
        personas = analysis.top_personas(session, run_id)
        detail = analysis.persona_detail(session, run_id, personas[0].persona_id)
    read = time.perf_counter() - start
    engine.dispose()
    assert detail is not None
    assert networks
    backend = make_url(url).get_backend_name()
    print(
        f"{backend}: {n_ads:,} ads, {len(data['personas']):,} personas, "
        f"{len(data['networks']):,} networks, {len(data['movements']):,} movements"
    )
    print(f"  save_analysis (checked, all tables, audited): {stored:6.2f} s")
    print(f"  baseline executemany of the ads table only:   {base:6.2f} s")
    print(f"  ratio save_analysis / baseline:               {stored / base:6.1f}x")
    print(f"  latest run + networks + personas + a persona: {read * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--postgres", help="server URL; a temporary database is created on it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{(Path(folder) / 'bench.db').as_posix()}", args.ads)
    if args.postgres:
        name = f"signaal_bench_{uuid.uuid4().hex[:12]}"
        server = make_url(args.postgres)
        admin = server.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            run(server.set(database=name).render_as_string(False), args.ads)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
