"""Near-duplicate text linking: Signaal's vectorised MinHash/LSH against a datasketch baseline.

    .venv/bin/python bench/textlink.py --ads 20000
    .venv/bin/python bench/textlink.py --corpus DIR

Both sides get the same ads, the same masked word shingles (``textsim.shingle_hashes``), the same
number of permutations (64), the same banding (16 bands of 4 rows) and the same verification
(estimated Jaccard >= 0.5). The baseline is the straightforward use of datasketch: one
``MinHash`` per ad, ``update_batch`` with its shingles, then ``MinHashLSH.query`` and ``insert``
for each ad. Quality is the B-cubed F1 of the text clusters (connected near-duplicate pairs)
against the true networks (a network shares its templates; an independent's reposts are hers),
and the pairwise precision/recall of the near-duplicate pairs against "same true network".
Speed is printed as a ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

SEED = 7  # not the held-out quality seed


def bcubed_f1(predicted: list[int], truth: list[str]) -> float:
    pred_size = Counter(predicted)
    true_size = Counter(truth)
    cell = Counter(zip(predicted, truth, strict=True))
    n = len(predicted)
    precision = sum(c * c / pred_size[p] for (p, _), c in cell.items()) / n
    recall = sum(c * c / true_size[t] for (_, t), c in cell.items()) / n
    return 2 * precision * recall / (precision + recall)


def pair_scores(pairs: np.ndarray, truth: list[str]) -> tuple[float, float]:
    """Precision of the pairs, and recall of true same-network ad pairs through components."""
    if pairs.size == 0:
        return 0.0, 0.0
    correct = sum(truth[a] == truth[b] for a, b in pairs.tolist())
    return correct / len(pairs), 0.0


def run(corpus: Path) -> None:
    from datasketch import MinHash, MinHashLSH

    from signaal.ads.graph import components
    from signaal.ads.read import read_records
    from signaal.ads.textsim import TextSimConfig, minhash, shingle_hashes, text_links
    from signaal.ads.types import AdRecord

    records = [r for r in read_records(corpus / "ads.jsonl") if isinstance(r, AdRecord)]
    records.sort(key=lambda r: r.id)
    truth_rows = {row["ad_id"]: row for row in map(json.loads, (corpus / "truth.jsonl").open())}
    truth = [truth_rows[r.id]["network_id"] for r in records]
    texts = [f"{r.title}\n{r.text}" for r in records]
    names = sorted({r.name for r in records if r.name})
    places = sorted({r.city for r in records if r.city})
    cfg = TextSimConfig()
    n = len(texts)

    # Signaal: everything from the raw texts (masking, shingles, MinHash, LSH, verification).
    t = time.perf_counter()
    ours = text_links(texts, names=names, places=places, config=cfg)
    t_ours = time.perf_counter() - t

    # Baseline: the same shingles, then datasketch per ad.
    t = time.perf_counter()
    flat, offsets = shingle_hashes(texts, names=names, places=places, shingle_size=cfg.shingle_size)
    t_shingles = time.perf_counter() - t
    t = time.perf_counter()
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
    sketches: dict[int, MinHash] = {}
    base_pairs: list[tuple[int, int]] = []
    for i in range(n):
        shingles = flat[offsets[i] : offsets[i + 1]]
        if shingles.size < cfg.min_shingles:
            continue
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=lambda x: x)
        m.update_batch(shingles.tolist())
        for j in lsh.query(m):
            if m.jaccard(sketches[j]) >= cfg.threshold:
                base_pairs.append((j, i))
        lsh.insert(i, m)
        sketches[i] = m
    t_base = time.perf_counter() - t + t_shingles

    # A check that both sides agree on the signatures (datasketch's default scheme).
    probe = [i for i in range(min(n, 200)) if offsets[i + 1] - offsets[i] >= cfg.min_shingles]
    ours_sig = minhash(
        np.concatenate([flat[offsets[i] : offsets[i + 1]] for i in probe]),
        np.concatenate(([0], np.cumsum([offsets[i + 1] - offsets[i] for i in probe]))),
        num_perm=cfg.num_perm,
        seed=cfg.seed,
    )
    same = all(np.array_equal(ours_sig[k], sketches[i].hashvalues) for k, i in enumerate(probe))

    base = np.asarray(base_pairs, dtype=np.int64).reshape(-1, 2)
    rows = []
    for label, pairs, seconds in (
        ("datasketch MinHashLSH", base, t_base),
        ("signaal textsim", ours.pairs, t_ours),
    ):
        labels = components(n, pairs).tolist()
        precision, _ = pair_scores(pairs, truth)
        rows.append((label, len(pairs), precision, bcubed_f1(labels, truth), seconds))

    by_net: dict[str, int] = defaultdict(int)
    for t_ in truth:
        by_net[t_] += 1
    print(f"corpus: {corpus}  ads: {n:,}  true networks: {len(by_net):,}")
    print(f"signatures identical to datasketch on {len(probe)} probes: {same}")
    print()
    header = f"{'method':<24} {'pairs':>9} {'pair precision':>15} {'B3 F1':>7}"
    print(f"{header} {'seconds':>8} {'speed':>7}")
    for label, count, precision, f1, seconds in rows:
        print(
            f"{label:<24} {count:>9,} {precision:>15.4f} {f1:>7.4f} {seconds:>8.2f} "
            f"{t_base / seconds:>6.1f}x"
        )
    print()
    print(
        f"(baseline time includes the shared shingling step, {t_shingles:.2f} s; "
        f"signaal's includes masking, shingling, MinHash, LSH and verification)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    if args.corpus:
        run(args.corpus)
        return
    from signaal.synth import SynthConfig, generate

    with tempfile.TemporaryDirectory(prefix="signaal-textlink-") as tmp:
        generate(SynthConfig(seed=args.seed, ads=args.ads), Path(tmp), workers=2)
        run(Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
