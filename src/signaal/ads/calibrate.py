"""Calibration: fit indicator weights on labelled outcomes (logistic regression), save as JSON.

Each persona is one example: its features are the indicators that apply to it (1.0/0.0, from
``risk.persona_features``), its label whether it turned out to be controlled (or any outcome the
caller chooses). A logistic regression (scikit-learn, L2) is fitted on a training share of the
personas and evaluated on the rest:

- **Brier score** (mean squared error of the predicted probability; lower is better),
- **AUC** (probability that a random positive persona is ranked above a random negative one),
- **reliability bins**: per bin of predicted probability, the mean prediction and the observed
  share of positives (a calibrated model has them close).

Mapping to weights: the risk stage adds points, so each coefficient (log-odds per indicator) is
scaled by one factor so that the positive calibrated weights sum to the same total as the positive
default weights of the same indicators; family caps and bands keep their meaning. The model itself
(feature names, coefficients, intercept) is stored beside the weights so probabilities can be
reproduced. Never pickle: the output is plain JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from signaal.ads.risk import RiskWeights
from signaal.errors import InputError


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted model, its weights, and its held-out calibration figures."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    scale: float
    weights: dict[str, float]
    brier: float
    brier_baseline: float  # predicting the training base rate for everyone
    auc: float
    bins: tuple[ReliabilityBin, ...]
    n_train: int
    n_test: int
    positives_train: int
    positives_test: int

    def to_json(self, defaults: RiskWeights) -> dict[str, Any]:
        return {
            "version": 1,
            "kind": "signaal-risk-weights",
            "source": "signaal calibrate (logistic regression on labelled personas)",
            "weights": self.weights,
            "caps": {k: (None if math.isinf(v) else v) for k, v in sorted(defaults.caps.items())},
            "bands": {"review": defaults.review, "priority": defaults.priority},
            "model": {
                "features": list(self.features),
                "coefficients": list(self.coefficients),
                "intercept": self.intercept,
                "points_per_log_odds": self.scale,
            },
            "calibration": {
                "brier": self.brier,
                "brier_baseline": self.brier_baseline,
                "auc": self.auc,
                "n_train": self.n_train,
                "n_test": self.n_test,
                "positives_train": self.positives_train,
                "positives_test": self.positives_test,
                "reliability": [
                    {
                        "low": b.low,
                        "high": b.high,
                        "count": b.count,
                        "mean_predicted": b.mean_predicted,
                        "observed": b.observed,
                    }
                    for b in self.bins
                ],
            },
        }


def _split(keys: Sequence[str], test_share: float, seed: int) -> npt.NDArray[np.bool_]:
    """Deterministic held-out mask: a hash of the key and the seed (stable across runs)."""
    import hashlib

    out = np.zeros(len(keys), dtype=bool)
    for i, key in enumerate(keys):
        digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2**64 < test_share
    return out


def reliability(
    predicted: npt.NDArray[np.float64], observed: npt.NDArray[np.float64], bins: int = 10
) -> tuple[ReliabilityBin, ...]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(predicted, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        if count == 0:
            continue
        out.append(
            ReliabilityBin(
                low=float(edges[b]),
                high=float(edges[b + 1]),
                count=count,
                mean_predicted=float(predicted[mask].mean()),
                observed=float(observed[mask].mean()),
            )
        )
    return tuple(out)


def fit(
    features: Mapping[str, Mapping[str, float]],
    labels: Mapping[str, bool],
    defaults: RiskWeights,
    *,
    test_share: float = 0.3,
    seed: int = 0,
    regularisation: float = 1.0,
) -> Calibration:
    """Fit weights on the personas present in both ``features`` and ``labels``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    keys = sorted(set(features) & set(labels))
    if len(keys) < 10:
        raise InputError(f"calibration needs at least 10 labelled personas, got {len(keys)}")
    names = sorted({f for k in keys for f in features[k]})
    if not names:
        raise InputError("no indicator applies to any labelled persona: nothing to fit")
    x = np.zeros((len(keys), len(names)), dtype=np.float64)
    column = {n: j for j, n in enumerate(names)}
    for i, key in enumerate(keys):
        for f, v in features[key].items():
            x[i, column[f]] = v
    y = np.asarray([1.0 if labels[k] else 0.0 for k in keys])
    test = _split(keys, test_share, seed)
    train = ~test
    if len(set(y[train].tolist())) < 2 or len(set(y[test].tolist())) < 2:
        raise InputError("both training and held-out personas need positive and negative labels")
    model = LogisticRegression(C=regularisation, max_iter=2000)
    model.fit(x[train], y[train])
    coef = model.coef_[0].astype(float)
    intercept = float(model.intercept_[0])
    predicted = model.predict_proba(x[test])[:, 1]
    base = float(y[train].mean())
    pos_default = sum(max(defaults.weight(n), 0.0) for n in names)
    pos_coef = float(np.clip(coef, 0.0, None).sum())
    scale = pos_default / pos_coef if pos_coef > 0 and pos_default > 0 else 1.0
    weights = {n: round(float(c) * scale, 3) for n, c in zip(names, coef, strict=True)}
    return Calibration(
        features=tuple(names),
        coefficients=tuple(round(float(c), 6) for c in coef),
        intercept=round(intercept, 6),
        scale=round(scale, 6),
        weights=weights,
        brier=float(brier_score_loss(y[test], predicted)),
        brier_baseline=float(np.mean((y[test] - base) ** 2)),
        auc=float(roc_auc_score(y[test], predicted)),
        bins=reliability(predicted, y[test]),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        positives_train=int(y[train].sum()),
        positives_test=int(y[test].sum()),
    )


def save(calibration: Calibration, defaults: RiskWeights, path: Path) -> None:
    """Write the weights JSON (loadable by ``risk.load_weights``)."""
    text = json.dumps(calibration.to_json(defaults), indent=2, sort_keys=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def predict(model: Mapping[str, Any], features: Mapping[str, float]) -> float:
    """Probability from a saved model (``weights.json["model"]``) for one persona's features."""
    names = list(model["features"])
    coef = list(model["coefficients"])
    z = float(model["intercept"]) + sum(
        c * float(features.get(n, 0.0)) for n, c in zip(names, coef, strict=True)
    )
    return 1.0 / (1.0 + math.exp(-z))


def persona_labels(
    persona_of_ad: Mapping[str, str], outcome_of_ad: Mapping[str, bool]
) -> dict[str, bool]:
    """A persona is positive when most of its labelled ads are (ties count as positive)."""
    votes: dict[str, list[int]] = {}
    for ad_id, persona in persona_of_ad.items():
        if ad_id in outcome_of_ad:
            v = votes.setdefault(persona, [0, 0])
            v[0 if outcome_of_ad[ad_id] else 1] += 1
    return {p: v[0] >= v[1] for p, v in sorted(votes.items())}
