"""Daily ingest against a full run, as ratios measured in this run.

    .venv/bin/python bench/ingest.py --ads 100000 --new 10000 --workers 2
    .venv/bin/python bench/ingest.py --ads 1000000 --new 10000 --preset hard

A corpus of ``--ads`` ads is generated (``signaal.synth``, cached like ``bench/speed.py``) and
sorted by time; the oldest ``--ads - --new`` are "yesterday", the newest ``--new`` "today".
In a fresh SQLite store of its own the benchmark times, in this process:

- the baseline: ``orjson`` parsing of today's file;
- the full run: ``signaal analyse`` of the whole corpus in process (``pipeline.run_file`` and
  the output tables), as a run from scratch would cost;
- yesterday's ingest with its analysis (store, read back, analyse, store the run);
- today's ingest on top: the incremental step the issue asks to be at most a tenth of a full run,
  split into storing the ads, the analysis of everything held, and storing the run;
- how many persona ids of yesterday's personas survive today, and the merges and splits.

The machine's load average is printed before and after: shared machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _split(corpus: Path, n_new: int, out: Path) -> tuple[Path, Path]:
    lines = (corpus / "ads.jsonl").read_bytes().splitlines()
    lines.sort(key=lambda line: orjson.loads(line)["posted_at"])
    old, new = out / "yesterday.jsonl", out / "today.jsonl"
    old.write_bytes(b"\n".join(lines[:-n_new]) + b"\n")
    new.write_bytes(b"\n".join(lines[-n_new:]) + b"\n")
    return old, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if not 0 < args.new < args.ads:
        parser.error("--new must be between 0 and --ads")

    from sqlalchemy import select

    from signaal.ads.outputs import build_tables
    from signaal.ads.pipeline import PipelineConfig, run_file
    from signaal.chain import accounts
    from signaal.chain.authz import SYSTEM
    from signaal.monitor.ingest import ingest_path
    from signaal.settings import load_settings
    from signaal.store import analysis
    from signaal.store.db import (
        make_engine,
        session_factory,
        transaction,
        upgrade,
        url_from_settings,
    )
    from signaal.store.models import AnalysisAd, AnalysisLineage, OrganisationKind
    from speed import corpus

    print(f"load average before: {os.getloadavg()}", flush=True)
    folder = corpus(args.ads, args.seed, args.data_dir, preset=args.preset)
    work = Path(tempfile.mkdtemp(prefix="signaal-bench-ingest-"))
    old, new = _split(folder, args.new, work)
    settings = load_settings(env="development", data_dir=work / "data")
    (work / "data").mkdir()
    url = url_from_settings(settings)
    upgrade(url)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        org = accounts.create_organisation(session, name="Bench", kind=OrganisationKind.POLICE).id

    clock = time.perf_counter()
    for line in new.read_bytes().splitlines():
        orjson.loads(line)
    baseline = time.perf_counter() - clock

    config = PipelineConfig(
        pseudonym_key=settings.pseudonym_key, workers=args.workers, photos=False
    )
    clock = time.perf_counter()
    result = run_file(folder / "ads.jsonl", config)
    build_tables(result, pseudonym_key=settings.pseudonym_key)
    full = time.perf_counter() - clock
    del result

    def ingest(path: Path) -> tuple[float, float, float]:
        clock = time.perf_counter()
        outcome = ingest_path(
            engine,
            path,
            organisation_id=org,
            settings=settings,
            now=datetime.now(UTC),
            actor=SYSTEM,
            workers=args.workers,
        )
        total = time.perf_counter() - clock
        assert outcome.run is not None
        return total, outcome.seconds_ingest, outcome.run.seconds

    first_total, _, _ = ingest(old)
    with session_factory(engine)() as session:
        first_run = analysis.latest_run(session, org)
        assert first_run is not None
        before: dict[str, str] = dict(
            session.execute(
                select(AnalysisAd.ad_id, AnalysisAd.persona_id).where(
                    AnalysisAd.run_id == first_run.id
                )
            ).all()
        )
    total, storing, analysed = ingest(new)
    with session_factory(engine)() as session:
        second = analysis.latest_run(session, org)
        assert second is not None
        after: dict[str, str] = dict(
            session.execute(
                select(AnalysisAd.ad_id, AnalysisAd.persona_id).where(
                    AnalysisAd.run_id == second.id
                )
            ).all()
        )
        events = session.execute(
            select(AnalysisLineage.level, AnalysisLineage.kind).where(
                AnalysisLineage.run_id == second.id
            )
        ).all()
    engine.dispose()
    old_personas = set(before.values())
    kept = old_personas & set(after.values())
    print(f"corpus: {args.ads:,} ads ({args.preset}, seed {args.seed}); today {args.new:,}")
    print(f"baseline orjson parse of today's file: {baseline:.2f} s")
    print(f"full run (analyse, in process):        {full:.1f} s")
    print(f"yesterday's ingest + analysis:        {first_total:.1f} s")
    print(
        f"today's ingest + analysis:            {total:.1f} s = {total / full:.2f} x the full run "
        f"(store {storing:.1f} s, analyse and store the run {analysed:.1f} s)"
    )
    print(
        f"persona ids of yesterday kept today:  {len(kept):,} of {len(old_personas):,} "
        f"({len(kept) / max(1, len(old_personas)):.2%})"
    )
    counts: dict[str, int] = {}
    for level, kind in events:
        counts[f"{level} {kind}"] = counts.get(f"{level} {kind}", 0) + 1
    print(f"merges and splits today: {counts or 'none'}")
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
