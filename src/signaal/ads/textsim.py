"""Near-duplicate ad texts: masking, word shingles, MinHash and LSH, vectorised with numpy.

Why masking: a network re-uses one text template for several personas and changes only the slots
(name, city, age, prices, phone). Replacing those slots by placeholders before shingling makes the
template visible; the same masking makes two unrelated ads that merely share a city or a price
no more similar.

The steps, each a pure function over arrays so that an engine can run them per partition:

1. ``shingle_hashes``: every text is lower-cased, contact points (e-mail addresses, web addresses,
   ``@handles``, phone spans found by the normaliser) are removed, words are split, numbers become
   ``<num>``, advertised names become ``<name>``, places become ``<place>``; then every run of
   ``shingle_size`` consecutive words is hashed to 32 bits (CRC-32 per distinct word, combined
   arithmetically, so the same text always gives the same shingles whatever the corpus).
2. ``minhash``: ``num_perm`` affine hash functions ``a * fmix32(x) + b mod 2**32`` (odd ``a``: a
   bijection; datasketch 2's default scheme, bit-identical to it), minimum over each text's
   shingles, computed for all texts at once with ``np.minimum.reduceat`` in chunks.
3. ``near_duplicate_pairs``: the signature is cut into ``bands`` bands of ``rows`` rows; texts that
   agree on a whole band are candidates; every candidate pair is verified by the estimated Jaccard
   similarity (share of equal signature positions) ``>= threshold``.

Banding: with ``b`` bands of ``r`` rows a pair of Jaccard ``s`` becomes a candidate with probability
``1 - (1 - s**r)**b``. The default ``b = 16, r = 4`` (64 permutations) puts the 50 % point at
``(1/b)**(1/r) = 0.5`` and finds a pair of Jaccard 0.6 with probability 0.88 and 0.7 with 0.99,
while a pair of Jaccard 0.3 becomes a candidate with probability 0.12 and is then rejected by the
verification step.

Identical masked texts (reposts) are collapsed before LSH: a repost links to the first ad with the
same masked text; LSH then runs over distinct texts only, so a text posted a hundred times costs one
signature, not 4,950 candidate pairs.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_HASH = np.uint64((1 << 32) - 1)

NAME_TOKEN = "<name>"  # noqa: S105 (a placeholder word, not a secret)
PLACE_TOKEN = "<place>"  # noqa: S105
NUMBER_TOKEN = "<num>"  # noqa: S105

_CONTACT_RE = re.compile(
    r"\S+@\S+\.\S+|https?://\S+|www\.\S+|@[\w.]+|\+?\d[\d\s().-]{6,}\d", re.UNICODE
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_DIGIT_RE = re.compile(r"\d")

# Odd 64-bit multipliers that mix the word hashes of one shingle position-dependently.
_MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xD6E8FEB86659FD93),
    np.uint64(0xFF51AFD7ED558CCD),
)


@dataclass(frozen=True, slots=True)
class TextSimConfig:
    """Parameters of near-duplicate text detection (see the module docstring for the banding)."""

    shingle_size: int = 3
    num_perm: int = 64
    bands: int = 16
    rows: int = 4
    threshold: float = 0.5
    seed: int = 1
    min_shingles: int = 3  # shorter texts carry too little to call them a shared template

    def __post_init__(self) -> None:
        if self.bands * self.rows != self.num_perm:
            raise ValueError(
                f"bands * rows must equal num_perm ({self.bands} * {self.rows} != {self.num_perm})"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 1 <= self.shingle_size <= len(_MIX):
            raise ValueError(f"shingle_size must be 1..{len(_MIX)}, got {self.shingle_size}")


def fold(text: str) -> str:
    """Lower-case and strip accents cheaply enough for names and places (``Zoë`` -> ``zoe``)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class ShingleHasher:
    """Turns texts into arrays of 32-bit shingle hashes; caches the hash of every distinct word."""

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        places: Iterable[str] = (),
        shingle_size: int = 3,
    ) -> None:
        self.shingle_size = shingle_size
        self._cache: dict[str, int] = {}
        name_hash = zlib.crc32(NAME_TOKEN.encode())
        place_hash = zlib.crc32(PLACE_TOKEN.encode())
        for place in places:
            for word in _WORD_RE.findall(fold(place)):
                self._cache[word] = place_hash
        # Names win over places: "Lisse" as a name is masked the same way either way.
        for name in names:
            for word in _WORD_RE.findall(fold(name)):
                self._cache[word] = name_hash
        self._number_hash = zlib.crc32(NUMBER_TOKEN.encode())

    def _word_hash(self, word: str) -> int:
        value = self._cache.get(word)
        if value is None:
            value = self._number_hash if _DIGIT_RE.search(word) else zlib.crc32(word.encode())
            self._cache[word] = value
        return value

    def words(self, text: str, extra_masks: Sequence[tuple[int, int]] = ()) -> list[int]:
        """The word hashes of one text, contact points and ``extra_masks`` spans removed."""
        if extra_masks:
            parts = []
            last = 0
            for start, end in sorted(extra_masks):
                if start >= last:
                    parts.append(text[last:start])
                    last = end
            parts.append(text[last:])
            text = " ".join(parts)
        text = _CONTACT_RE.sub(" ", text.lower())
        cache = self._cache
        out = []
        for word in _WORD_RE.findall(text):
            value = cache.get(word)
            out.append(self._word_hash(word) if value is None else value)
        return out

    def shingles(self, word_hashes: Sequence[int]) -> npt.NDArray[np.uint32]:
        """Distinct 32-bit hashes of the word ``shingle_size``-grams (all words if shorter)."""
        k = self.shingle_size
        arr = np.asarray(word_hashes, dtype=np.uint64)
        if arr.size == 0:
            return np.zeros(0, dtype=np.uint32)
        if arr.size < k:
            k = int(arr.size)
        n = arr.size - k + 1
        acc = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            acc = acc * _MIX[j] + arr[j : j + n]  # wraps mod 2**64 on purpose
        acc ^= acc >> np.uint64(29)
        return np.unique((acc & MAX_HASH).astype(np.uint32))


def shingle_hashes(
    texts: Sequence[str],
    *,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    shingle_size: int = 3,
    masks: Sequence[Sequence[tuple[int, int]]] | None = None,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """All texts' shingle hashes concatenated, and the start offset of each text (length n + 1)."""
    hasher = ShingleHasher(names=names, places=places, shingle_size=shingle_size)
    pieces: list[npt.NDArray[np.uint32]] = []
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts):
        sh = hasher.shingles(hasher.words(text, masks[i] if masks is not None else ()))
        pieces.append(sh)
        offsets[i + 1] = offsets[i] + sh.size
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    return flat, offsets


def permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The ``a`` (odd) and ``b`` parameters of the affine hashes, drawn as datasketch does."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The MurmurHash3 finalizer: a fixed bijection that spreads structured 32-bit inputs."""
    hv = values ^ (values >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    out: npt.NDArray[np.uint32] = hv ^ (hv >> np.uint32(16))
    return out


def minhash(
    shingles: npt.NDArray[np.uint32],
    offsets: npt.NDArray[np.int64],
    *,
    num_perm: int = 64,
    seed: int = 1,
    chunk: int = 1 << 16,
) -> npt.NDArray[np.uint32]:
    """MinHash signatures (n x num_perm, uint32); a text without shingles gets all ``2**32 - 1``.

    The permutation scheme is datasketch's default ("affine32"): the shingle hash is pre-mixed
    with ``fmix32`` and then mapped by ``a * h + b mod 2**32`` with odd ``a`` (a bijection, so the
    permutation adds no collisions). The result is bit-identical to ``datasketch.MinHash`` with the
    same seed fed the same 32-bit shingle hashes. All texts are processed at once: shingles in
    chunks of whole texts, each chunk hashed by all permutations as one array and reduced per
    text with ``np.minimum.reduceat``.
    """
    n = offsets.size - 1
    out = np.full((n, num_perm), np.uint32(MAX_HASH), dtype=np.uint32)
    if n == 0 or shingles.size == 0:
        return out
    a, b = permutations(num_perm, seed)
    mixed = fmix32(shingles.astype(np.uint32))
    lengths = np.diff(offsets)
    start_text = 0
    while start_text < n:
        # Grow the chunk by whole texts until it holds about ``chunk`` shingles.
        limit = offsets[start_text] + chunk
        end_text = int(np.searchsorted(offsets, limit, side="right")) - 1
        end_text = min(max(end_text, start_text + 1), n)
        lo, hi = int(offsets[start_text]), int(offsets[end_text])
        if hi > lo:
            hv = mixed[lo:hi, None] * a[None, :] + b[None, :]  # wraps mod 2**32 on purpose
            sub_lengths = lengths[start_text:end_text]
            nonempty = np.flatnonzero(sub_lengths)
            starts = (offsets[start_text:end_text] - lo)[nonempty]
            out[start_text + nonempty] = np.minimum.reduceat(hv, starts, axis=0)
        start_text = end_text
    return out


def estimated_jaccard(sig_a: npt.NDArray[np.uint32], sig_b: npt.NDArray[np.uint32]) -> float:
    """Share of equal positions of two signatures: an unbiased estimate of the Jaccard index."""
    return float(np.mean(sig_a == sig_b))


def _band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per text and band (n x bands): a hash of the band's rows."""
    n = signatures.shape[0]
    sig = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    acc = np.zeros((n, bands), dtype=np.uint64)
    for r in range(rows):
        acc = acc * _MIX[r % len(_MIX)] + sig[:, :, r]
        acc ^= acc >> np.uint64(31)
    return acc


def candidate_pairs(
    signatures: npt.NDArray[np.uint32], *, bands: int, rows: int, max_bucket: int = 2000
) -> npt.NDArray[np.int64]:
    """Distinct pairs ``(i, j), i < j`` that agree on at least one band (k x 2 array).

    A bucket with more than ``max_bucket`` texts is a boiler-plate text shared by very many ads;
    its members are chained in order (i with i+1) instead of paired all-to-all, which keeps them
    connected without a quadratic number of pairs.
    """
    n = signatures.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    keys = _band_keys(signatures, bands, rows)
    empty = np.all(signatures == np.uint32(MAX_HASH), axis=1)
    pieces: list[npt.NDArray[np.int64]] = []
    ids = np.arange(n, dtype=np.int64)
    for band in range(bands):
        k = keys[:, band]
        valid = ~empty
        kk, ii = k[valid], ids[valid]
        order = np.lexsort((ii, kk))
        kk, ii = kk[order], ii[order]
        if kk.size < 2:
            continue
        boundaries = np.flatnonzero(np.diff(kk)) + 1
        starts = np.concatenate(([0], boundaries))
        ends = np.concatenate((boundaries, [kk.size]))
        sizes = ends - starts
        multi = sizes >= 2
        starts, sizes = starts[multi], sizes[multi]
        if starts.size == 0:
            continue
        # All pairs inside small buckets, vectorised by bucket size.
        small = sizes <= max_bucket
        for size in np.unique(sizes[small]):
            s = starts[small][sizes[small] == size]
            iu, ju = np.triu_indices(int(size), k=1)
            left = ii[s[:, None] + iu[None, :]].ravel()
            right = ii[s[:, None] + ju[None, :]].ravel()
            pieces.append(np.stack((left, right), axis=1))
        for s, size in zip(starts[~small], sizes[~small], strict=True):
            members = ii[s : s + size]
            pieces.append(np.stack((members[:-1], members[1:]), axis=1))
    if not pieces:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(pieces)
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs, axis=0)


def near_duplicate_pairs(
    signatures: npt.NDArray[np.uint32], config: TextSimConfig
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Verified near-duplicate pairs ``(i, j)`` and their estimated Jaccard similarity."""
    pairs = candidate_pairs(signatures, bands=config.bands, rows=config.rows)
    if pairs.size == 0:
        return pairs, np.zeros(0, dtype=np.float64)
    sims = np.empty(pairs.shape[0], dtype=np.float64)
    step = 1 << 16
    for lo in range(0, pairs.shape[0], step):
        p = pairs[lo : lo + step]
        sims[lo : lo + step] = np.mean(signatures[p[:, 0]] == signatures[p[:, 1]], axis=1)
    keep = sims >= config.threshold
    return pairs[keep], sims[keep]


@dataclass(frozen=True, slots=True)
class TextLinks:
    """Near-duplicate text pairs over the input texts (indices into the input)."""

    pairs: npt.NDArray[np.int64]  # k x 2, i < j
    similarity: npt.NDArray[np.float64]  # estimated Jaccard of each pair (1.0 for identical)
    usable: npt.NDArray[np.bool_]  # texts with at least ``min_shingles`` shingles


def text_links(
    texts: Sequence[str],
    *,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    masks: Sequence[Sequence[tuple[int, int]]] | None = None,
    config: TextSimConfig | None = None,
) -> TextLinks:
    """Near-duplicate pairs among ``texts`` after masking (see the module docstring).

    Texts with identical shingle sets are linked to the first of them (similarity 1.0); the
    distinct shingle sets go through MinHash and LSH.
    """
    cfg = config or TextSimConfig()
    flat, offsets = shingle_hashes(
        texts, names=names, places=places, shingle_size=cfg.shingle_size, masks=masks
    )
    n = len(texts)
    lengths = np.diff(offsets)
    usable = lengths >= cfg.min_shingles
    # Collapse identical shingle sets: a 64-bit digest of each set (sorted, distinct already).
    digest = np.zeros(n, dtype=np.uint64)
    if flat.size:
        mixed = flat.astype(np.uint64) * _MIX[0]
        mixed ^= mixed >> np.uint64(31)
        mixed *= _MIX[1]
        sums = np.add.reduceat(mixed, np.minimum(offsets[:-1], flat.size - 1))
        digest = np.where(lengths > 0, sums ^ lengths.astype(np.uint64), np.uint64(0))
    idx = np.flatnonzero(usable)
    order = idx[np.lexsort((idx, digest[idx]))]
    sorted_digest = digest[order]
    first_of_run = np.ones(order.size, dtype=bool)
    first_of_run[1:] = sorted_digest[1:] != sorted_digest[:-1]
    run_id = np.cumsum(first_of_run) - 1
    representatives = order[first_of_run]
    rep_of = representatives[run_id]
    dup_mask = ~first_of_run
    dup_pairs = np.stack((rep_of[dup_mask], order[dup_mask]), axis=1)

    rep_offsets = np.zeros(representatives.size + 1, dtype=np.int64)
    rep_lengths = lengths[representatives]
    rep_offsets[1:] = np.cumsum(rep_lengths)
    total = int(rep_offsets[-1])
    gather = np.repeat(offsets[representatives] - rep_offsets[:-1], rep_lengths) + np.arange(
        total, dtype=np.int64
    )
    rep_flat = flat[gather] if total else np.zeros(0, dtype=np.uint32)
    sigs = minhash(rep_flat, rep_offsets, num_perm=cfg.num_perm, seed=cfg.seed)
    lsh_pairs, sims = near_duplicate_pairs(sigs, cfg)
    lsh_pairs = representatives[lsh_pairs] if lsh_pairs.size else lsh_pairs
    all_pairs = np.concatenate((dup_pairs.astype(np.int64), lsh_pairs.astype(np.int64)))
    all_sims = np.concatenate((np.ones(dup_pairs.shape[0]), sims))
    all_pairs = np.sort(all_pairs, axis=1) if all_pairs.size else all_pairs.reshape(0, 2)
    return TextLinks(pairs=all_pairs, similarity=all_sims, usable=usable)
