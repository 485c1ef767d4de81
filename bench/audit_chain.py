"""How fast is the audit chain: appends (one and several writers) and verification?

Prints figures; asserts nothing. The baseline, measured in the same run on the same database, is
inserting the same rows into a table of the same shape without the chain (no head lock, no
hash): the ratio is what tamper evidence costs per audited action.

    .venv/bin/python bench/audit_chain.py
    .venv/bin/python bench/audit_chain.py --events 5000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from signaal import audit
from signaal.chain.authz import Actor
from signaal.store.db import make_engine, session_factory, upgrade
from signaal.store.models import OrganisationKind

ACTOR = Actor(1, "analist@example.test", 1, OrganisationKind.POLICE, "analyst", False)


def run(url: str, n_events: int, writers: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_plain AS SELECT * FROM audit_events WHERE 1 = 0"))

    # Baseline: the same kind of row, one transaction per action, no chain.
    start = time.perf_counter()
    for i in range(n_events):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO bench_plain (seq, at, action, details, prev_hash, hash) "
                    "VALUES (:seq, CURRENT_TIMESTAMP, 'analysis.persona_viewed', '{}', '', :h)"
                ),
                {"seq": i + 1, "h": f"{i:064d}"},
            )
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    for i in range(n_events):
        with factory() as session:
            audit.record(
                session, audit.PersonaViewed(run_id=1, persona_id=f"P{i}"), actor=ACTOR, ip=None
            )
            session.commit()
    single = time.perf_counter() - start

    per_writer = n_events // writers

    def writer(offset: int) -> None:
        for i in range(per_writer):
            with factory() as session:
                audit.record(
                    session,
                    audit.PersonaViewed(run_id=2, persona_id=f"W{offset}-{i}"),
                    actor=ACTOR,
                    ip=None,
                )
                session.commit()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent = time.perf_counter() - start

    start = time.perf_counter()
    with factory() as session:
        report = audit.verify(session)
    verifying = time.perf_counter() - start
    engine.dispose()
    assert report.ok, report.problems[:3]

    backend = make_url(url).get_backend_name()
    total = n_events + per_writer * writers
    print(f"{backend}: {n_events:,} events by one writer, {per_writer * writers:,} by {writers}")
    print(f"  baseline plain insert:   {n_events / baseline:8.0f} rows/s")
    print(f"  chained append, 1 writer:{n_events / single:8.0f} events/s")
    print(f"  ratio chained / plain:   {single / baseline:8.2f}x")
    print(f"  chained, {writers} writers:     {per_writer * writers / concurrent:8.0f} events/s")
    print(f"  verify:                  {total / verifying:8.0f} rows/s ({total:,} rows ok)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--postgres", help="server URL; a temporary database is created on it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{(Path(folder) / 'bench.db').as_posix()}", args.events, args.writers)
    if args.postgres:
        name = f"signaal_bench_{uuid.uuid4().hex[:12]}"
        server = make_url(args.postgres)
        admin = server.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            run(server.set(database=name).render_as_string(False), args.events, args.writers)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
