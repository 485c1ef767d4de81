"""Speed of the ads pipeline on a synthetic corpus, as ratios to a baseline measured in this run.

    .venv/bin/python bench/speed.py                      # 1,000,000 ads (target: <= 120 s, <= 6 GB)
    .venv/bin/python bench/speed.py --ads 100000 --workers 2 --preset hard
    .venv/bin/python bench/speed.py --sizes 100000,300000,1000000 --presets default,hard

With ``--sizes``/``--presets`` every (preset, size) is measured in a process of its own (so that
peak memory is that run's) and a table compares them: wall time, the ratio to the same run's
orjson baseline (target <= 50x), peak memory and the cost per ad, which must not grow with the
corpus. The machine's load average is printed before and after: shared machines are noisy.

The corpus is generated with ``signaal.synth`` (without photos) and cached under
``--data-dir`` (default: the system temp folder), so a second run measures only the analysis.
Prints:

- the baseline: plain ``orjson`` parsing of the same file, in one process;
- the whole pipeline (read -> normalise -> indicators -> link -> movement -> risk, plus writing
  the CSV tables), in process, wall time and peak memory (this process plus its largest worker);
- ads/s per stage: per-ad stages as CPU seconds summed over the workers and the main process's
  share (decoding every line to find reposts, reading and reusing reposts), per core;
  whole-corpus stages as wall time;
- photo hashing throughput per core (on a small corpus with photo files), and the comparison of
  near-duplicate text linking with a plain ``datasketch`` MinHashLSH when the link stage's
  benchmark (``bench/textlink.py``) is present.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson

TARGET_SECONDS = 120.0
TARGET_GB = 6.0
TARGET_RATIO = 50.0


def corpus(
    n_ads: int, seed: int, data_dir: Path, *, photos: bool = False, preset: str = "default"
) -> Path:
    """The corpus folder for (n_ads, seed, preset), generated once and reused."""
    from signaal.synth import generate
    from signaal.synth.config import preset_config

    suffix = ("-photos" if photos else "") + ("" if preset == "default" else f"-{preset}")
    folder = data_dir / f"synth-{n_ads}-{seed}{suffix}"
    manifest = folder / "manifest.json"
    if manifest.exists() and (folder / "ads.jsonl").exists():
        return folder
    started = time.perf_counter()
    print(f"generating {n_ads:,} ads ({preset} preset) into {folder} …", flush=True)
    config = preset_config(preset, seed=seed, ads=n_ads, photos=photos)
    generate(config, folder, workers=os.cpu_count())
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def peak_memory_gb() -> tuple[float, float]:
    """(this process, largest child) peak resident memory in GB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return own, children


def baseline(path: Path) -> tuple[int, float]:
    """Plain orjson parsing of every line, one process: (lines, seconds)."""
    started = time.perf_counter()
    count = 0
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)
            count += 1
    return count, time.perf_counter() - started


def pipeline(path: Path, workers: int) -> dict[str, object]:
    from signaal.ads.outputs import build_tables, write_tables
    from signaal.ads.pipeline import PipelineConfig, run_file

    config = PipelineConfig(pseudonym_key="bench-key", workers=workers, photos=False)
    started = time.perf_counter()
    result = run_file(path, config)
    analysed = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        written = time.perf_counter()
        tables = build_tables(result, pseudonym_key="bench-key")
        write_tables(tables, Path(out))
        writing = time.perf_counter() - written
    return {
        "ads": len(result.ads),
        "personas": len(tables.personas),
        "networks": len(tables.networks),
        "quarantined": len(result.quarantined),
        "analyse_seconds": analysed,
        "write_seconds": writing,
        "wall_seconds": analysed + writing,
        "timings": result.timings,
    }


def _bench_module(name: str) -> object | None:
    """A sibling benchmark module (the link stage's), or None when it is not there."""
    bench_dir = Path(__file__).resolve().parent
    if not (bench_dir / f"{name}.py").exists():
        return None
    if str(bench_dir) not in sys.path:
        sys.path.insert(0, str(bench_dir))
    return importlib.import_module(name)


def photo_throughput(data_dir: Path, seed: int) -> None:
    """Photo hashing per core: the link stage's bench/photos.py, else a small synthetic corpus."""
    module = _bench_module("photos")
    if module is not None:
        argv = sys.argv
        sys.argv = ["photos.py", "--images", "400"]
        try:
            module.main()  # type: ignore[attr-defined]
        finally:
            sys.argv = argv
        return
    from signaal.ads.photos import hash_photos

    folder = corpus(300, seed, data_dir, photos=True)
    paths = sorted((folder / "photos").rglob("*.jpg")) + sorted((folder / "photos").rglob("*.png"))
    if not paths:
        print("photo hashing: no photo files in the corpus")
        return
    started = time.process_time()
    result = hash_photos(paths, workers=1)
    cpu = time.process_time() - started
    print(
        f"photo hashing: {len(result.hashes):,} photos, {len(result.hashes) / cpu:,.0f}/s per core"
    )


def text_linking(data_dir: Path, n_ads: int) -> None:
    """Near-duplicate text linking against datasketch (the link stage's bench/textlink.py)."""
    module = _bench_module("textlink")
    if module is None:
        print("text linking vs datasketch: bench/textlink.py (the link stage's benchmark) absent")
        return
    folder = corpus(n_ads, 7, data_dir)
    module.run(folder)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ads", type=int, default=1_000_000, help="corpus size (ads)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "signaal-bench",
        help="where generated corpora are cached",
    )
    parser.add_argument("--preset", default="default", help="market preset of the corpus")
    parser.add_argument(
        "--sizes", help="comma-separated corpus sizes: one measurement per size and preset"
    )
    parser.add_argument("--presets", default="default", help="comma-separated presets (--sizes)")
    parser.add_argument("--skip-extras", action="store_true", help="only the pipeline figures")
    parser.add_argument(
        "--text-ads",
        type=int,
        default=20_000,
        help="corpus size of the text-linking comparison (the datasketch baseline is slow)",
    )
    args = parser.parse_args()
    if args.sizes:
        compare(args)
        return

    folder = corpus(args.ads, args.seed, args.data_dir, preset=args.preset)
    path = folder / "ads.jsonl"
    size_mb = path.stat().st_size / 1e6
    print(
        f"corpus: {path} ({size_mb:,.0f} MB, {args.preset} preset), {args.workers} worker(s), "
        f"{os.cpu_count()} cores"
    )

    lines, base_seconds = baseline(path)
    base_rate = lines / base_seconds
    print(f"baseline  orjson parse, 1 process: {base_seconds:7.2f} s  {base_rate:>10,.0f} ads/s")

    figures = pipeline(path, args.workers)
    wall = float(figures["wall_seconds"])  # type: ignore[arg-type]
    n = int(figures["ads"])  # type: ignore[call-overload]
    own, child = peak_memory_gb()
    print(
        f"pipeline  {n:,} ads -> {figures['personas']:,} personas, "
        f"{figures['networks']:,} networks ({figures['quarantined']} quarantined)"
    )
    print(
        f"  wall {wall:7.2f} s  ({wall / base_seconds:.1f} x baseline; analyse "
        f"{figures['analyse_seconds']:.2f} s + write CSV {figures['write_seconds']:.2f} s)  "
        f"{n / wall:,.0f} ads/s"
    )
    print(
        f"  peak memory: {own:.2f} GB main process, {child:.2f} GB largest worker "
        f"(<= {own + child:.2f} GB together)"
    )
    print("  per stage:")
    for timing in figures["timings"]:  # type: ignore[attr-defined]
        per_ad = timing.stage in ("read", "normalise", "indicators")
        seconds = timing.cpu_seconds if per_ad else timing.wall_seconds
        rate = timing.items / seconds if seconds > 0 else float("inf")
        kind = "CPU s, all procs" if per_ad else "wall s"
        print(
            f"    {timing.stage:<20} {seconds:8.2f} {kind:<18} {rate:>12,.0f} ads/s"
            f"{' per core' if per_ad else ''}  ({rate / base_rate:.2f} x baseline)"
        )
    if args.ads == 1_000_000:
        ok_time = "OK" if wall <= TARGET_SECONDS else "MISSED"
        ok_mem = "OK" if own + child <= TARGET_GB else "MISSED"
        print(
            f"  target 1M ads <= {TARGET_SECONDS:.0f} s: {ok_time}; <= {TARGET_GB:.0f} GB: {ok_mem}"
        )
    if not args.skip_extras:
        print("\nphoto hashing (bench/photos.py):", flush=True)
        photo_throughput(args.data_dir, args.seed)
        print(f"\ntext linking on {args.text_ads:,} ads (bench/textlink.py):", flush=True)
        text_linking(args.data_dir, args.text_ads)
    print(
        json.dumps(
            {
                "ads": n,
                "wall_seconds": round(wall, 2),
                "baseline_seconds": round(base_seconds, 2),
                "peak_gb_main": round(own, 2),
                "peak_gb_worker": round(child, 2),
            }
        )
    )


def compare(args: argparse.Namespace) -> None:
    """Measure every (preset, size) in a process of its own and print one table."""
    import subprocess

    sizes = [int(size) for size in args.sizes.split(",")]
    presets = [preset.strip() for preset in args.presets.split(",")]
    before = os.getloadavg()
    rows = []
    for preset in presets:
        for size in sizes:
            corpus(size, args.seed, args.data_dir, preset=preset)  # generated outside the timing
            command = [
                sys.executable,
                __file__,
                "--ads",
                str(size),
                "--seed",
                str(args.seed),
                "--workers",
                str(args.workers),
                "--preset",
                preset,
                "--data-dir",
                str(args.data_dir),
                "--skip-extras",
            ]
            print(f"measuring {size:,} ads, {preset} preset …", flush=True)
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((preset, size, figures))
    after = os.getloadavg()
    print(
        f"\n{'preset':<9}{'ads':>11}{'wall s':>9}{'orjson s':>10}{'ratio':>8}"
        f"{'peak GB':>9}{'µs/ad':>8}  targets (1M: <= {TARGET_SECONDS:.0f} s, "
        f"<= {TARGET_GB:.0f} GB, <= {TARGET_RATIO:.0f}x)"
    )
    for preset, size, figures in rows:
        wall = figures["wall_seconds"]
        ratio = wall / figures["baseline_seconds"]
        peak = figures["peak_gb_main"] + figures["peak_gb_worker"]
        verdict = ""
        if size == 1_000_000:
            missed = [
                name
                for name, ok in (
                    ("time", wall <= TARGET_SECONDS),
                    ("memory", peak <= TARGET_GB),
                    ("ratio", ratio <= TARGET_RATIO),
                )
                if not ok
            ]
            verdict = "OK" if not missed else "MISSED " + ", ".join(missed)
        print(
            f"{preset:<9}{size:>11,}{wall:>9.1f}{figures['baseline_seconds']:>10.2f}"
            f"{ratio:>7.1f}x{peak:>9.2f}{wall / figures['ads'] * 1e6:>8.1f}  {verdict}"
        )
    for preset in presets:
        costs = [(size, f["wall_seconds"] / f["ads"]) for p, size, f in rows if p == preset]
        if len(costs) > 1:
            growth = costs[-1][1] / costs[0][1]
            print(
                f"{preset}: cost per ad at {costs[-1][0]:,} ads is {growth:.2f}x that at "
                f"{costs[0][0]:,} (1.00 = linear)"
            )
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in before)
        + "; after "
        + ", ".join(f"{x:.2f}" for x in after)
    )


if __name__ == "__main__":
    main()
