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
   arithmetically, so the same text always gives the same shingles whatever the corpus). A word
   is hashed as the set of its letters, so a rewrite typed in haste ("wtih", "elegnat",
   "witth") keeps its shingles: two neighbouring letters swapped or a letter doubled is the same
   word. Anagrams become one word too; a shingle is three words, so that costs little.
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

Evidence weighs by how common it is in the corpus: a shingle found in many of the corpus's texts
(a site's boiler-plate line, a stock phrase every ad uses) says little about a shared template, a
shingle found in a handful of texts says much. Each shingle gets the weight ``log(N / df)``
(inverse document frequency over the ``N`` distinct texts of this corpus, ``df`` of which contain
it), and a candidate pair is kept only when its **weighted** similarity reaches the threshold too:
a shingle both texts hold counts its weight, a shingle only one holds counts the mean weight of a
shingle in the corpus (a disagreement says as much whatever the word; weighting it by its rarity
would let every typo or edit, seen once, outweigh the template). The MinHash signature estimates
it without the shingle sets: every signature position samples one shingle of the union
uniformly (the smaller of the two minima), which both hold exactly when the two minima are
equal. The shingle behind a minimum is found by inverting the affine permutation (``a`` is odd,
so it has an inverse mod ``2**32``).

Identical texts (renewals) are collapsed before shingling: a renewal links to the first ad with
the same text; LSH then runs over distinct texts only, so a text posted a hundred times costs one
signature, not 4,950 candidate pairs.

Tokenising is done for a whole batch of texts at once: the batch is joined with a sentinel,
lower-cased, its ASCII punctuation turned into spaces by one ``bytes.translate`` and split by
``bytes.split``; only distinct words go through Python (hash, masking), every other step is numpy.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from signaal.ads.graph import distinct

MAX_HASH = np.uint64((1 << 32) - 1)

NAME_TOKEN = "<name>"  # noqa: S105 (a placeholder word, not a secret)
PLACE_TOKEN = "<place>"  # noqa: S105
NUMBER_TOKEN = "<num>"  # noqa: S105

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_DIGIT_RE = re.compile(r"\d")
_WEB_RE = re.compile(r"\S+@\S+|\S*://\S+|www\.\S+", re.UNICODE)
_SENTINEL = b"\x01"

# Byte translation: ASCII punctuation, symbols and controls become spaces, ASCII upper case becomes
# lower case; bytes >= 0x80 (UTF-8 of accented letters, emoji) are kept and handled per distinct
# word. This lets ``bytes.split`` tokenise a whole batch of texts in C.
_TABLE = bytearray(range(256))
for _b in range(128):
    _c = chr(_b)
    if not _c.isalnum():
        _TABLE[_b] = 32
    elif _c.isupper():
        _TABLE[_b] = ord(_c.lower())
_TABLE[1] = 1  # the sentinel between texts
_BYTE_TABLE = bytes(_TABLE)
del _b, _c, _TABLE

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
    #: Also require the IDF-weighted Jaccard (common shingles weigh little) to reach ``threshold``.
    idf_weighted: bool = True

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
    """Turns texts into 32-bit shingle hashes; caches the hash of every distinct word.

    A word's hash is CRC-32 of the sorted set of the letters of its folded form (typo-tolerant:
    swapped neighbours and doubled letters are the same word), or the hash of ``<name>``,
    ``<place>`` or ``<num>`` when it is an advertised name, a place or contains a digit; words
    without letters or digits (emoji) are dropped. Hashes do not depend on the rest of the corpus.
    """

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        places: Iterable[str] = (),
        shingle_size: int = 3,
    ) -> None:
        self.shingle_size = shingle_size
        self._names = {w for n in names for w in _WORD_RE.findall(fold(n))}
        self._places = {w for p in places for w in _WORD_RE.findall(fold(p))} - self._names
        self._name_hash = zlib.crc32(NAME_TOKEN.encode())
        self._place_hash = zlib.crc32(PLACE_TOKEN.encode())
        self._number_hash = zlib.crc32(NUMBER_TOKEN.encode())
        # Bytes of a word (after the byte translation) -> hash; 0 means "drop"; the sentinel -1.
        self._cache: dict[bytes, int] = {_SENTINEL: -1}

    def _word_hash(self, raw: bytes) -> int:
        word = fold(raw.decode("utf-8", "replace"))
        parts = _WORD_RE.findall(word)
        if not parts:
            return 0
        word = "".join(parts)
        if _DIGIT_RE.search(word):
            return self._number_hash
        if word in self._names:
            return self._name_hash
        if word in self._places:
            return self._place_hash
        # The set of its letters: "with", "wtih" and "witth" are one word.
        return zlib.crc32("".join(sorted(set(word))).encode())

    def word_batch(
        self, texts: Sequence[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Word hashes of many texts at once, and each text's start offset (length n + 1)."""
        joined = (" " + _SENTINEL.decode() + " ").join(texts).lower().encode("utf-8")
        tokens = joined.translate(_BYTE_TABLE).split()
        cache = self._cache
        values: list[int | None] | list[int] = list(map(cache.get, tokens))
        if None in values:
            for w in set(tokens).difference(cache):
                cache[w] = self._word_hash(w)
            values = list(map(cache.__getitem__, tokens))
        arr = np.fromiter(values, dtype=np.int64, count=len(values))
        is_sep = arr == -1
        text_of = np.cumsum(is_sep) if arr.size else np.zeros(0, dtype=np.int64)
        keep = (~is_sep) & (arr != 0)
        words = arr[keep]
        counts = np.bincount(text_of[keep], minlength=len(texts)) if words.size else None
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        if counts is not None:
            offsets[1:] = np.cumsum(counts[: len(texts)])
        return words, offsets

    def words(self, text: str) -> list[int]:
        """The word hashes of one text after ``prepare`` (see ``word_batch``)."""
        words, _ = self.word_batch([prepare(text)])
        out: list[int] = words.tolist()
        return out

    def shingle_batch(
        self, words: npt.NDArray[np.int64], offsets: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
        """32-bit hashes of every run of ``shingle_size`` words inside each text, all texts at once
        (a text shorter than that gives one shingle of all its words). Duplicates within a text
        are kept: they do not change a MinHash."""
        n = offsets.size - 1
        lengths = np.diff(offsets)
        k = self.shingle_size
        total = int(offsets[-1])
        w = words.astype(np.uint64)
        width = np.minimum(lengths, k)  # words per shingle, per text
        n_sh = np.where(lengths > 0, lengths - width + 1, 0)
        sh_offsets = np.zeros(n + 1, dtype=np.int64)
        sh_offsets[1:] = np.cumsum(n_sh)
        count = int(sh_offsets[-1])
        if count == 0:
            return np.zeros(0, dtype=np.uint32), sh_offsets
        text = np.repeat(np.arange(n), n_sh)
        start = offsets[:-1][text] + (np.arange(count) - sh_offsets[:-1][text])
        span = width[text]
        acc = np.zeros(count, dtype=np.uint64)
        for j in range(k):
            inside = j < span
            idx = np.minimum(start + j, total - 1)
            acc = np.where(inside, acc * _MIX[j] + w[idx], acc)  # wraps mod 2**64 on purpose
        acc ^= acc >> np.uint64(29)
        return (acc & MAX_HASH).astype(np.uint32), sh_offsets

    def shingles(self, word_hashes: Sequence[int]) -> npt.NDArray[np.uint32]:
        """Distinct shingle hashes of one text's words."""
        words = np.asarray(word_hashes, dtype=np.int64)
        sh, _ = self.shingle_batch(words, np.array([0, words.size], dtype=np.int64))
        return distinct(sh)


def prepare(text: str, spans: Sequence[tuple[int, int]] = ()) -> str:
    """Remove the masked spans, e-mail addresses, web addresses and handles from a text."""
    if spans:
        text = _apply_masks(text, spans)
    if "@" in text or "://" in text or "www." in text:
        text = _WEB_RE.sub(" ", text)
    return text


def _apply_masks(text: str, spans: Sequence[tuple[int, int]]) -> str:
    parts = []
    last = 0
    for start, end in sorted(spans):
        if start >= last:
            parts.append(text[last:start])
            last = end
    parts.append(text[last:])
    return " ".join(parts)


def shingle_hashes(
    texts: Sequence[str],
    *,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    shingle_size: int = 3,
    masks: Sequence[Sequence[tuple[int, int]]] | None = None,
    batch: int = 20000,
    prepared: bool = False,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """All texts' shingle hashes concatenated, and the start offset of each text (length n + 1).

    ``masks`` are character spans per text to remove first (contact points the normaliser found);
    ``prepared`` says the texts went through ``prepare`` already (then ``masks`` must be None).
    """
    hasher = ShingleHasher(names=names, places=places, shingle_size=shingle_size)
    pieces: list[npt.NDArray[np.uint32]] = []
    counts: list[npt.NDArray[np.int64]] = []
    for lo in range(0, len(texts), batch):
        chunk = (
            list(texts[lo : lo + batch])
            if prepared and masks is None
            else [
                prepare(t, masks[lo + i] if masks is not None else ())
                for i, t in enumerate(texts[lo : lo + batch])
            ]
        )
        words, offsets = hasher.word_batch(chunk)
        sh, sh_offsets = hasher.shingle_batch(words, offsets)
        pieces.append(sh)
        counts.append(np.diff(sh_offsets))
    offsets_all = np.zeros(len(texts) + 1, dtype=np.int64)
    if counts:
        offsets_all[1:] = np.cumsum(np.concatenate(counts))
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    return flat, offsets_all


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
    lengths = np.diff(offsets)
    start_text = 0
    while start_text < n:
        # Grow the chunk by whole texts until it holds about ``chunk`` shingles.
        limit = offsets[start_text] + chunk
        end_text = int(np.searchsorted(offsets, limit, side="right")) - 1
        end_text = min(max(end_text, start_text + 1), n)
        lo, hi = int(offsets[start_text]), int(offsets[end_text])
        if hi > lo:
            # Mixed a chunk at a time: all shingles mixed at once (and the mixer's temporaries)
            # took three times the shingles' memory, the largest transient of the link stage.
            mixed = fmix32(shingles[lo:hi].astype(np.uint32))
            # Permutations x shingles: the reduction runs along contiguous memory.
            hv = a[:, None] * mixed[None, :] + b[:, None]  # wraps mod 2**32 on purpose
            sub_lengths = lengths[start_text:end_text]
            nonempty = np.flatnonzero(sub_lengths)
            starts = (offsets[start_text:end_text] - lo)[nonempty]
            out[start_text + nonempty] = np.minimum.reduceat(hv, starts, axis=1).T
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
    signatures: npt.NDArray[np.uint32], *, bands: int, rows: int, max_bucket: int = 64
) -> npt.NDArray[np.int64]:
    """Distinct pairs ``(i, j), i < j`` that agree on at least one band (k x 2 array).

    A bucket with more than ``max_bucket`` texts pairs each member with its first (smallest)
    member only instead of all-to-all: the members stay connected without a quadratic number of
    candidate pairs (a template posted a thousand times would otherwise give half a million).
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
        # All pairs inside small buckets, vectorised by bucket size; larger buckets (many
        # near-identical texts) pair every member with the bucket's first member only, which
        # keeps them connected with a linear number of candidates.
        small = sizes <= max_bucket
        for size in np.unique(sizes[small]):
            s = starts[small][sizes[small] == size]
            iu, ju = np.triu_indices(int(size), k=1)
            left = ii[s[:, None] + iu[None, :]].ravel()
            right = ii[s[:, None] + ju[None, :]].ravel()
            pieces.append(np.stack((left, right), axis=1))
        big_starts, big_sizes = starts[~small], sizes[~small]
        if big_starts.size:
            owner = np.repeat(big_starts, big_sizes)
            member = np.arange(int(big_sizes.sum())) + np.repeat(
                big_starts - np.concatenate(([0], np.cumsum(big_sizes)[:-1])), big_sizes
            )
            not_first = member != owner
            pieces.append(np.stack((ii[owner[not_first]], ii[member[not_first]]), axis=1))
    if not pieces:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(pieces)
    # Distinct pairs through one 64-bit key per pair (much faster than a row-wise unique).
    lo = np.minimum(pairs[:, 0], pairs[:, 1])
    hi = np.maximum(pairs[:, 0], pairs[:, 1])
    pair_keys = distinct(lo * np.int64(n) + hi)
    return np.stack((pair_keys // n, pair_keys % n), axis=1)


def near_duplicate_pairs(
    signatures: npt.NDArray[np.uint32],
    config: TextSimConfig,
    weights: ShingleWeights | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Verified near-duplicate pairs ``(i, j)`` and their estimated Jaccard similarity.

    With ``weights`` (the corpus's shingle weights) a pair must also reach the threshold in
    weighted Jaccard similarity (``weighted_similarity``).
    """
    pairs = candidate_pairs(signatures, bands=config.bands, rows=config.rows)
    if pairs.size == 0:
        return pairs, np.zeros(0, dtype=np.float64)
    sims = np.empty(pairs.shape[0], dtype=np.float64)
    step = 1 << 16
    for lo in range(0, pairs.shape[0], step):
        p = pairs[lo : lo + step]
        sims[lo : lo + step] = np.mean(signatures[p[:, 0]] == signatures[p[:, 1]], axis=1)
    keep = sims >= config.threshold
    pairs, sims = pairs[keep], sims[keep]
    if weights is not None and pairs.size:
        weighted = weighted_similarity(signatures, pairs, weights, config)
        keep = weighted >= config.threshold
        pairs, sims = pairs[keep], sims[keep]
    return pairs, sims


@dataclass(frozen=True, slots=True)
class ShingleWeights:
    """The weight ``log(N / df)`` of every distinct shingle of a corpus of ``N`` texts.

    ``mixed`` holds the distinct shingles pre-mixed by ``fmix32`` (sorted): the value a MinHash
    permutation maps, so a signature entry finds its shingle's weight by inverting its
    permutation and looking the result up here.
    """

    mixed: npt.NDArray[np.uint32]
    weight: npt.NDArray[np.float32]
    #: The mean weight of a shingle occurrence (each text's shingles, each counted once).
    mean: float


def shingle_weights(
    shingles: npt.NDArray[np.uint32], offsets: npt.NDArray[np.int64], *, batch: int = 1 << 16
) -> ShingleWeights:
    """Inverse document frequency of each distinct shingle over the texts (a shingle counted
    once per text that holds it): ``log(N / df)``, 0 for a shingle in every text."""
    n = offsets.size - 1
    if shingles.size == 0:
        return ShingleWeights(np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float32), 1.0)
    # Each text's distinct shingles, found a batch of texts at a time: the 64-bit (text,
    # shingle) keys of all texts at once would take four times the memory of the shingles.
    pieces: list[npt.NDArray[np.uint32]] = []
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        first_shingle, end_shingle = int(offsets[lo]), int(offsets[hi])
        if first_shingle == end_shingle:
            continue
        text_of = np.repeat(np.arange(hi - lo, dtype=np.uint64), np.diff(offsets[lo : hi + 1]))
        mixed = fmix32(shingles[first_shingle:end_shingle].astype(np.uint32)).astype(np.uint64)
        per_text = distinct((text_of << np.uint64(32)) | mixed)
        pieces.append((per_text & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        del text_of, mixed, per_text
    values = np.concatenate(pieces)
    del pieces
    values.sort(kind="stable")
    start = np.empty(values.size, dtype=bool)
    start[0] = True
    np.not_equal(values[1:], values[:-1], out=start[1:])
    first = np.flatnonzero(start)
    df = np.diff(np.append(first, values.size))
    weight = np.log(n / df)
    mean = float(np.dot(df, weight) / values.size)
    return ShingleWeights(values[first], weight.astype(np.float32), mean)


def _odd_inverse(a: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The inverse of odd ``a`` modulo ``2**32`` (Newton's iteration doubles the exact bits)."""
    x = a.copy()  # correct to 3 bits for odd a
    for _ in range(5):
        x = x * (np.uint32(2) - a * x)  # wraps mod 2**32 on purpose
    return x


def weighted_similarity(
    signatures: npt.NDArray[np.uint32],
    pairs: npt.NDArray[np.int64],
    weights: ShingleWeights,
    config: TextSimConfig,
    *,
    row_block: int = 1 << 16,
) -> npt.NDArray[np.float64]:
    """Estimated weighted similarity of each pair: per signature position the union's sample is
    the smaller minimum, held by both when both minima are equal. Agreeing samples count the
    weight of their shingle, the others ``weights.mean``; the estimate is the agreeing weight
    over the total (0 when nothing weighs)."""
    a, b = permutations(config.num_perm, config.seed)
    inverse = _odd_inverse(a)[None, :]
    rows = distinct(pairs.ravel())
    sig = signatures[rows]
    # The weight of each signature entry's shingle, a block of rows at a time (the lookup's
    # 64-bit positions for all rows at once would take four times the signatures' memory).
    w = np.empty(sig.shape, dtype=np.float32)
    last = max(weights.mixed.size - 1, 0)
    for lo in range(0, sig.shape[0], row_block):
        block = sig[lo : lo + row_block]
        premixed = ((block - b[None, :]) * inverse).ravel()  # wraps mod 2**32
        # Looked up in sorted order: neighbouring queries then walk nearby memory (about twice
        # as fast as random order), and scattered back.
        by_value = np.argsort(premixed, kind="stable")
        found = np.empty(premixed.size, dtype=np.int64)
        found[by_value] = np.searchsorted(weights.mixed, premixed[by_value])
        np.minimum(found, last, out=found)
        w[lo : lo + row_block] = np.where(
            weights.mixed[found] == premixed, weights.weight[found], np.float32(0)
        ).reshape(block.shape)
        del premixed, found, by_value
    left = np.searchsorted(rows, pairs[:, 0])
    right = np.searchsorted(rows, pairs[:, 1])
    out = np.empty(pairs.shape[0], dtype=np.float64)
    disagreement = weights.mean
    step = 1 << 16
    for lo in range(0, pairs.shape[0], step):
        i, j = left[lo : lo + step], right[lo : lo + step]
        si, sj = sig[i], sig[j]
        same = si == sj
        agree = np.where(same, w[i], np.float32(0)).sum(axis=1, dtype=np.float64)
        total = agree + disagreement * (same.shape[1] - same.sum(axis=1))
        out[lo : lo + step] = np.divide(agree, total, out=np.zeros_like(total), where=total > 0)
    return out


@dataclass(frozen=True, slots=True)
class TextLinks:
    """Near-duplicate text pairs over the input texts (indices into the input)."""

    pairs: npt.NDArray[np.int64]  # k x 2, i < j
    similarity: npt.NDArray[np.float64]  # estimated Jaccard of each pair (1.0 for identical)
    usable: npt.NDArray[np.bool_]  # texts with at least ``min_shingles`` shingles
    signatures: npt.NDArray[np.uint32]  # one row per distinct usable text
    signature_of: npt.NDArray[np.int64]  # per input text: its row in ``signatures``, or -1

    def similarity_of(
        self, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Estimated Jaccard of any pairs of input texts (0.0 when either is not usable)."""
        si, sj = self.signature_of[i], self.signature_of[j]
        ok = (si >= 0) & (sj >= 0)
        out = np.zeros(i.size, dtype=np.float64)
        if ok.any():
            out[ok] = np.mean(self.signatures[si[ok]] == self.signatures[sj[ok]], axis=1)
        return out


def text_links(
    texts: Sequence[str],
    *,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    masks: Sequence[Sequence[tuple[int, int]]] | None = None,
    config: TextSimConfig | None = None,
) -> TextLinks:
    """Near-duplicate pairs among ``texts`` after masking (see the module docstring).

    Texts that are identical after removing the masked spans are linked to the first of them
    (similarity 1.0) and shingled once; the distinct texts go through MinHash and LSH.
    """
    cfg = config or TextSimConfig()
    n = len(texts)
    # Reposts repeat a text with the same masked spans: prepare each distinct pair once.
    seen: dict[tuple[str, tuple[tuple[int, int], ...]], str] = {}
    prepared: list[str] = []
    for i, t in enumerate(texts):
        spans = tuple(masks[i]) if masks is not None else ()
        key = (t, spans)
        text = seen.get(key)
        if text is None:
            text = seen[key] = prepare(t, spans)
        prepared.append(text)
    del seen
    first: dict[str, int] = {}
    rep_of = np.fromiter(
        (first.setdefault(t, i) for i, t in enumerate(prepared)), dtype=np.int64, count=n
    )
    del first
    representatives = np.flatnonzero(rep_of == np.arange(n))
    flat, offsets = shingle_hashes(
        [prepared[int(r)] for r in representatives],
        names=names,
        places=places,
        shingle_size=cfg.shingle_size,
        prepared=True,
    )
    del prepared  # the masked texts: as much memory as the ads' own texts, no longer needed
    rep_usable = np.diff(offsets) >= cfg.min_shingles
    sigs = minhash(flat, offsets, num_perm=cfg.num_perm, seed=cfg.seed)
    # Only usable texts take part in LSH.
    usable_rows = np.flatnonzero(rep_usable)
    sigs = sigs[usable_rows]
    row_of_rep = np.full(representatives.size, -1, dtype=np.int64)
    row_of_rep[usable_rows] = np.arange(usable_rows.size)
    position = np.full(n, -1, dtype=np.int64)
    position[representatives] = np.arange(representatives.size)
    signature_of = row_of_rep[position[rep_of]]
    usable = signature_of >= 0

    dup = (rep_of != np.arange(n)) & usable
    dup_pairs = np.stack((rep_of[dup], np.flatnonzero(dup)), axis=1)
    weights = shingle_weights(flat, offsets) if cfg.idf_weighted else None
    del flat  # every shingle of every text: freed before the pairs are found and weighed
    lsh_pairs, sims = near_duplicate_pairs(sigs, cfg, weights)
    text_of_row = representatives[usable_rows]
    lsh_pairs = text_of_row[lsh_pairs] if lsh_pairs.size else lsh_pairs.reshape(0, 2)
    all_pairs = np.concatenate((dup_pairs.astype(np.int64), lsh_pairs.astype(np.int64)))
    all_sims = np.concatenate((np.ones(dup_pairs.shape[0]), sims))
    all_pairs = np.sort(all_pairs, axis=1) if all_pairs.size else all_pairs.reshape(0, 2)
    return TextLinks(
        pairs=all_pairs,
        similarity=all_sims,
        usable=usable,
        signatures=sigs,
        signature_of=signature_of,
    )
