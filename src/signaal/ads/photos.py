"""Perceptual photo hashes (PDQ) and near-duplicate photo matching.

PDQ is the perceptual hash Meta released for trust-and-safety work: 256 bits that stay close under
re-encoding, resizing, small crops and watermarks, with a quality score (0-100) that says whether
the image has enough structure to be matched at all (flat or tiny images score low). Two hashes
within a Hamming distance of about 31 bits are conventionally treated as the same picture.

``hash_photos`` is the adapter that reads image files (in worker processes); the matching
functions below it are pure and work on the hex strings, so an engine can run them anywhere.
``make_thumbnails`` reads the same files within the same limits and makes the small JPEG the app
store keeps of each (decoded as for hashing, so no metadata survives: EXIF, ICC, comments).

The hex form is the 256 bits packed most-significant bit first in the order ``pdqhash`` returns
them (64 hex characters).
"""

from __future__ import annotations

import io
import os
import signal
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from signaal.ads.files import FileRefused, read_contained
from signaal.ads.graph import components, distinct
from signaal.ads.types import PhotoHash
from signaal.engines.local import LocalEngine

#: Hashes at most this many bits apart are the same picture (Meta's recommended PDQ threshold).
DEFAULT_MAX_DISTANCE = 31
#: Images with a PDQ quality below this carry too little structure to link anything.
DEFAULT_MIN_QUALITY = 50
#: Longest side an image is reduced to before hashing (PDQ itself works on 64 x 64 blocks).
_MAX_SIDE = 512
#: The image formats read (Pillow's other plugins, e.g. EPS through Ghostscript, are refused).
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    """Limits that refuse an image (they never merely warn): a refused image is reported, the
    ad and the run go on. Pixels are counted from the header, before anything is decoded."""

    max_bytes: int = 25_000_000
    max_pixels: int = 40_000_000
    max_seconds: float = 10.0


DEFAULT_LIMITS = PhotoLimits()


@dataclass(frozen=True, slots=True)
class PhotoHashResult:
    """Hashes of the images that could be read, and the reason for every one that could not."""

    hashes: dict[Path, PhotoHash] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)


def hash_image(
    path: Path, *, root: Path | None = None, limits: PhotoLimits = DEFAULT_LIMITS
) -> PhotoHash:
    """PDQ hash of one image file; raises ``FileRefused``, ``OSError`` or ``ValueError`` when
    it cannot or may not be read.

    With ``root``, only a regular file inside ``root`` is read (see ``files.open_contained``);
    without it, ``path`` must still be a regular file (no FIFO, device or folder).
    """
    import pdqhash

    data = (
        read_contained(path.parent, path, limits.max_bytes)
        if root is None
        else read_contained(root, path, limits.max_bytes)
    )
    with _time_limit(limits.max_seconds):
        pixels = _pixels(data, limits)
        bits, quality = pdqhash.compute(pixels)
    return PhotoHash(path=str(path), pdq=bits_to_hex(np.asarray(bits)), quality=int(quality))


def _pixels(data: bytes, limits: PhotoLimits) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; ours refuses (below).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            opened = Image.open(io.BytesIO(data), formats=PHOTO_FORMATS)
        except UnidentifiedImageError as exc:
            raise ValueError(
                f"not an image in a permitted format ({', '.join(PHOTO_FORMATS)})"
            ) from exc
    with opened:
        width, height = opened.size
        if width * height > limits.max_pixels:
            raise ValueError(
                f"too many pixels: {width} x {height} (limit {limits.max_pixels:,} pixels)"
            )
        opened.draft("RGB", (_MAX_SIDE, _MAX_SIDE))  # fast JPEG decode at a reduced scale
        image = ImageOps.exif_transpose(opened)
        image = image.convert("RGB")
        if max(image.size) > _MAX_SIDE:
            image.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError("image has no pixels")
    return pixels


class _TimeLimit:
    """Raises ``TimeoutError`` in the main thread when a block runs longer than allowed (through
    ``SIGALRM``; elsewhere, and off POSIX, the block runs without a limit). Decoding is a Python
    loop over blocks of the file in Pillow, so the signal is handled between blocks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = False
        self.previous: Any = None

    def _expired(self, signum: int, frame: object) -> None:
        if self.active:
            self.active = False
            raise TimeoutError(f"took longer than {self.seconds:g} s")

    def __enter__(self) -> None:
        usable = (
            hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )
        if not usable or self.seconds <= 0:
            return
        self.previous = signal.signal(signal.SIGALRM, self._expired)
        self.active = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.previous is None:
            return
        self.active = False  # a signal arriving from now on is ignored
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        self.previous = None


def _time_limit(seconds: float) -> _TimeLimit:
    return _TimeLimit(seconds)


def _hash_one(
    path: Path, root: Path | None, limits: PhotoLimits
) -> tuple[Path, PhotoHash | None, str | None]:
    try:
        return path, hash_image(path, root=root, limits=limits), None
    except FileRefused as exc:
        return path, None, exc.reason if exc.reason == "missing" else f"refused: {exc.reason}"
    except Exception as exc:  # one unreadable image must not stop the others
        return path, None, f"{type(exc).__name__}: {exc}"


_Hashed = tuple[Path, PhotoHash | None, str | None]


class ItemEngine(Protocol):
    """What hashing photos needs of an engine: a function over many small items, in order."""

    def map_items(
        self, function: Callable[[Path], _Hashed], items: Sequence[Path]
    ) -> list[_Hashed]: ...


def hash_photos(
    paths: Sequence[Path],
    *,
    workers: int = 1,
    root: Path | None = None,
    limits: PhotoLimits = DEFAULT_LIMITS,
    engine: ItemEngine | None = None,
) -> PhotoHashResult:
    """PDQ hashes of the given image files; missing, refused or corrupt files are reported per
    path (``errors``). With ``root``, only regular files inside it are read.

    ``workers > 1`` hashes in that many processes (decoding and hashing are CPU-bound); an
    ``engine`` (the Spark engine's executors) instead of the local processes. The result does
    not depend on ``workers`` or the engine.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    hashes: dict[Path, PhotoHash] = {}
    errors: dict[Path, str] = {}
    one = partial(_hash_one, root=root, limits=limits)
    items = engine or LocalEngine(max(1, min(workers, os.cpu_count() or 1)))
    results = items.map_items(one, unique)
    for path, value, error in results:
        if value is not None:
            hashes[path] = value
        else:
            errors[path] = error or "unknown error"
    return PhotoHashResult(hashes=hashes, errors=errors)


#: Longest side of a stored thumbnail, and its JPEG quality.
THUMBNAIL_SIDE = 240
THUMBNAIL_QUALITY = 80


def thumbnail(
    path: Path, *, root: Path, limits: PhotoLimits = DEFAULT_LIMITS, side: int = THUMBNAIL_SIDE
) -> bytes:
    """A JPEG of at most ``side`` pixels a side of the image at ``path`` (inside ``root``), made
    from the pixels the photo stage hashes (same byte, pixel and time limits); raises like
    :func:`hash_image`. Only the pixels are encoded: no EXIF, no ICC profile, no comment."""
    from PIL import Image

    data = read_contained(root, path, limits.max_bytes)
    with _time_limit(limits.max_seconds):
        pixels = _pixels(data, limits)
    image = Image.fromarray(pixels, mode="RGB")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def _thumbnail_one(path: Path, root: Path, limits: PhotoLimits) -> tuple[Path, bytes | None]:
    try:
        return path, thumbnail(path, root=root, limits=limits)
    except Exception:  # one unreadable image must not stop the others (its ad is kept)
        return path, None


def make_thumbnails(
    paths: Sequence[Path], *, root: Path, limits: PhotoLimits = DEFAULT_LIMITS, workers: int = 1
) -> dict[Path, bytes]:
    """The thumbnails of the given image files inside ``root``; a file that cannot or may not be
    read has none (the photo stage has already reported it)."""
    unique = list(dict.fromkeys(Path(p) for p in paths))
    one = partial(_thumbnail_one, root=root, limits=limits)
    engine = LocalEngine(max(1, min(workers, os.cpu_count() or 1)))
    return {path: data for path, data in engine.map_items(one, unique) if data is not None}


def photo_clusters(
    hexes: Sequence[str], qualities: Sequence[int], *, max_distance: int, min_quality: int
) -> list[int | None]:
    """For each photo, the number of its cluster: photos whose PDQ hashes are the same or within
    ``max_distance`` bits, connected (as the link stage groups them); None for a photo below
    ``min_quality`` (too little structure to match anything)."""
    index: dict[str, int] = {}
    for pdq, quality in zip(hexes, qualities, strict=True):
        if quality >= min_quality:
            index.setdefault(pdq.lower(), len(index))
    distinct_hexes = sorted(index, key=index.__getitem__)
    pairs, _ = near_duplicate_photos(distinct_hexes, max_distance=max_distance)
    labels = components(len(distinct_hexes), pairs)
    return [
        int(labels[index[pdq.lower()]]) if quality >= min_quality else None
        for pdq, quality in zip(hexes, qualities, strict=True)
    ]


def bits_to_hex(bits: npt.NDArray[np.integer]) -> str:
    """256 bits (0/1 values) as 64 hex characters."""
    if bits.size != 256:
        raise ValueError(f"a PDQ hash has 256 bits, got {bits.size}")
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hex_to_words(hexes: Sequence[str]) -> npt.NDArray[np.uint64]:
    """Hex PDQ hashes as an n x 4 array of 64-bit words (for vectorised Hamming distances)."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(hexes))
    if len(raw) != 32 * len(hexes):
        raise ValueError("every PDQ hash must be 64 hex characters")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(hexes), 4)


def hamming(a: str, b: str) -> int:
    """Hamming distance in bits between two hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _popcount64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = np.bitwise_count(x).astype(np.int64)
    return out


def near_duplicate_photos(
    hexes: Sequence[str], *, max_distance: int = DEFAULT_MAX_DISTANCE, chunk_bits: int = 16
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs ``(i, j), i < j`` of distinct hashes within ``max_distance`` bits, with the distance.

    Candidates come from multi-index hashing: the 256 bits are cut into ``256 / chunk_bits`` chunks
    and hashes that agree exactly on one chunk are compared. With 16 chunks every pair within 15
    bits is guaranteed to be found (pigeonhole); pairs at 16-31 bits are found unless every chunk
    has a flipped bit, which perceptual near-duplicates (a few clustered flips) practically never
    do. The input should hold distinct hashes (identical hashes are matched by the caller).
    """
    words = hex_to_words(hexes)
    n = words.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    per_word = 64 // chunk_bits
    mask = np.uint64((1 << chunk_bits) - 1)
    ids = np.arange(n, dtype=np.int64)
    pieces: list[npt.NDArray[np.int64]] = []
    for w in range(4):
        for c in range(per_word):
            key = (words[:, w] >> np.uint64(c * chunk_bits)) & mask
            order = np.lexsort((ids, key))
            k, ii = key[order], ids[order]
            boundaries = np.flatnonzero(np.diff(k)) + 1
            starts = np.concatenate(([0], boundaries))
            sizes = np.diff(np.concatenate((starts, [k.size])))
            for size in np.unique(sizes[sizes >= 2]):
                s = starts[sizes == size]
                iu, ju = np.triu_indices(int(size), k=1)
                left = ii[s[:, None] + iu[None, :]].ravel()
                right = ii[s[:, None] + ju[None, :]].ravel()
                pieces.append(np.stack((left, right), axis=1))
    if not pieces:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    both = np.concatenate(pieces)
    keys = distinct(np.minimum(both[:, 0], both[:, 1]) * n + np.maximum(both[:, 0], both[:, 1]))
    pairs = np.stack((keys // n, keys % n), axis=1)
    distance = _popcount64(words[pairs[:, 0]] ^ words[pairs[:, 1]]).sum(axis=1)
    keep = distance <= max_distance
    return pairs[keep], distance[keep]
