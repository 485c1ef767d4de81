"""Detection of planted indicator cues: recall and precision per indicator on a synthetic corpus.

    .venv/bin/python bench/indicators.py --ads 20000          # generate (cached) and measure
    .venv/bin/python bench/indicators.py --corpus DIR          # an existing corpus

The synthetic generator plants family-A/E cues with their character spans in ``truth.jsonl``. A
detected hit counts as a true positive when it has the same indicator id, the same field and an
overlapping span. Precision is a lower bound: the generator marks only the cues it planted, so
an unplanted but genuine cue in its filler text (for example "she is 21" in a third-person
profile, or "nieuw hier") counts against precision. Prints the baseline figures of this run
(ads and planted cues) beside the rates.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import orjson


def measure(folder: Path) -> None:
    from signaal.ads.indicators import detect
    from signaal.ads.normalise import normalise
    from signaal.ads.read import read_jsonl
    from signaal.ads.records import AdRecord

    truth = {}
    with (folder / "truth.jsonl").open("rb") as handle:
        for line in handle:
            item = orjson.loads(line)
            truth[item["ad_id"]] = item
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    missed: dict[str, Counter[str]] = defaultdict(Counter)
    n_ads = 0
    for record in read_jsonl(folder / "ads.jsonl"):
        if not isinstance(record, AdRecord):
            continue
        n_ads += 1
        hits = detect(normalise(record))
        planted = {
            (i["id"], i["field"], i["start"], i["end"])
            for i in truth[record.id]["indicators"]
            if i["id"][0] in "AE" and i["id"] != "A10"
        }
        found = {
            (h.indicator_id, h.field, h.span[0], h.span[1])
            for h in hits
            if h.span and h.indicator_id[0] in "AE" and h.indicator_id != "A10"
        }

        def overlap(a: tuple[str, str, int, int], b: tuple[str, str, int, int]) -> bool:
            return a[0] == b[0] and a[1] == b[1] and a[2] < b[3] and b[2] < a[3]

        for cue in planted:
            if any(overlap(cue, f) for f in found):
                tp[cue[0]] += 1
            else:
                fn[cue[0]] += 1
                text = record.title if cue[1] == "title" else record.text
                missed[cue[0]][text[cue[2] : cue[3]]] += 1
        for hit in found:
            if not any(overlap(hit, cue) for cue in planted):
                fp[hit[0]] += 1
    total_tp, total_fn, total_fp = sum(tp.values()), sum(fn.values()), sum(fp.values())
    print(f"corpus {folder}: {n_ads:,} ads, {total_tp + total_fn:,} planted A/E cues")
    print(f"{'id':<5}{'planted':>9}{'recall':>9}{'precision':>11}   most missed")
    for key in sorted(set(tp) | set(fn) | set(fp)):
        planted_n = tp[key] + fn[key]
        recall = tp[key] / planted_n if planted_n else float("nan")
        precision = tp[key] / (tp[key] + fp[key]) if tp[key] + fp[key] else float("nan")
        worst = ", ".join(f"{t!r}×{c}" for t, c in missed[key].most_common(2))
        print(f"{key:<5}{planted_n:>9,}{recall:>9.3f}{precision:>11.3f}   {worst}")
    print(
        f"all  {total_tp + total_fn:>9,}{total_tp / max(1, total_tp + total_fn):>9.3f}"
        f"{total_tp / max(1, total_tp + total_fp):>11.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()
    folder = args.corpus
    if folder is None:
        from signaal.synth import SynthConfig, generate

        folder = Path(tempfile.gettempdir()) / "signaal-bench" / f"synth-{args.ads}-{args.seed}"
        if not (folder / "truth.jsonl").exists():
            generate(SynthConfig(seed=args.seed, ads=args.ads), folder, workers=2)
    measure(folder)


if __name__ == "__main__":
    main()
