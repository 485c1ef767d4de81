"""Photo hashing throughput per core (PDQ via pdqhash on Pillow-decoded images).

    .venv/bin/python bench/photos.py --images 400

Writes synthetic JPEG pictures (no real photos) of the synthetic corpus's size (256 x 320), then
measures in the same run: decoding alone with Pillow (the baseline: every hasher must at least
decode), ``hash_photos`` with one worker, and with one worker per core. Prints images per second,
per core, and the ratios to the decode-only baseline.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def picture(seed: int, size: tuple[int, int] = (256, 320)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack(
        [
            127 + 100 * np.sin(x / rng.uniform(15, 60) + rng.uniform(0, 6)),
            127 + 100 * np.cos(y / rng.uniform(15, 60) + rng.uniform(0, 6)),
            127 + 100 * np.sin((x + y) / rng.uniform(20, 80)),
        ],
        axis=-1,
    ).astype(np.uint8)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for _ in range(10):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        size_x, size_y = int(rng.integers(20, 120)), int(rng.integers(20, 120))
        draw.ellipse((x0, y0, x0 + size_x, y0 + size_y), fill=colour)
    return image


def decode_only(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            np.asarray(image.convert("RGB"))


def main() -> None:
    from signaal.ads.photos import hash_photos

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="signaal-photos-") as tmp:
        paths = []
        for i in range(args.images):
            path = Path(tmp) / f"{i:05d}.jpg"
            picture(i).save(path, quality=85)
            paths.append(path)
        t = time.perf_counter()
        decode_only(paths)
        t_decode = time.perf_counter() - t
        t = time.perf_counter()
        one = hash_photos(paths, workers=1)
        t_one = time.perf_counter() - t
        t = time.perf_counter()
        many = hash_photos(paths, workers=cores)
        t_many = time.perf_counter() - t
    assert one == many, "the number of workers must not change the hashes"
    n = args.images
    print(f"images: {n} JPEG 256 x 320; cores: {cores}; errors: {len(one.errors)}")
    print(f"{'step':<34} {'seconds':>8} {'images/s':>9} {'per core':>9} {'vs decode':>10}")
    rows = (
        ("decode only (baseline, 1 core)", t_decode, 1),
        ("hash_photos, 1 worker", t_one, 1),
        (f"hash_photos, {cores} workers", t_many, cores),
    )
    decode_rate = n / t_decode
    for label, seconds, used in rows:
        rate = n / seconds
        print(
            f"{label:<34} {seconds:>8.2f} {rate:>9.0f} {rate / used:>9.0f} "
            f"{rate / decode_rate:>9.2f}x"
        )


if __name__ == "__main__":
    sys.exit(main())
