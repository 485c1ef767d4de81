"""PDQ photo hashing: robust to re-encoding, resizing, small crops and watermarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from signaal.ads.photos import (
    DEFAULT_MAX_DISTANCE,
    PhotoLimits,
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


def _png_of(width: int, height: int) -> bytes:
    from .test_hostile_input import big_png

    return big_png(width, height)


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    """144 megapixels in a file of a few hundred KB: refused from the header, never decoded."""
    import tracemalloc

    path = tmp_path / "bomb.png"
    path.write_bytes(_png_of(12_000, 12_000))
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    result = hash_photos([path])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "too many pixels: 12000 x 12000" in result.errors[path]
    assert peak < 50_000_000  # decoding would need 144 MB


def test_the_limits_refuse_and_never_warn(tmp_path: Path) -> None:
    path = tmp_path / "ok.png"
    _picture(5, (200, 100)).save(path)
    assert hash_photos([path]).hashes
    pixels = hash_photos([path], limits=PhotoLimits(max_pixels=19_999))
    assert "too many pixels: 200 x 100" in pixels.errors[path]
    size = path.stat().st_size
    small = hash_photos([path], limits=PhotoLimits(max_bytes=size - 1))
    assert small.errors[path].startswith(f"refused: too large: {size:,} bytes")


def test_a_slow_image_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    path = tmp_path / "slow.png"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (2000, 2000, 3), dtype=np.uint8)).save(path)
    result = hash_photos([path], limits=PhotoLimits(max_seconds=0.01))
    assert result.errors[path] == "TimeoutError: took longer than 0.01 s"
    assert hash_photos([path], limits=PhotoLimits(max_seconds=60)).hashes  # it is a fine image


def test_formats_other_than_jpeg_png_webp_gif_are_refused(tmp_path: Path) -> None:
    eps = tmp_path / "ghost.jpg"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    tiff = tmp_path / "image.tif"
    _picture(6, (64, 64)).save(tiff)
    result = hash_photos([eps, tiff])
    for path in (eps, tiff):
        assert "not an image in a permitted format" in result.errors[path]


def test_a_truncated_jpeg_is_reported(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jpg"
    _picture(7).save(whole, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:600])
    result = hash_photos([whole, cut])
    assert whole in result.hashes
    assert cut in result.errors


def test_with_a_root_only_files_inside_it_are_read(tmp_path: Path) -> None:
    inside = tmp_path / "corpus"
    inside.mkdir()
    _picture(8).save(inside / "a.jpg")
    _picture(8).save(tmp_path / "outside.jpg")
    (inside / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    paths = [inside / "a.jpg", inside / "link.jpg", inside / ".." / "outside.jpg"]
    result = hash_photos(paths, root=inside)
    assert set(result.hashes) == {inside / "a.jpg"}
    assert result.errors[inside / "link.jpg"] == "refused: outside the permitted folder"
    assert result.errors[inside / ".." / "outside.jpg"] == "refused: outside the permitted folder"
