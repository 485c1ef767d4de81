"""Photos: reused where the class says so; exact hashes differ, perceptual hashes (PDQ) match."""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from signaal.synth import SynthConfig, read_pairs
from signaal.synth.photos import variant
from signaal.synth.render import PhotoTask


def _pdq(img: Image.Image) -> np.ndarray:
    bits, _quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return np.asarray(bits)


def _distance(a: np.ndarray, b: np.ndarray) -> int:
    return int((a != b).sum())


def test_copies_of_one_photo_stay_close_and_other_photos_far() -> None:
    cfg = SynthConfig(photos=True)
    sites = ("roodlicht.example", "privehuis.example", "escortgids.example")
    same: list[int] = []
    first: list[np.ndarray] = []
    for owner in range(25):
        hashes = [
            _pdq(variant(cfg, PhotoTask("x", f"{owner}.0", 1, site, f"{owner}-{site}-{k}")))
            for site in sites
            for k in range(2)
        ]
        first.append(hashes[0])
        same += [_distance(a, b) for a, b in itertools.combinations(hashes, 2)]
    cross = [_distance(a, b) for a, b in itertools.combinations(first, 2)]
    assert statistics.median(same) <= 31
    assert sorted(same)[int(0.9 * len(same))] <= 40
    assert min(cross) >= 60
    assert statistics.median(cross) >= 100


def test_corpus_photos_exist_reused_files_differ_and_match_perceptually(
    photo_corpus: Path,
) -> None:
    images_of_persona: dict[str, set[str]] = defaultdict(set)
    cls_of_persona: dict[str, str] = {}
    for ad, truth in read_pairs(photo_corpus):
        assert ad["images"]
        if truth["duo"]:
            continue
        images_of_persona[truth["persona_id"]].update(ad["images"])
        cls_of_persona[truth["persona_id"]] = truth["class"]
    paths = {p for s in images_of_persona.values() for p in s}
    for p in paths:
        assert (photo_corpus / p).is_file(), p
    # No two files share bytes: reuse always goes through a new copy.
    digests = {hashlib.sha256((photo_corpus / p).read_bytes()).hexdigest() for p in paths}
    assert len(digests) == len(paths)
    hashes = {p: _pdq(Image.open(photo_corpus / p)) for p in paths}
    owner_of = {p: pid for pid, ps in images_of_persona.items() for p in ps}

    def near_other_persona(pid: str) -> bool:
        for p in images_of_persona[pid]:
            for q, h in hashes.items():
                if owner_of[q] != pid and _distance(hashes[p], h) <= 40:
                    return True
        return False

    scammers = [pid for pid, c in cls_of_persona.items() if c == "scammer"]
    independents = [pid for pid, c in cls_of_persona.items() if c == "independent"]
    assert scammers
    # Every scammer shows photos of another persona (stolen); most independents do not.
    assert all(near_other_persona(pid) for pid in scammers)
    alone = [near_other_persona(pid) for pid in independents[:40]]
    assert sum(alone) < 0.5 * len(alone)
