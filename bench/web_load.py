"""How fast do "Mijn gemeente", the triage queue and a persona page answer under 20 users?

Generates a synthetic market (``signaal synth``), stores its analysis in a fresh PostgreSQL
database (``signaal analyse --store``, for the demo police organisation), serves the app with
``signaal serve`` and lets locust's simulated analysts (``bench/web_load_users.py``) read the
three pages, with 1-3 s of thinking between requests. Prints per page the requests, failures
and the 50th, 95th and 99th percentile response times, each 95th percentile also as a ratio
to that of ``/healthz`` in the same run (the same server and machine under the same load,
without a page to build), the load average before and after, and how long generating,
analysing and storing took. Before the load, one user alone opens each page ten times (the
pages' own cost, without waiting for others). Goal (issue 11): 300 ms at the 95th percentile
for 20 concurrent users with 1,000,000 ads. Asserts nothing.

Locust is not a dependency of the app; install it once into the environment:

    .tools/bin/uv pip install --python .venv/bin/python --require-hashes -r requirements-bench.lock

    .venv/bin/python bench/web_load.py --ads 100000
    .venv/bin/python bench/web_load.py --ads 1000000 --seconds 120 --keep
    .venv/bin/python bench/web_load.py --database-url URL --data-dir DIR   # reuse a loaded store

The database is a new one on the local PostgreSQL (``--postgres``, default
``postgresql+psycopg://postgres@127.0.0.1:5432``) and is dropped at the end unless ``--keep``.
With ``--database-url`` an existing database is used as it is: loaded first if it holds no
analysis of the demo police organisation, never dropped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
USERS_FILE = ROOT / "bench" / "web_load_users.py"
ANALYST = "analyst"
GOAL_MS = 300.0
PAGES = ("mijn-gemeente (municipality)", "mijn-gemeente (region)", "triage queue", "persona page")
BASELINE = "healthz (baseline)"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _signaal(arguments: list[str], environment: dict[str, str]) -> float:
    """Run ``signaal ARGUMENTS``; the wall seconds it took (SystemExit when it failed)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "signaal", *arguments], env=environment, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"`signaal {' '.join(arguments)}` failed (exit {completed.returncode})")
    return time.perf_counter() - started


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    """The database URL: ``--database-url`` as it is, or a new database dropped afterwards."""
    if args.database_url:
        yield args.database_url
        return
    import psycopg

    admin = args.postgres.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    name = f"signaal_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{args.postgres}/{name}"
    finally:
        if args.keep:
            print(f"kept the database: {args.postgres}/{name}")
        else:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SIGNAAL_ENV": "development",
        "SIGNAAL_DATABASE_URL": url,
        "SIGNAAL_DATA_DIR": str(data_dir),
    }


def _owner(url: str) -> tuple[str, int | None]:
    """The demo police organisation (seeded when missing) and its latest run's id, if any."""
    from signaal.chain.accounts import DEMO_ORGANISATIONS, find_organisation, seed_demo
    from signaal.store import analysis
    from signaal.store.db import make_engine, session_factory, transaction, upgrade
    from signaal.store.models import OrganisationKind

    upgrade(url)
    name = DEMO_ORGANISATIONS[OrganisationKind.POLICE]
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
            organisation = find_organisation(session, name)
            assert organisation is not None
            run = analysis.latest_run(session, organisation.id)
            return name, run.id if run is not None else None
    finally:
        engine.dispose()


def _load(args: argparse.Namespace, url: str, data_dir: Path) -> dict[str, float]:
    """Generate and store the analysis unless the store holds one; seconds per step."""
    owner, run_id = _owner(url)
    if run_id is not None:
        print(f"the store holds run {run_id} of {owner}: not loaded again")
        return {}
    environment = _environment(url, data_dir)
    corpus = data_dir / "corpus"
    seconds: dict[str, float] = {}
    if not (corpus / "ads.jsonl").exists():
        seconds["synth"] = _signaal(
            [
                "synth",
                "--ads",
                str(args.ads),
                "--seed",
                str(args.seed),
                "--preset",
                args.preset,
                "--out",
                str(corpus),
                "--workers",
                str(args.workers),
            ],
            environment,
        )
    seconds["analyse --store"] = _signaal(
        [
            "analyse",
            str(corpus / "ads.jsonl"),
            "--out",
            str(data_dir / "analysis"),
            "--store",
            "--organisation",
            owner,
            "--workers",
            str(args.workers),
            "--quiet",
        ],
        environment,
    )
    return seconds


def _targets(url: str, seed: int) -> dict[str, object]:
    """What the simulated analysts ask for: personas, places, regions and queue filters."""
    from signaal.chain.accounts import demo_email, demo_password
    from signaal.geo import areas as geo_areas
    from signaal.monitor.triage import LEVELS
    from signaal.store.db import make_engine, session_factory
    from signaal.store.models import AnalysisAd, AnalysisPersona, AnalysisRun

    owner, run_id = _owner(url)
    if run_id is None:
        raise SystemExit(f"no analysis of {owner} in the store")
    rng = random.Random(seed)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            run = session.get(AnalysisRun, run_id)
            assert run is not None
            top = session.scalars(
                select(AnalysisPersona.persona_id)
                .where(AnalysisPersona.run_id == run_id)
                .order_by(AnalysisPersona.risk_score.desc(), AnalysisPersona.persona_id)
                .limit(100)
            ).all()
            everyone = session.scalars(
                select(AnalysisPersona.persona_id).where(AnalysisPersona.run_id == run_id)
            ).all()
            places = session.scalars(
                select(AnalysisAd.municipality)
                .where(AnalysisAd.run_id == run_id, AnalysisAd.municipality.is_not(None))
                .group_by(AnalysisAd.municipality)
                .order_by(func.count().desc(), AnalysisAd.municipality)
                .limit(15)
            ).all()
            n_ads = run.n_ads
    finally:
        engine.dispose()
    personas = sorted(set(top) | set(rng.sample(list(everyone), min(100, len(everyone)))))
    regions: list[tuple[str, str]] = []
    for kind, query_kind in (
        ("province", "provincie"),
        ("police_unit", "politie-eenheid"),
        ("safety_region", "veiligheidsregio"),
        ("ggd_region", "ggd-regio"),
    ):
        names = sorted(area.name for area in geo_areas.areas(kind))
        regions += [(query_kind, name) for name in rng.sample(names, min(2, len(names)))]
    triage: list[dict[str, str]] = [{}, {"pagina": "2"}, {"pagina": "5"}]
    triage += [{"plaats": place, "soort": "gemeente"} for place in places[:5]]
    triage += [{"niveau": level} for level in LEVELS]
    triage += [{"plaats": places[0], "soort": "gemeente", "niveau": level} for level in LEVELS]
    return {
        "email": demo_email(ANALYST),
        "password": demo_password(ANALYST),
        "personas": [quote(persona, safe="") for persona in personas],
        "places": [*places, "Den Haag"],
        "regions": regions,
        "triage": triage,
        "n_ads": n_ads,
    }


@contextmanager
def _server(url: str, data_dir: Path) -> Iterator[str]:
    """``signaal serve`` on a free port; its base URL once /healthz answers."""
    port = _free_port()
    log = (data_dir / "server.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "signaal", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_environment(url, data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _alone(base: str, targets: dict[str, object], repeat: int) -> dict[str, float]:
    """Median milliseconds per page for one user alone (logged in as the analysts are)."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
        token = CSRF.search(client.get("/login").text)
        assert token is not None
        answer = client.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "email": str(targets["email"]),
                "password": str(targets["password"]),
                "volgende": "/dashboard",
            },
        )
        if "/login" in str(answer.url):
            raise SystemExit(f"the analyst could not log in ({answer.status_code})")
        personas = list(targets["personas"])  # type: ignore[call-overload]
        places = list(targets["places"])  # type: ignore[call-overload]
        regions = list(targets["regions"])  # type: ignore[call-overload]
        paths = {
            PAGES[0]: [
                "/mijn-gemeente?" + urlencode({"plaats": p, "soort": "gemeente"}) for p in places
            ],
            PAGES[1]: [
                "/mijn-gemeente?" + urlencode({"plaats": p, "soort": k}) for k, p in regions
            ],
            PAGES[2]: [
                "/analyse/triage?" + urlencode(q)
                for q in targets["triage"]  # type: ignore[attr-defined]
            ],
            PAGES[3]: [f"/analyse/personas/{p}?doel=assess_signal" for p in personas],
            BASELINE: ["/healthz"],
        }
        medians: dict[str, float] = {}
        for name, options in paths.items():
            times = []
            for index in range(repeat):
                path = options[index % len(options)]
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered {response.status_code}")
            medians[name] = statistics.median(times)
        return medians


@dataclass(frozen=True)
class PageStats:
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float


def _percentile(times: dict[str, int], share: float) -> float:
    """Nearest-rank percentile of locust's response-time histogram (ms rounded as it keeps
    them: to 1 ms below 100 ms, 10 ms below 1 s, 100 ms above)."""
    ordered = sorted((float(ms), count) for ms, count in times.items())
    total = sum(count for _ms, count in ordered)
    rank = max(1, math.ceil(share * total))
    seen = 0
    for ms, count in ordered:
        seen += count
        if seen >= rank:
            return ms
    return ordered[-1][0] if ordered else 0.0


def _locust(
    args: argparse.Namespace, base: str, targets_file: Path, out: Path
) -> dict[str, PageStats]:
    stats_file = out / "locust.json"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(USERS_FILE),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.seconds}s",
        "--host",
        base,
        "--json-file",
        str(stats_file.with_suffix("")),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    environment = {**os.environ, "SIGNAAL_BENCH_TARGETS": str(targets_file)}
    completed = subprocess.run(command, env=environment, check=False)
    if not stats_file.exists():
        raise SystemExit(f"locust wrote no statistics (exit {completed.returncode})")
    stats: dict[str, PageStats] = {}
    for entry in json.loads(stats_file.read_text(encoding="utf-8")):
        if entry["name"] in (*PAGES, BASELINE):
            times = entry["response_times"]
            stats[entry["name"]] = PageStats(
                int(entry["num_requests"]),
                int(entry["num_failures"]),
                _percentile(times, 0.50),
                _percentile(times, 0.95),
                _percentile(times, 0.99),
            )
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="for synth and analyse")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=4.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--alone", type=int, default=10, help="requests per page for one user")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--data-dir", type=Path, default=None, help="corpus, logs (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the new database")
    args = parser.parse_args()
    try:
        import locust  # noqa: F401
    except ImportError:
        raise SystemExit(
            "locust is not installed: .tools/bin/uv pip install --python .venv/bin/python "
            "--require-hashes -r requirements-bench.lock"
        ) from None

    temporary = None
    if args.data_dir is None:
        temporary = tempfile.mkdtemp(prefix="signaal-web-load-")
        args.data_dir = Path(temporary)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _database(args) as url:
            load_before = os.getloadavg()
            seconds = _load(args, url, args.data_dir)
            targets = _targets(url, args.seed)
            targets_file = args.data_dir / "targets.json"
            targets_file.write_text(json.dumps(targets), encoding="utf-8")
            with _server(url, args.data_dir) as base:
                alone = _alone(base, targets, args.alone)
                load_start = os.getloadavg()
                stats = _locust(args, base, targets_file, args.data_dir)
                load_end = os.getloadavg()
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)

    print()
    print(
        f"{targets['n_ads']:,} ads in PostgreSQL; {args.users} users for {args.seconds} s "
        f"(1-3 s thinking); {os.cpu_count()} cores"
    )
    print(
        "load average (1, 5, 15 min): before loading "
        + " / ".join(f"{v:.2f}" for v in load_before)
        + "; before the users "
        + " / ".join(f"{v:.2f}" for v in load_start)
        + "; after "
        + " / ".join(f"{v:.2f}" for v in load_end)
    )
    for step, took in seconds.items():
        print(f"{step}: {took:.1f} s")
    baseline = stats.get(BASELINE)
    print()
    header = (
        f"{'page':<30} {'alone ms':>9} {'requests':>9} {'failed':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'p95/healthz':>12}  goal"
    )
    print(header)
    print("-" * len(header))
    for name in (*PAGES, BASELINE):
        page = stats.get(name)
        if page is None:
            print(f"{name:<30} {alone.get(name, 0):>9.1f}  (no requests)")
            continue
        ratio = f"{page.p95 / baseline.p95:.1f}x" if baseline and baseline.p95 else "-"
        goal = "" if name == BASELINE else ("met" if page.p95 <= GOAL_MS else "missed")
        print(
            f"{name:<30} {alone.get(name, 0):>9.1f} {page.requests:>9} {page.failures:>7} "
            f"{page.p50:>8.0f} {page.p95:>8.0f} {page.p99:>8.0f} {ratio:>12}  {goal}"
        )


if __name__ == "__main__":
    main()
