"""``signaal calibrate``: fit risk weights on labelled outcomes and save them as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def calibrate(
    ads: Annotated[Path, typer.Option("--ads", help="Ad records (JSONL or CSV).")],
    truth: Annotated[
        Path,
        typer.Option(
            "--truth",
            help="Labelled outcomes, JSONL with an ad_id and a boolean label per line "
            "(e.g. a synthetic corpus's truth.jsonl, or `signaal triage labels`).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the weights JSON.")],
    label: Annotated[
        str, typer.Option("--label", help="Name of the boolean label field in --truth.")
    ] = "controlled",
    test_share: Annotated[
        float, typer.Option("--test-share", help="Share of personas held out for evaluation.")
    ] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the held-out split.")] = 0,
) -> None:
    """Fit indicator weights with logistic regression on labelled personas.

    Runs read, normalise, indicators, link and movement on --ads, labels each persona by the
    majority of its ads' outcomes in --truth, fits on a training share and prints held-out
    calibration (Brier score, AUC, reliability bins). The weights JSON (never pickle) can be
    given to the pipeline; it overrides the default weights.
    """
    from rich.console import Console
    from rich.table import Table

    from signaal.ads.calibrate import fit, persona_labels, save
    from signaal.ads.indicators import default_matcher, detect
    from signaal.ads.link import link
    from signaal.ads.movement import movement
    from signaal.ads.normalise import normalise
    from signaal.ads.read import read_records
    from signaal.ads.records import AdRecord
    from signaal.ads.risk import load_weights, persona_features
    from signaal.errors import InputError
    from signaal.settings import get_settings

    console = Console()
    records = [r for r in read_records(ads) if isinstance(r, AdRecord)]
    normalised = [normalise(r) for r in records]
    matcher = default_matcher()
    hits = {ad.id: detect(ad, matcher) for ad in normalised}
    key = get_settings().pseudonym_key or "calibration"
    linkage = link(normalised, hits, {}, pseudonym_key=key)
    moves = movement(normalised, linkage)
    defaults = load_weights()
    features = persona_features(normalised, hits, linkage, moves, defaults)

    outcome: dict[str, bool] = {}
    with truth.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                value = row[label]
                ad_id = row["ad_id"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{truth}:{number}: needs ad_id and {label!r} ({exc})") from exc
            if not isinstance(value, bool):
                raise InputError(f"{truth}:{number}: {label!r} must be true or false")
            outcome[str(ad_id)] = value
    labels = persona_labels(linkage.persona_of_ad, outcome)
    result = fit(features, labels, defaults, test_share=test_share, seed=seed)
    save(result, defaults, out)

    console.print(
        f"personas: {result.n_train} training ({result.positives_train} positive), "
        f"{result.n_test} held out ({result.positives_test} positive)"
    )
    console.print(
        f"held-out Brier score {result.brier:.4f} (base rate alone {result.brier_baseline:.4f}), "
        f"AUC {result.auc:.3f}"
    )
    bins = Table("predicted", "personas", "mean predicted", "observed")
    for b in result.bins:
        bins.add_row(
            f"{b.low:.1f}-{b.high:.1f}",
            str(b.count),
            f"{b.mean_predicted:.3f}",
            f"{b.observed:.3f}",
        )
    console.print(bins)
    weights = Table("indicator", "coefficient", "weight", "default")
    for name, coef in zip(result.features, result.coefficients, strict=True):
        weights.add_row(
            name, f"{coef:+.3f}", f"{result.weights[name]:+.2f}", f"{defaults.weight(name):+g}"
        )
    console.print(weights)
    console.print(f"wrote {out}")
