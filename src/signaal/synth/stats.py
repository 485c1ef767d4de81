"""Statistics of a corpus, compared with the configured targets (``signaal synth --stats``).

``compute_stats`` is pure: it takes (ad record, truth line) pairs in the order of the files.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from signaal.synth.config import CLASSES


@dataclass(frozen=True, slots=True)
class CorpusStats:
    ads: int
    class_shares: dict[str, float]  # share of ads per class
    controlled_share: float
    ads_per_phone_mean: float
    ads_per_phone_median: float
    ads_per_phone_p90: float
    ads_per_phone_max: int
    phones_per_persona_mean: dict[str, float]  # by class
    personas_per_phone_max: dict[str, int]  # by class: the most personas on one phone
    municipalities_per_persona_month: dict[str, float]  # by class
    cue_share: dict[str, float]  # by class: share of ads with at least one family-A cue
    cue_share_all: float
    cue_mean: dict[str, float]  # by class: mean number of family-A cues per ad
    personas: dict[str, int]  # by class
    minors: int
    # Market variation (docs/synthetic-data.md, "Varying the market").
    repost_share: float  # ads that are reposts or renewals
    no_age_share: float
    no_name_share: float
    no_phone_share: float  # ads that show no number anywhere (truth ``phones`` empty)
    messenger_share: float  # ads with a messenger word right before a number
    top_name_share: float  # ads of personas with one of the ten most common names
    personas_per_name: float  # mean personas per distinct name
    personas_per_handle_max: int  # the most personas showing one handle


_MESSENGER = re.compile(
    r"(?i)\b(?:whats ?app|wa|telegram|signal|sms(?:/app)?(?: me)?|app me op)\b:?\s+"
    r"(?:\+|0|o|nul|zero|\d)"
)


def compute_stats(pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> CorpusStats:
    by_class: Counter[str] = Counter()
    with_cue: Counter[str] = Counter()
    cue_total: Counter[str] = Counter()
    ads_per_phone: Counter[str] = Counter()
    personas_of_phone: dict[str, set[str]] = defaultdict(set)
    phone_class: dict[str, str] = {}
    phones_of_persona: dict[str, set[str]] = defaultdict(set)
    persona_class: dict[str, str] = {}
    months: dict[tuple[str, str], set[str]] = defaultdict(set)
    minors: set[str] = set()
    controlled = 0
    n = 0
    reposts = no_age = no_name = no_phone = messenger = 0
    persona_name: dict[str, str] = {}
    personas_of_handle: dict[str, set[str]] = defaultdict(set)
    for ad, truth in pairs:
        n += 1
        cls = truth["class"]
        pid = truth["persona_id"]
        by_class[cls] += 1
        controlled += bool(truth["controlled"])
        a_cues = sum(1 for c in truth["indicators"] if c["id"].startswith("A"))
        cue_total[cls] += a_cues
        with_cue[cls] += a_cues > 0
        for phone in truth["phones"]:
            ads_per_phone[phone] += 1
            personas_of_phone[phone].add(pid)
            phone_class[phone] = cls
            phones_of_persona[pid].add(phone)
        persona_class[pid] = cls
        months[(pid, ad["posted_at"][:7])].add(truth["municipality"])
        if truth["minor"]:
            minors.add(pid)
        reposts += truth["kind"] != "new"
        no_age += ad["age"] is None
        no_name += ad["name"] is None
        no_phone += not truth["phones"]
        messenger += _MESSENGER.search(ad["text"]) is not None
        if ad["name"] is not None and pid not in persona_name and not truth["duo"]:
            persona_name[pid] = ad["name"]
        for handle in ad["handles"]:
            personas_of_handle[handle].add(pid)
    counts = sorted(ads_per_phone.values())
    per_month: dict[str, list[int]] = defaultdict(list)
    for (pid, _), munis in months.items():
        per_month[persona_class[pid]].append(len(munis))
    phones_pp: dict[str, list[int]] = defaultdict(list)
    for pid, phones in phones_of_persona.items():
        phones_pp[persona_class[pid]].append(len(phones))
    max_pp: dict[str, int] = defaultdict(int)
    for phone, ps in personas_of_phone.items():
        c = phone_class[phone]
        max_pp[c] = max(max_pp[c], len(ps))
    personas = Counter(persona_class.values())

    def share(num: int, den: int) -> float:
        return num / den if den else 0.0

    names = Counter(persona_name.values())
    top = {nm for nm, _ in names.most_common(10)}
    top_personas = sum(1 for nm in persona_name.values() if nm in top)

    return CorpusStats(
        ads=n,
        class_shares={c: share(by_class[c], n) for c in CLASSES},
        controlled_share=share(controlled, n),
        ads_per_phone_mean=statistics.fmean(counts) if counts else 0.0,
        ads_per_phone_median=float(statistics.median(counts)) if counts else 0.0,
        ads_per_phone_p90=float(counts[int(0.9 * (len(counts) - 1))]) if counts else 0.0,
        ads_per_phone_max=counts[-1] if counts else 0,
        phones_per_persona_mean={
            c: statistics.fmean(phones_pp[c]) if phones_pp[c] else 0.0 for c in CLASSES
        },
        personas_per_phone_max={c: max_pp.get(c, 0) for c in CLASSES},
        municipalities_per_persona_month={
            c: statistics.fmean(per_month[c]) if per_month[c] else 0.0 for c in CLASSES
        },
        cue_share={c: share(with_cue[c], by_class[c]) for c in CLASSES},
        cue_share_all=share(sum(with_cue.values()), n),
        cue_mean={c: share(cue_total[c], by_class[c]) for c in CLASSES},
        personas={c: personas.get(c, 0) for c in CLASSES},
        minors=len(minors),
        repost_share=share(reposts, n),
        no_age_share=share(no_age, n),
        no_name_share=share(no_name, n),
        no_phone_share=share(no_phone, n),
        messenger_share=share(messenger, n),
        top_name_share=share(top_personas, len(persona_name)),
        personas_per_name=share(len(persona_name), len(names)),
        personas_per_handle_max=max((len(v) for v in personas_of_handle.values()), default=0),
    )


def read_pairs(corpus: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(ad, truth) pairs of a generated corpus, in file order."""
    with open(corpus / "ads.jsonl", "rb") as ads, open(corpus / "truth.jsonl", "rb") as truth:
        for a, t in zip(ads, truth, strict=True):
            yield orjson.loads(a), orjson.loads(t)


def load_stats(corpus: Path) -> CorpusStats:
    return compute_stats(read_pairs(corpus))


def stats_table(s: CorpusStats) -> Table:
    """The statistics as a Rich table: one row per class, totals in the caption."""
    table = Table(
        title=f"Synthetic corpus: {s.ads:,} ads",
        caption=(
            f"controlled share {s.controlled_share:.1%} · ads per phone: mean "
            f"{s.ads_per_phone_mean:.1f}, median {s.ads_per_phone_median:.0f}, p90 "
            f"{s.ads_per_phone_p90:.0f}, max {s.ads_per_phone_max} · ads with a text cue "
            f"{s.cue_share_all:.1%} · minor personas {s.minors}\n"
            f"reposts {s.repost_share:.1%} · no age {s.no_age_share:.1%} · no name "
            f"{s.no_name_share:.1%} · no phone {s.no_phone_share:.1%} · messenger word before "
            f"a number {s.messenger_share:.1%} · personas with a top-10 name "
            f"{s.top_name_share:.1%} · personas per name {s.personas_per_name:.1f} · max "
            f"personas on a handle {s.personas_per_handle_max}"
        ),
    )
    table.add_column("class", no_wrap=True, min_width=11)
    for header in (
        "share of ads",
        "personas",
        "phones per persona",
        "max personas on a phone",
        "municipalities per persona per month",
        "ads with a text cue",
        "text cues per ad",
    ):
        table.add_column(header, justify="right")
    for c in CLASSES:
        table.add_row(
            c,
            f"{s.class_shares[c]:.1%}",
            f"{s.personas[c]:,}",
            f"{s.phones_per_persona_mean[c]:.2f}",
            str(s.personas_per_phone_max[c]),
            f"{s.municipalities_per_persona_month[c]:.2f}",
            f"{s.cue_share[c]:.1%}",
            f"{s.cue_mean[c]:.2f}",
        )
    return table
