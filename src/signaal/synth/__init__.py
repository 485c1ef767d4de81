"""Synthetic Dutch ad market with planted ground truth (issue 3; docs/synthetic-data.md).

    generate(SynthConfig(ads=20_000, seed=7), Path("corpus"))

writes ``ads.jsonl`` (ad records, see docs/ad-record.md), ``truth.jsonl``, ``movements.jsonl``,
``manifest.json``, ``pages/`` and, with ``photos=True``, ``photos/``.
"""

from __future__ import annotations

from signaal.synth.config import (
    CLASSES,
    CONTROLLED_CLASSES,
    SynthConfig,
    shares_with_controlled,
)
from signaal.synth.generate import SynthManifest, generate
from signaal.synth.stats import CorpusStats, compute_stats, load_stats, read_pairs

__all__ = [
    "CLASSES",
    "CONTROLLED_CLASSES",
    "CorpusStats",
    "SynthConfig",
    "SynthManifest",
    "compute_stats",
    "generate",
    "load_stats",
    "read_pairs",
    "shares_with_controlled",
]
