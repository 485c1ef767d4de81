"""Corpora shared by the synth tests (generated once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaal.synth import SynthConfig, generate, shares_with_controlled

#: A corpus with controlled workers oversampled (20 % of ads), big enough for stable statistics.
CORPUS_CONFIG = SynthConfig(
    seed=11,
    ads=20_000,
    class_shares=shares_with_controlled(SynthConfig().class_shares, 0.2),
    page_share=0.05,
    page_max=600,
)


@pytest.fixture(scope="session")
def corpus_config() -> SynthConfig:
    return CORPUS_CONFIG


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate(CORPUS_CONFIG, out, workers=2)
    return out


@pytest.fixture(scope="session")
def photo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("photo-corpus")
    cfg = SynthConfig(
        seed=5,
        ads=1500,
        photos=True,
        class_shares=shares_with_controlled(SynthConfig().class_shares, 0.2),
    )
    generate(cfg, out, workers=2)
    return out
