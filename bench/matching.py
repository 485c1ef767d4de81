"""Tolerant hit/no-hit matching on keyed Bloom-filter encodings against an exact keyed hash.

    .venv/bin/python bench/matching.py                      # 10,000 pairs among 100,000 records
    .venv/bin/python bench/matching.py --pairs 1000 --records 10000

Two labelled sets of synthetic Dutch persons (``signaal.synth.persons``): the tuning seed chooses
the threshold (three points above every non-match's score there), the judging seed measures
recall and precision of the pairs at that threshold. Comparison is blocked (records compared
only when they share a keyed blocking key: a tolerated birth-date variant or the phone), and the
number of comparisons is printed. The baseline is an exact keyed hash of the lower-cased full
name and birth date (what a plain pseudonym match finds).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time
from collections import defaultdict

from signaal.privacy.matching import (
    Encoding,
    Matcher,
    Person,
    Rarity,
    candidate_pairs,
    choose_threshold,
    field_scores,
    score,
)
from signaal.synth.persons import labelled_records

SECRET = "bench-matching-secret"


def exact_pairs(records: list[Person]) -> set[tuple[int, int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, person in enumerate(records):
        text = f"{person.first_name} {person.surname}".lower()
        key = f"{' '.join(text.split())}|{person.birth_date}"
        digest = hmac.new(SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()
        groups[digest].append(index)
    return {(a, b) for ix in groups.values() for a in ix for b in ix if a < b}


def scored(encodings: list[Encoding]) -> tuple[list[tuple[float, int, int]], float]:
    started = time.perf_counter()
    rarity = Rarity(encodings)
    result = []
    for i, j in candidate_pairs(encodings):
        scores = field_scores(encodings[i], encodings[j])
        if scores["birth_date"] is None:
            continue
        result.append((score(scores, encodings[i], rarity), i, j))
    return result, time.perf_counter() - started


def run(records: int, pairs: int, seed: int) -> tuple[list[tuple[float, int, int]], set, dict]:
    data = labelled_records(records, pairs, seed)
    matcher = Matcher(SECRET)
    started = time.perf_counter()
    encodings = [matcher.encode(p) for p in data.records]
    encode_seconds = time.perf_counter() - started
    result, compare_seconds = scored(encodings)
    info = {
        "records": data.records,
        "encode_seconds": encode_seconds,
        "compare_seconds": compare_seconds,
        "comparisons": len(result),
    }
    return result, data.true_pairs, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--tune-seed", type=int, default=11)
    parser.add_argument("--seed", type=int, default=23, help="the judging seed")
    args = parser.parse_args()

    tune, tune_truth, _ = run(args.records, args.pairs, args.tune_seed)
    threshold = choose_threshold(tune, tune_truth)
    print(f"threshold (tuning seed {args.tune_seed}): {threshold:g} points")

    result, truth, info = run(args.records, args.pairs, args.seed)
    found = {(i, j) for s, i, j in result if s >= threshold}
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    print(f"judging seed {args.seed}: {args.records:,} records, {len(truth):,} true pairs")
    print(
        f"tolerant: recall {hits / len(truth):.4f}  precision {precision:.4f}  "
        f"({hits:,} of {len(truth):,} found, {len(found) - hits} false)"
    )
    exact = exact_pairs(info["records"])
    exact_hits = len(exact & truth)
    exact_precision = exact_hits / len(exact) if exact else 1.0
    print(
        f"exact keyed hash of name+birth date: recall {exact_hits / len(truth):.4f}  "
        f"precision {exact_precision:.4f}"
    )
    n = args.records
    print(f"encoding: {n / info['encode_seconds']:,.0f} records/s ({info['encode_seconds']:.2f} s)")
    print(
        f"comparison: {info['comparisons']:,} blocked comparisons instead of "
        f"{n * (n - 1) // 2:,} all-pairs, {info['comparisons'] / info['compare_seconds']:,.0f}/s "
        f"({info['compare_seconds']:.2f} s)"
    )


if __name__ == "__main__":
    main()
