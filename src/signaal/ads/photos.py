"""Perceptual photo hashes (PDQ) and near-duplicate photo matching.

PDQ is the perceptual hash Meta released for trust-and-safety work: 256 bits that stay close under
re-encoding, resizing, small crops and watermarks, with a quality score (0-100) that says whether
the image has enough structure to be matched at all (flat or tiny images score low). Two hashes
within a Hamming distance of about 31 bits are conventionally treated as the same picture.

``hash_photos`` is the adapter that reads image files (in worker processes); the matching
functions below it are pure and work on the hex strings, so an engine can run them anywhere.

The hex form is the 256 bits packed most-significant bit first in the order ``pdqhash`` returns
them (64 hex characters).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from signaal.ads.graph import distinct
from signaal.ads.types import PhotoHash

#: Hashes at most this many bits apart are the same picture (Meta's recommended PDQ threshold).
DEFAULT_MAX_DISTANCE = 31
#: Images with a PDQ quality below this carry too little structure to link anything.
DEFAULT_MIN_QUALITY = 50
#: Longest side an image is reduced to before hashing (PDQ itself works on 64 x 64 blocks).
_MAX_SIDE = 512


@dataclass(frozen=True, slots=True)
class PhotoHashResult:
    """Hashes of the images that could be read, and the reason for every one that could not."""

    hashes: dict[Path, PhotoHash] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)


def hash_image(path: Path) -> PhotoHash:
    """PDQ hash of one image file; raises ``OSError``/``ValueError`` when it cannot be read."""
    import pdqhash
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        opened.draft("RGB", (_MAX_SIDE, _MAX_SIDE))  # fast JPEG decode at a reduced scale
        image = ImageOps.exif_transpose(opened)
        image = image.convert("RGB")
        if max(image.size) > _MAX_SIDE:
            image.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise ValueError("image has no pixels")
    bits, quality = pdqhash.compute(pixels)
    return PhotoHash(path=str(path), pdq=bits_to_hex(np.asarray(bits)), quality=int(quality))


def _hash_one(path: Path) -> tuple[Path, PhotoHash | None, str | None]:
    try:
        return path, hash_image(path), None
    except Exception as exc:  # one unreadable image must not stop the others
        return path, None, f"{type(exc).__name__}: {exc}"


def hash_photos(paths: Sequence[Path], *, workers: int = 1) -> PhotoHashResult:
    """PDQ hashes of the given image files; missing or corrupt files are reported per path.

    ``workers > 1`` hashes in that many processes (decoding and hashing are CPU-bound).
    The result does not depend on ``workers``.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    hashes: dict[Path, PhotoHash] = {}
    errors: dict[Path, str] = {}
    if workers <= 1 or len(unique) < 2 * workers:
        results = [_hash_one(p) for p in unique]
    else:
        chunksize = max(1, len(unique) // (workers * 8))
        with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as pool:
            results = list(pool.map(_hash_one, unique, chunksize=chunksize))
    for path, value, error in results:
        if value is not None:
            hashes[path] = value
        else:
            errors[path] = error or "unknown error"
    return PhotoHashResult(hashes=hashes, errors=errors)


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
