"""How fast is the audit chain: appends (one and several writers), verification, and what a
view of the audit page costs with full and with incremental verification?

Prints figures; asserts nothing. Appends: the baseline, measured in the same run on the same
database, is inserting the same rows into a table of the same shape without the chain (no head
lock, no hash): the ratio is what tamper evidence costs per audited action. Page views: the
baseline is reading the page itself (one page of one organisation's events); the ratios say
what verifying the whole chain, or only the rows since the last checkpoint, adds to a view.
The load of the machine (``uptime``) is printed with the figures: on a shared machine only the
ratios are comparable between runs.

    .venv/bin/python bench/audit_chain.py
    .venv/bin/python bench/audit_chain.py --view-rows 5000,50000
    .venv/bin/python bench/audit_chain.py --events 5000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from signaal import audit
from signaal.chain.authz import Actor
from signaal.store.db import make_engine, session_factory, upgrade
from signaal.store.models import OrganisationKind

ACTOR = Actor(1, "analist@example.test", 1, OrganisationKind.POLICE, "analyst", False)
OTHER = Actor(2, "beheer@ggd.example.test", 2, OrganisationKind.GGD, "administrator", False)
BENCH_AUDIT_KEY = "audit-key-of-the-benchmark-0123456789abcdef"
# Rows appended between two views of the audit page in the incremental measurement.
ROWS_BETWEEN_VIEWS = 20
REPEATS = 5


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def run(url: str, n_events: int, writers: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine, audit_key=BENCH_AUDIT_KEY)
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


def fill(factory: sessionmaker[Session], n_rows: int) -> None:
    """``n_rows`` audit events, one in ten by the organisation whose page is viewed."""
    done = 0
    while done < n_rows:
        with factory() as session:
            for i in range(done, min(done + 2000, n_rows)):
                actor = ACTOR if i % 10 == 0 else OTHER
                audit.record(
                    session, audit.PersonaViewed(run_id=1, persona_id=f"P{i}"), actor=actor, ip=None
                )
            session.commit()
        done = min(done + 2000, n_rows)


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def views(url: str, n_rows: int) -> None:
    """What one view of the audit page costs at ``n_rows`` rows: reading the page (baseline),
    verifying the whole chain, verifying from the last checkpoint."""
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine, audit_key=BENCH_AUDIT_KEY)
    fill(factory, n_rows)

    def page() -> None:
        with factory() as session:
            audit.page_events(session, organisation_id=ACTOR.organisation_id, size=100)

    def full() -> None:
        with factory() as session:
            assert audit.verify(session, full=True, write_checkpoint=False).ok

    page_times = [timed(page) for _ in range(REPEATS)]
    full_times = [timed(full) for _ in range(REPEATS)]
    with factory() as session:
        audit.verify(session)  # the first view leaves a checkpoint
        session.commit()
    incremental_times = []
    for _ in range(REPEATS):
        with factory() as session:
            for i in range(ROWS_BETWEEN_VIEWS):
                audit.record(session, audit.Logout(user_id=i), actor=OTHER, ip=None)
            session.commit()
        with factory() as session:
            start = time.perf_counter()
            report = audit.verify(session, full=False)
            session.commit()
            incremental_times.append(time.perf_counter() - start)
            assert report.ok, report.problems[:3]
            assert (report.full, report.checked) == (False, ROWS_BETWEEN_VIEWS)
    engine.dispose()
    baseline = statistics.median(page_times)
    full_s = statistics.median(full_times)
    incremental_s = statistics.median(incremental_times)
    backend = make_url(url).get_backend_name()
    print(f"{backend}: one view of the audit page at {n_rows:,} rows (median of {REPEATS})")
    print(f"  baseline, read one page:   {baseline * 1000:8.1f} ms")
    print(f"  full verification:         {full_s * 1000:8.1f} ms  = {full_s / baseline:7.1f}x")
    print(
        f"  incremental ({ROWS_BETWEEN_VIEWS} new rows):  {incremental_s * 1000:8.1f} ms  = "
        f"{incremental_s / baseline:7.1f}x"
    )
    print(f"  full / incremental:        {full_s / incremental_s:8.1f}x")
    print(f"  {load()}")


def on_backends(args: argparse.Namespace, job: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        job(f"sqlite:///{(Path(folder) / 'bench.db').as_posix()}")
    if args.postgres:
        name = f"signaal_bench_{uuid.uuid4().hex[:12]}"
        server = make_url(args.postgres)
        admin = server.set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            job(server.set(database=name).render_as_string(False))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="appends to time; 0 skips")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--view-rows",
        default="5000,50000",
        help="chain lengths at which to time a view of the audit page (comma-separated; 0 skips)",
    )
    parser.add_argument("--postgres", help="server URL; a temporary database is created on it")
    args = parser.parse_args()
    print(load())
    if args.events > 0:
        on_backends(args, lambda url: run(url, args.events, args.writers))
    for n_rows in (int(n) for n in args.view_rows.split(",") if int(n) > 0):
        on_backends(args, lambda url, n=n_rows: views(url, n))


if __name__ == "__main__":
    main()
