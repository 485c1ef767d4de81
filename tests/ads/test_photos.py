"""PDQ photo hashing: robust to re-encoding, resizing, small crops and watermarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from signaal.ads.photos import (
    DEFAULT_MAX_DISTANCE,
    hamming,
    hash_photos,
    near_duplicate_photos,
)


def _picture(seed: int, size: tuple[int, int] = (320, 400)) -> Image.Image:
    """A structured synthetic picture: smooth gradients plus random shapes (no real photos)."""
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
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse(
            (x0, y0, x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120))), fill=colour
        )
    return image


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("photos")
    original = _picture(1)
    paths: dict[str, Path] = {}

    def save(name: str, image: Image.Image, **kwargs: object) -> None:
        path = root / name
        image.save(path, **kwargs)
        paths[name.split(".")[0]] = path

    save("original.png", original)
    save("reencoded.jpg", original, quality=40)
    save("resized.jpg", original.resize((160, 200)), quality=85)
    w, h = original.size
    # PDQ tolerates small crops only (about 1-2 % per side); larger crops need other tools.
    save("cropped.png", original.crop((4, 5, w - 4, h - 5)))
    marked = original.copy()
    ImageDraw.Draw(marked).text((10, h - 30), "www.example.invalid", fill=(255, 255, 255))
    save("watermarked.png", marked)
    save("other.png", _picture(2))
    save("other2.jpg", _picture(3), quality=90)
    (root / "corrupt.jpg").write_bytes(b"not an image at all")
    paths["corrupt"] = root / "corrupt.jpg"
    paths["missing"] = root / "missing.jpg"
    return paths


def test_near_copies_are_within_the_threshold_and_other_pictures_far(
    variants: dict[str, Path],
) -> None:
    result = hash_photos([p for k, p in variants.items() if k not in {"corrupt", "missing"}])
    h = {k: result.hashes[p].pdq for k, p in variants.items() if p in result.hashes}
    for name in ("reencoded", "resized", "cropped", "watermarked"):
        assert hamming(h["original"], h[name]) <= DEFAULT_MAX_DISTANCE, name
    for name in ("other", "other2"):
        assert hamming(h["original"], h[name]) > 2 * DEFAULT_MAX_DISTANCE, name
    assert all(ph.quality >= 50 for ph in result.hashes.values())


def test_missing_and_corrupt_images_are_reported_not_raised(variants: dict[str, Path]) -> None:
    paths = [variants["original"], variants["corrupt"], variants["missing"]]
    result = hash_photos(paths)
    assert set(result.hashes) == {variants["original"]}
    assert set(result.errors) == {variants["corrupt"], variants["missing"]}
    assert all(result.errors.values())


def test_workers_give_the_same_hashes(variants: dict[str, Path]) -> None:
    paths = [p for k, p in variants.items() if k not in {"missing"}]
    assert hash_photos(paths, workers=2) == hash_photos(paths, workers=1)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = _picture(4)
    upright = tmp_path / "upright.jpg"
    image.save(upright, quality=95)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the pixels are stored rotated back
    image.rotate(90, expand=True).save(rotated, quality=95, exif=exif)
    result = hash_photos([upright, rotated])
    assert hamming(result.hashes[upright].pdq, result.hashes[rotated].pdq) <= DEFAULT_MAX_DISTANCE


def test_near_duplicate_search_finds_close_hashes_only() -> None:
    rng = np.random.default_rng(9)
    base = rng.integers(0, 2, 256)
    close = base.copy()
    close[rng.choice(256, 20, replace=False)] ^= 1
    far = rng.integers(0, 2, 256)
    hexes = [np.packbits(b.astype(np.uint8)).tobytes().hex() for b in (base, close, far)]
    pairs, distances = near_duplicate_photos(hexes)
    assert pairs.tolist() == [[0, 1]]
    assert distances.tolist() == [20]
