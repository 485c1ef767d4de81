"""The Spark engine against the local engine on one machine: wall time, ratio, driver memory.

    .venv/bin/python bench/spark.py                                  # 10,000 ads, local[2]
    .venv/bin/python bench/spark.py --sizes 10000,100000 --workers 2 --master 'local[2]'

Every (engine, size) runs in a process of its own, so that its peak memory is that run's: for
the local engine the main process and its largest worker; for Spark the driver's Python process
(which holds the per-ad results and runs the corpus-wide stages, see docs/spark.md) and the
JVM (in local mode the driver and the executors at once; its Python workers not counted). Both
engines write the five CSV tables; the benchmark checks that they are byte-identical. Needs the
spark extra and Java. The corpus comes from ``bench/speed.py``'s cache (``--data-dir``).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLES = ("ads.csv", "personas.csv", "networks.csv", "movements.csv", "links.csv")


def _peak_gb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return own, children


def _jvm_peak_gb(spark: object) -> float:
    """Peak resident memory of the JVM that pyspark started (driver and, in local mode, the
    executors), from /proc: it is not a child this process waits for."""
    try:
        pid = spark.sparkContext._gateway.proc.pid  # type: ignore[attr-defined]
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024**2
    except (AttributeError, OSError, ValueError):
        pass
    return 0.0


def _shuffle_mb(spark: object) -> float:
    """Shuffle bytes written by every stage of this application (Spark's status API on the
    driver's own UI, localhost), in MB; -1 when the UI is off."""
    import urllib.request

    context = spark.sparkContext  # type: ignore[attr-defined]
    url = context.uiWebUrl
    if not url:
        return -1.0
    address = f"{url}/api/v1/applications/{context.applicationId}/stages"
    with urllib.request.urlopen(address, timeout=10) as answer:  # the local UI
        stages = json.load(answer)
    return sum(stage.get("shuffleWriteBytes", 0) for stage in stages) / 1e6


def one_run(engine: str, path: Path, out: Path, workers: int, master: str) -> dict[str, object]:
    """Analyse ``path`` with ``engine`` and write the tables into ``out`` (in this process)."""
    from signaal.ads.outputs import build_tables, write_tables
    from signaal.ads.pipeline import PipelineConfig, run_file

    config = PipelineConfig(pseudonym_key="bench-key", workers=workers, photos=False)
    started = time.perf_counter()
    session_seconds = 0.0
    shuffle_mb = 0.0
    if engine == "spark":
        from signaal.engines.spark.run import SparkRun

        with SparkRun(master) as run:
            session_seconds = time.perf_counter() - started
            result = run.analyse(str(path), config)
            tables = build_tables(result, pseudonym_key="bench-key")
            write_tables(tables, out)
            jvm_gb = _jvm_peak_gb(run.spark)
            shuffle_mb = _shuffle_mb(run.spark)
    else:
        result = run_file(path, config)
        tables = build_tables(result, pseudonym_key="bench-key")
        write_tables(tables, out)
    wall = time.perf_counter() - started
    own, child = _peak_gb()
    if engine == "spark":
        child = jvm_gb
    return {
        "engine": engine,
        "ads": len(result.ads),
        "wall_seconds": round(wall, 2),
        "session_seconds": round(session_seconds, 2),
        "peak_gb_driver": round(own, 3),
        "peak_gb_child": round(child, 3),
        "shuffle_mb": round(shuffle_mb, 2),
    }


def _measure(engine: str, path: Path, out: Path, args: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable,
        __file__,
        "--one",
        engine,
        "--path",
        str(path),
        "--out",
        str(out),
        "--workers",
        str(args.workers),
        "--master",
        args.master,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated corpus sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--workers", type=int, default=2, help="local engine's processes")
    parser.add_argument("--master", default="local[2]", help="Spark master")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--one", choices=("local", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        figures = one_run(args.one, args.path, args.out, args.workers, args.master)
        print(json.dumps(figures))
        return

    sys.path.insert(0, str(Path(__file__).parent))
    from speed import corpus

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"{'ads':>9} {'engine':<7}{'wall s':>9}{'session s':>11}{'ratio':>8}"
        f"{'driver GB':>11}{'JVM/worker GB':>14}{'shuffle MB':>12}  tables"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        path = corpus(size, args.seed, args.data_dir, preset=args.preset) / "ads.jsonl"
        with tempfile.TemporaryDirectory() as tmp:
            local = _measure("local", path, Path(tmp) / "local", args)
            spark = _measure("spark", path, Path(tmp) / "spark", args)
            same = all(
                filecmp.cmp(Path(tmp) / "local" / t, Path(tmp) / "spark" / t, shallow=False)
                for t in TABLES
            )
        base = float(str(local["wall_seconds"]))
        for figures in (local, spark):
            wall = float(str(figures["wall_seconds"]))
            print(
                f"{size:>9,} {figures['engine']!s:<7}{wall:>9.1f}"
                f"{float(str(figures['session_seconds'])):>11.1f}{wall / base:>7.2f}x"
                f"{float(str(figures['peak_gb_driver'])):>11.2f}"
                f"{float(str(figures['peak_gb_child'])):>14.2f}"
                f"{float(str(figures['shuffle_mb'])):>12.2f}  "
                f"{'identical' if same else 'DIFFERENT'}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
