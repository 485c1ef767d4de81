"""Why true personas are split: the lost same-persona pairs of a corpus with ground truth, by kind.

    .venv/bin/python bench/splits.py --corpus DIR [--examples 2] [--workers 2]

Runs the analysis as ``signaal analyse`` does (no photos) and, for every true persona spread
over several predicted personas, compares each smaller piece with the largest: whether the piece
has a contact point at all (a field or found in the text, canonical) and shares one with the
largest piece, whether it is named and shares a name with it. Prints the lost pairs (ads of the
piece times ads of the largest piece: the pairs B-cubed recall misses) per kind, largest first,
with example ads of each kind. For diagnosis on tuning seeds only: never on the seed that judges
quality.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from signaal.ads.pipeline import PipelineConfig, run_file
from signaal.ads.types import NormalisedAd


def _name(ad: NormalisedAd) -> str:
    return (ad.record.name or "").strip().lower()


def _contacts(ads: list[NormalisedAd]) -> set[str]:
    return {c.value for ad in ads for c in ad.contacts}


def _kind(piece: list[NormalisedAd], largest: list[NormalisedAd]) -> tuple[str, str, str]:
    phones = _contacts(piece)
    largest_phones = _contacts(largest)
    names = {_name(ad) for ad in piece} - {""}
    largest_names = {_name(ad) for ad in largest} - {""}
    if not phones:
        phone = "no contact point"
    elif phones & largest_phones:
        phone = "shared contact point"
    else:
        phone = "other contact point"
    return (
        phone,
        "named" if names else "unnamed",
        "same name" if names & largest_names else "other name",
    )


def _show(ad: NormalisedAd) -> str:
    r = ad.record
    text = (r.text or "").replace("\n", " ")[:140]
    fields = f"name {r.name!r} | age {r.age} | phones {list(r.phones)}"
    return f"{r.id} | {fields} | {r.title!r} | {text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a generated corpus folder")
    parser.add_argument("--examples", type=int, default=2, help="example pairs per kind")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = run_file(
        args.corpus / "ads.jsonl",
        PipelineConfig(pseudonym_key="bench-key", workers=args.workers, photos=False),
    )
    ads = {ad.record.id: ad for ad in result.ads}
    predicted = result.linkage.persona_of_ad
    members: dict[str, list[NormalisedAd]] = defaultdict(list)
    with (args.corpus / "truth.jsonl").open() as lines:
        for line in lines:
            row = json.loads(line)
            ad = ads.get(row["ad_id"])
            if ad is not None:
                members[row["persona_id"]].append(ad)
    lost: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], list[tuple[NormalisedAd, NormalisedAd]]] = {}
    total = 0
    for true_ads in members.values():
        pieces: dict[str, list[NormalisedAd]] = defaultdict(list)
        for ad in true_ads:
            pieces[predicted[ad.record.id]].append(ad)
        if len(pieces) < 2:
            continue
        ordered = sorted(pieces.values(), key=lambda p: (-len(p), p[0].record.id))
        largest = ordered[0]
        for piece in ordered[1:]:
            kind = _kind(piece, largest)
            pairs = len(piece) * len(largest)
            lost[kind] += pairs
            total += pairs
            examples.setdefault(kind, [])
            if len(examples[kind]) < args.examples:
                examples[kind].append((largest[0], piece[0]))
    print(f"{args.corpus}: {len(ads):,} ads, {total:,} same-persona pairs lost to splits")
    for kind, pairs in lost.most_common():
        share = pairs / total if total else 0.0
        print(f"  {pairs:>9,}  {share:6.1%}  {', '.join(kind)}")
    for kind, pairs_of_kind in examples.items():
        print(f"\n== {', '.join(kind)}")
        for kept, split in pairs_of_kind:
            print(f"  largest: {_show(kept)}")
            print(f"  piece:   {_show(split)}")


if __name__ == "__main__":
    main()
