"""Benchmark of the synthetic corpus generator (issue 3).

Prints ads/s for N ads without photos (default 1,000,000; target: under 120 s on a 2-core
machine, i.e. at least 8,334 ads/s) and photos/s with photos on a smaller corpus (target: at
least 200/s), each beside a baseline measured in the same run on the same machine:

- ads: writing the same records with plain ``orjson.dumps`` to a file (the floor of any JSON
  Lines writer), measured on a sample of the generated records;
- photos: encoding a plain image of the same size as JPEG with Pillow (the floor of any photo
  writer).

    .venv/bin/python bench/synth.py [--ads N] [--photo-ads N] [--workers W] [--preset NAME]
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from PIL import Image

from signaal.synth import generate
from signaal.synth.config import preset_config


def _baseline_json(corpus: Path, sample: int) -> float:
    with open(corpus / "ads.jsonl", "rb") as fh:
        records = [orjson.loads(line) for line in itertools.islice(fh, sample)]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        for r in records:
            out.write(orjson.dumps(r) + b"\n")
        elapsed = time.perf_counter() - start
    return len(records) / elapsed


def _baseline_jpeg(n: int, size: tuple[int, int]) -> float:
    img = Image.new("RGB", size, (120, 80, 60))
    start = time.perf_counter()
    for _ in range(n):
        img.save(io.BytesIO(), "JPEG", quality=80)
    return n / (time.perf_counter() - start)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=1_000_000)
    parser.add_argument("--photo-ads", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="default", help="market preset (default, hard)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="signaal-bench-synth-"))
    try:
        stages: dict[str, float] = {}
        t0 = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            if done >= total:
                stages[stage] = time.perf_counter() - t0

        start = time.perf_counter()
        cpu0 = _cpu()
        generate(
            preset_config(args.preset, seed=args.seed, ads=args.ads),
            tmp / "ads",
            workers=args.workers,
            progress=progress,
        )
        elapsed = time.perf_counter() - start
        cpu = _cpu() - cpu0
        rate = args.ads / elapsed
        base = _baseline_json(tmp / "ads", min(args.ads, 100_000))
        print(
            f"synth without photos: {args.ads:,} ads in {elapsed:.1f} s = {rate:,.0f} ads/s "
            f"({args.workers} workers; plan {stages.get('plan', 0):.1f} s, rendered at "
            f"{stages.get('ads', 0):.1f} s)"
        )
        print(
            f"  baseline orjson.dumps + write of the same records: {base:,.0f} records/s; "
            f"generator/baseline = {rate / base:.3f}"
        )
        print(
            f"  CPU time {cpu:.1f} s = {cpu / args.ads * 1e6:.0f} us/ad; on {args.workers} "
            f"otherwise idle cores at best about {cpu / args.workers:.1f} s, i.e. 1M ads in "
            f"{cpu / args.workers / args.ads * 1e6:.0f} s (other processes slow the wall clock)"
        )
        print(
            f"  target 1,000,000 ads in < 120 s (>= 8,334 ads/s): "
            f"{'met' if rate >= 8_334 else 'NOT met'} (projected 1M in {1e6 / rate:.0f} s)"
        )
        shutil.rmtree(tmp / "ads")

        stages.clear()
        t0 = time.perf_counter()
        cfg = preset_config(args.preset, seed=args.seed, ads=args.photo_ads, photos=True)
        cpu0 = _cpu()
        manifest = generate(cfg, tmp / "photos", workers=args.workers, progress=progress)
        cpu = _cpu() - cpu0
        photos = manifest.counts["photos"]
        photo_time = stages["photos"] - stages["ads"]
        prate = photos / photo_time
        jbase = _baseline_jpeg(500, cfg.photo_size)
        print(
            f"synth photos: {photos:,} photos for {args.photo_ads:,} ads in {photo_time:.1f} s "
            f"= {prate:,.0f} photos/s ({args.workers} workers)"
        )
        print(
            f"  baseline Pillow JPEG encode of a plain {cfg.photo_size[0]}x{cfg.photo_size[1]} "
            f"image (1 process): {jbase:,.0f}/s; generator/baseline = {prate / jbase:.3f}"
        )
        print(f"  CPU time of the whole photo corpus run (ads and photos): {cpu:.1f} s")
        print(f"  target >= 200 photos/s: {'met' if prate >= 200 else 'NOT met'}")
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
