"""Calibration round trip: fit on a small generated set, save JSON, load as risk weights."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from signaal.ads.calibrate import fit, persona_labels, predict, reliability, save
from signaal.ads.link import link
from signaal.ads.movement import movement
from signaal.ads.risk import load_weights, persona_features, score
from signaal.ads.types import IndicatorHit, NormalisedAd
from signaal.errors import InputError

from .linkfixtures import hit, make_ad

CITIES = ["Utrecht", "Zwolle", "Venlo", "Breda", "Ede", "Assen", "Hoorn"]
WORDS = ["lief", "sportief", "rustig", "gezellig", "slank"]
WORDS += ["discreet", "warm", "vrolijk", "charmant", "nieuw"]


def _corpus(
    seed: int,
) -> tuple[list[NormalisedAd], dict[str, tuple[IndicatorHit, ...]], dict[str, bool]]:
    rng = random.Random(seed)
    ads: list[NormalisedAd] = []
    hits: dict[str, tuple[IndicatorHit, ...]] = {}
    truth: dict[str, bool] = {}
    n = 0
    for group in range(60):
        controlled = group % 3 == 0
        size = rng.randint(2, 4) if controlled else 1
        phone = f"+3169{group:07d}"
        for member in range(size):
            name = f"N{group}x{member}"
            text = " ".join(rng.choice(WORDS) for _ in range(14)) + f" groep {group} lid {member}"
            for k in range(4):
                city = CITIES[(k + group) % len(CITIES)] if controlled else CITIES[group % 7]
                ad_id = f"ad{n:05d}"
                n += 1
                ads.append(
                    make_ad(
                        ad_id,
                        name=name,
                        age=20 + member,
                        phone=phone,
                        text=text,
                        city=city,
                        day=7 * k + member,
                    )
                )
                cues = [hit("A02", 2)] if rng.random() < 0.5 else []
                if controlled and rng.random() < 0.3:
                    cues.append(hit("A05", 2))
                hits[ad_id] = tuple(cues)
                truth[ad_id] = controlled
    return ads, hits, truth


def test_fit_save_load_round_trip_is_plain_json(tmp_path: Path) -> None:
    ads, hits, truth = _corpus(11)
    linkage = link(ads, hits, {}, pseudonym_key="k")
    moves = movement(ads, linkage)
    defaults = load_weights()
    features = persona_features(ads, hits, linkage, moves, defaults)
    labels = persona_labels(linkage.persona_of_ad, truth)
    result = fit(features, labels, defaults, test_share=0.4, seed=1)
    assert result.auc > 0.9
    assert result.brier < result.brier_baseline
    assert result.weights["C01"] > result.weights.get("A02", 0.0)
    path = tmp_path / "weights.json"
    save(result, defaults, path)
    raw = path.read_bytes()
    assert not raw.startswith(b"\x80")  # not a pickle
    data = json.loads(raw)
    assert data["model"]["features"] == list(result.features)
    loaded = load_weights(path)
    assert loaded.weights["C01"] == pytest.approx(result.weights["C01"])
    assert loaded.model["intercept"] == pytest.approx(result.intercept)
    some = next(iter(features))
    assert 0.0 < predict(loaded.model, features[some]) < 1.0
    # The calibrated weights score the corpus and keep every explanation.
    scored = score(ads, hits, linkage, moves, loaded)
    assert all(s.reasons for s in scored.personas.values() if s.score > 0)


def test_fit_refuses_too_few_or_one_sided_labels() -> None:
    defaults = load_weights()
    with pytest.raises(InputError, match="at least 10"):
        fit({"p": {"C01": 1.0}}, {"p": True}, defaults)
    features = {f"p{i}": {"C01": 1.0} for i in range(30)}
    with pytest.raises(InputError, match="positive and negative"):
        fit(features, dict.fromkeys(features, True), defaults)


def test_reliability_bins_count_every_prediction() -> None:
    import numpy as np

    predicted = np.array([0.05, 0.15, 0.15, 0.95])
    observed = np.array([0.0, 0.0, 1.0, 1.0])
    bins = reliability(predicted, observed)
    assert sum(b.count for b in bins) == 4
    assert [b.observed for b in bins] == [0.0, 0.5, 1.0]


def test_persona_labels_follow_the_majority_of_ads() -> None:
    labels = persona_labels(
        {"a": "P1", "b": "P1", "c": "P1", "d": "P2"}, {"a": True, "b": True, "c": False, "d": False}
    )
    assert labels == {"P1": True, "P2": False}


def test_calibrate_command_writes_weights_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from signaal.cli import app

    ads, _, truth = _corpus(12)
    ads_path = tmp_path / "ads.jsonl"
    ads_path.write_text(
        "\n".join(json.dumps(ad.record.to_json()) for ad in ads) + "\n", encoding="utf-8"
    )
    truth_path = tmp_path / "truth.jsonl"
    truth_path.write_text(
        "\n".join(json.dumps({"ad_id": k, "controlled": v}) for k, v in truth.items()) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "weights.json"
    args = ["calibrate", "--ads", str(ads_path), "--truth", str(truth_path), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--test-share", "0.4"])
    assert result.exit_code == 0, result.output
    assert "Brier" in result.output
    assert "AUC" in result.output
    data = json.loads(out.read_text())
    assert data["kind"] == "signaal-risk-weights"
    assert load_weights(out).weights["C01"] == data["weights"]["C01"]
