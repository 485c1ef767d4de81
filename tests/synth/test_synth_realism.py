"""Realism: wording alone does not separate controlled workers; links and movement do.

And the statistics printed by ``signaal synth --stats`` hold the configured targets.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from signaal.synth import CLASSES, SynthConfig, load_stats, read_pairs
from signaal.synth.stats import stats_table

CUE_IDS = [f"A{i:02d}" for i in range(1, 17)]


def test_text_cues_alone_do_not_separate_controlled_workers(corpus: Path) -> None:
    rows, labels = [], []
    for _, truth in read_pairs(corpus):
        counts = dict.fromkeys(CUE_IDS, 0)
        for cue in truth["indicators"]:
            if cue["id"] in counts:
                counts[cue["id"]] += 1
        rows.append([counts[c] for c in CUE_IDS] + [sum(counts.values())])
        labels.append(int(truth["controlled"]))
    x, y = np.array(rows, dtype=float), np.array(labels)
    assert 0.1 < y.mean() < 0.3
    scores = cross_val_predict(
        LogisticRegression(max_iter=500), x, y, cv=3, method="predict_proba"
    )[:, 1]
    auc = roc_auc_score(y, scores)
    assert auc < 0.65, auc
    # The number of cues alone carries (almost) nothing.
    assert roc_auc_score(y, x[:, -1]) < 0.56


def test_cue_shares_are_alike_across_classes(corpus: Path, corpus_config: SynthConfig) -> None:
    s = load_stats(corpus)
    target = 1 - corpus_config.cue_count_probs[0]
    assert abs(s.cue_share_all - target) < 0.03
    for cls in CLASSES:
        assert abs(s.cue_share[cls] - target) < 0.08, (cls, s.cue_share[cls])


def test_movement_words_and_third_person_where_the_field_uses_them(corpus: Path) -> None:
    share: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    n: dict[str, int] = defaultdict(int)
    for _, truth in read_pairs(corpus):
        n[truth["class"]] += 1
        for cue_id in {c["id"] for c in truth["indicators"]}:
            share[truth["class"]][cue_id] += 1
    for cls in share:
        for cue_id in share[cls]:
            share[cls][cue_id] /= n[cls]
    # Touring independents and networks alike use movement words (A12).
    assert share["touring"]["A12"] > 0.2
    assert share["network"]["A12"] > 0.1
    assert share["independent"]["A12"] < share["touring"]["A12"]
    # Agencies write in the third person (A01) far more than independents.
    assert share["agency"]["A01"] > 3 * share["independent"].get("A01", 0.0)
    # Scammers ask for payment up front.
    assert share["scammer"]["A16"] > share["independent"].get("A16", 0.0)


def test_links_carry_the_signal(corpus: Path) -> None:
    personas_of_phone: dict[str, set[str]] = defaultdict(set)
    cls_of_phone: dict[str, str] = {}
    for _, truth in read_pairs(corpus):
        for phone in truth["phones"]:
            personas_of_phone[phone].add(truth["persona_id"])
            cls_of_phone[phone] = truth["class"]
    shared = defaultdict(int)
    for phone, personas in personas_of_phone.items():
        if len(personas) > 1:
            shared[cls_of_phone[phone]] += 1
    # Phones shared by several personas: networks, loverboys and (legitimately) agencies only.
    assert shared["network"] > 0
    assert shared["agency"] > 0
    assert shared["independent"] == shared["touring"] == shared["scammer"] == 0


def test_stats_hold_the_configured_targets(corpus: Path, corpus_config: SynthConfig) -> None:
    s = load_stats(corpus)
    for cls in CLASSES:
        assert abs(s.class_shares[cls] - corpus_config.class_shares[cls]) < 0.001
        target = corpus_config.cities_per_month[cls]
        got = s.municipalities_per_persona_month[cls]
        assert abs(got - target) <= 0.15 * target, (cls, got, target)
    assert abs(s.controlled_share - 0.2) < 0.001
    # Ads per phone: heavy tailed, mean near the configured target.
    assert (
        0.7 * corpus_config.ads_per_phone_target
        < s.ads_per_phone_mean
        < 1.3 * corpus_config.ads_per_phone_target
    )
    assert s.ads_per_phone_max > 5 * s.ads_per_phone_median
    # Movement separates the stationary from the rotating classes.
    assert s.municipalities_per_persona_month["network"] > 2.0
    assert s.municipalities_per_persona_month["independent"] < 1.2
    assert s.municipalities_per_persona_month["agency"] == 1.0
    table = stats_table(s)
    assert table.row_count == len(CLASSES)
