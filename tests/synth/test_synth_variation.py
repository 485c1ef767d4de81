"""Market-variation knobs and presets: off by default (same bytes), and each moves what it names."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson
import pytest
from typer.testing import CliRunner

from signaal.ads.records import ad_record_schema
from signaal.cli import app
from signaal.synth import CorpusStats, SynthConfig, generate, load_stats, read_pairs
from signaal.synth.config import PRESETS, preset_config

runner = CliRunner()

#: sha256 of ads.jsonl + truth.jsonl of ``SynthConfig(seed=s, ads=2500)``, generated before the
#: knobs existed: a default corpus must never change by adding a knob.
GOLDEN = {
    3: "34ebabf48ec7c457a2903eab8b8f78dc8f06284fbb263dd0a5132f3ecb61532a",
    20261128: "48bcb5b5bc78ea1a4060c00d48fd0ca13b31d99831b2ef2143a0412447524f84",
}

SEEDS = (21, 22, 23)


def _digest(out: Path) -> str:
    return hashlib.sha256(
        (out / "ads.jsonl").read_bytes() + (out / "truth.jsonl").read_bytes()
    ).hexdigest()


def _corpus(tmp_path: Path, cfg: SynthConfig, name: str, workers: int = 1) -> Path:
    out = tmp_path / name
    generate(cfg, out, workers=workers)
    return out


@pytest.mark.parametrize("seed", sorted(GOLDEN))
def test_the_default_corpus_is_byte_identical_to_before_the_knobs(
    tmp_path: Path, seed: int
) -> None:
    plain = _corpus(tmp_path, SynthConfig(seed=seed, ads=2500), "plain")
    assert _digest(plain) == GOLDEN[seed]
    preset = _corpus(tmp_path, preset_config("default", seed=seed, ads=2500), "preset")
    assert _digest(preset) == GOLDEN[seed]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[CorpusStats]]:
    """Stats of a default and a hard corpus per seed."""
    out: dict[str, list[CorpusStats]] = {"default": [], "hard": []}
    for seed in SEEDS:
        for preset in out:
            d = tmp_path_factory.mktemp(f"{preset}-{seed}")
            generate(preset_config(preset, seed=seed, ads=4000), d, workers=1)
            out[preset].append(load_stats(d))
    return out


def test_the_hard_preset_moves_every_measured_share(measured: dict[str, list[CorpusStats]]) -> None:
    hard = PRESETS["hard"]
    for default, h in zip(measured["default"], measured["hard"], strict=True):
        d, s = vars_of(default), vars_of(h)
        assert d["no_age_share"] == d["no_name_share"] == d["no_phone_share"] == 0.0
        assert d["personas_per_handle_max"] == 1
        assert abs(s["no_age_share"] - hard["no_age_share"]) < 0.03
        assert abs(s["no_name_share"] - hard["no_name_share"]) < 0.03
        # Listings with an obfuscated number keep it, so somewhat fewer ads lose their phone.
        assert hard["no_phone_share"] * 0.7 < s["no_phone_share"] <= hard["no_phone_share"] + 0.03
        assert d["repost_share"] > 0.6
        assert hard["repost_share"] * 0.6 < s["repost_share"] <= hard["repost_share"] + 0.03
        assert s["messenger_share"] > d["messenger_share"] + 0.05
        assert s["top_name_share"] > d["top_name_share"] + 0.15
        assert s["personas_per_handle_max"] > 1


def vars_of(stats: CorpusStats) -> dict[str, Any]:
    return asdict(stats)


@pytest.mark.parametrize("share", [0.05, 0.3, 0.6])
def test_the_repost_share_follows_its_knob(tmp_path: Path, share: float) -> None:
    for seed in SEEDS[:2]:
        cfg = SynthConfig(seed=seed, ads=3000, repost_share=share)
        got = load_stats(_corpus(tmp_path, cfg, f"r{seed}")).repost_share
        assert share * 0.6 <= got <= share + 0.03, (seed, got)


@pytest.mark.parametrize(
    ("field", "share"),
    [("no_age_share", 0.1), ("no_name_share", 0.5), ("no_phone_share", 0.3)],
)
def test_each_missing_field_knob_moves_only_its_own_share(
    tmp_path: Path, field: str, share: float
) -> None:
    cfg = replace(SynthConfig(seed=SEEDS[0], ads=4000), **{field: share})
    stats = vars_of(load_stats(_corpus(tmp_path, cfg, field)))
    tolerance = 0.03 if field != "no_phone_share" else share * 0.3
    assert abs(stats[field] - share) <= tolerance
    for other in {"no_age_share", "no_name_share", "no_phone_share"} - {field}:
        assert stats[other] == 0.0


def test_popular_names_and_variants(tmp_path: Path) -> None:
    base = SynthConfig(seed=SEEDS[1], ads=4000)
    uniform = load_stats(_corpus(tmp_path, base, "uniform"))
    popular = load_stats(_corpus(tmp_path, replace(base, name_zipf=1.2), "popular"))
    assert popular.top_name_share > uniform.top_name_share + 0.15

    varied = _corpus(tmp_path, replace(base, name_variant_share=0.5), "varied")
    names: dict[str, set[str]] = {}
    for ad, truth in read_pairs(varied):
        if not truth["duo"]:
            names.setdefault(truth["persona_id"], set()).add(ad["name"])
    several = sum(len(v) > 1 for v in names.values()) / len(names)
    assert several > 0.3  # one persona, several spellings
    assert all(len(v) < 12 for v in names.values())


def test_messenger_words_stand_before_numbers_outside_the_cue_span(tmp_path: Path) -> None:
    cfg = SynthConfig(seed=SEEDS[2], ads=3000, messenger_share=1.0)
    out = _corpus(tmp_path, cfg, "messenger")
    assert load_stats(out).messenger_share > 0.5
    for ad, truth in read_pairs(out):
        for cue in truth["indicators"]:
            assert ad[cue["field"]][cue["start"] : cue["end"]] == cue["text"]


def test_hard_records_validate_and_truth_spans_hold(tmp_path: Path) -> None:
    out = _corpus(tmp_path, preset_config("hard", seed=SEEDS[0], ads=3000), "hard")
    validate = fastjsonschema.compile(ad_record_schema())
    boilerplate = 0
    for ad, truth in read_pairs(out):
        validate(ad)
        boilerplate += "_official" in ad["text"]
        for cue in truth["indicators"]:
            assert ad[cue["field"]][cue["start"] : cue["end"]] == cue["text"]
    assert boilerplate > 300


def test_hard_corpus_is_deterministic_whatever_the_workers(tmp_path: Path) -> None:
    cfg = preset_config("hard", seed=SEEDS[1], ads=2500)
    one = _corpus(tmp_path, cfg, "one", workers=1)
    two = _corpus(tmp_path, cfg, "two", workers=2)
    again = _corpus(tmp_path, cfg, "again", workers=1)
    assert _digest(one) == _digest(two) == _digest(again)


def test_cli_preset_with_an_explicit_override(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["synth", "--ads", "600", "--seed", "4", "--out", str(out), "--workers", "1"]
    result = runner.invoke(app, [*args, "--preset", "hard", "--no-age-share", "0", "--stats"])
    assert result.exit_code == 0, result.output
    options = orjson.loads((out / "manifest.json").read_bytes())["options"]
    assert options["no_age_share"] == 0.0  # the explicit option wins
    assert options["no_name_share"] == PRESETS["hard"]["no_name_share"]
    assert "no age 0.0%" in result.output

    bad = runner.invoke(app, [*args, "--preset", "easy"])
    assert bad.exit_code != 0
    assert "unknown preset" in bad.output
    bad = runner.invoke(app, [*args, "--repost-share", "1.5"])
    assert bad.exit_code != 0
