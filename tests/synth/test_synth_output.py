"""The corpus files: exact size, schema-valid records, consistent truth, reproducibility."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import fastjsonschema
import jsonschema
import orjson
import pytest

from signaal import geo
from signaal.ads.records import AD_RECORD_FIELDS, AdRecord, ad_record_schema
from signaal.synth import CLASSES, CONTROLLED_CLASSES, SynthConfig, generate, read_pairs

generate_module = importlib.import_module("signaal.synth.generate")
ALONE = {"independent", "touring", "scammer"}


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate_module, "CHUNK_ADS", 400)  # several chunks
    cfg = SynthConfig(seed=3, ads=3000, page_share=0.05)
    generate(cfg, tmp_path / "a", workers=1)
    generate(cfg, tmp_path / "b", workers=2)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert "ads.jsonl" in a
    assert any(k.startswith("pages/") for k in a)
    for name in a:
        assert a[name] == b[name], name
    generate(SynthConfig(seed=4, ads=3000, page_share=0.05), tmp_path / "c", workers=1)
    assert (tmp_path / "c" / "ads.jsonl").read_bytes() != a["ads.jsonl"]


def test_exact_number_of_ads_and_class_shares(corpus: Path, corpus_config: SynthConfig) -> None:
    cfg = corpus_config
    manifest = orjson.loads((corpus / "manifest.json").read_bytes())
    assert manifest["counts"]["ads"] == cfg.ads
    assert manifest["seed"] == cfg.seed
    lines = (corpus / "ads.jsonl").read_bytes().splitlines()
    assert len(lines) == cfg.ads
    by_class = manifest["counts"]["ads_by_class"]
    for cls in CLASSES:
        assert abs(by_class[cls] - cfg.class_shares[cls] * cfg.ads) <= 1


def test_every_record_validates_against_the_schema(
    corpus: Path, corpus_config: SynthConfig
) -> None:
    cfg = corpus_config
    # Every record with the compiled validator; every tenth also with the reference validator
    # (jsonschema, with format checks), which is ten times slower.
    fast = fastjsonschema.compile(ad_record_schema())
    reference = jsonschema.Draft202012Validator(
        ad_record_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    ids = set()
    for n, line in enumerate((corpus / "ads.jsonl").read_bytes().splitlines()):
        obj = orjson.loads(line)
        fast(obj)
        if n % 10 == 0:
            errors = list(reference.iter_errors(obj))
            assert not errors, (obj["id"], errors[0].message)
        assert list(obj)[: len(AD_RECORD_FIELDS)] == list(AD_RECORD_FIELDS)
        assert AdRecord.from_json(obj).to_json() == obj
        ids.add(obj["id"])
    assert len(ids) == cfg.ads


def test_records_are_sorted_by_time(corpus: Path) -> None:
    from datetime import datetime

    times = [
        datetime.fromisoformat(orjson.loads(line)["posted_at"])
        for line in (corpus / "ads.jsonl").read_bytes().splitlines()
    ]
    assert times == sorted(times)


def test_truth_is_consistent(corpus: Path, corpus_config: SynthConfig) -> None:
    cfg = corpus_config
    municipalities = {m.name for m in geo.municipalities()}
    persona_network: dict[str, str] = {}
    persona_class: dict[str, str] = {}
    variants = 0
    for ad, truth in read_pairs(corpus):
        assert truth["ad_id"] == ad["id"]
        cls = truth["class"]
        assert cls in CLASSES
        assert truth["controlled"] is (cls in CONTROLLED_CLASSES)
        if cls in ALONE:
            assert truth["network_id"] == truth["persona_id"]
        else:
            assert truth["network_id"] != truth["persona_id"]
        assert (
            persona_network.setdefault(truth["persona_id"], truth["network_id"])
            == truth["network_id"]
        )
        assert persona_class.setdefault(truth["persona_id"], cls) == cls
        if truth["minor"]:
            assert truth["controlled"]
            assert ad["age"] in (18, 19)
        assert truth["municipality"] in municipalities
        resolved = geo.resolve_place(ad["city"])
        assert resolved is not None, ad["city"]
        assert resolved.name == truth["municipality"], ad["city"]
        variants += ad["city"] != truth["municipality"]
        for cue in truth["indicators"]:
            assert ad[cue["field"]][cue["start"] : cue["end"]] == cue["text"], cue
            assert cue["id"][0] in "AE"
    assert variants > 0.05 * cfg.ads  # cities written as villages or variants


def test_movements_follow_the_ads(corpus: Path) -> None:
    seen: dict[str, set[str]] = {}
    for _, truth in read_pairs(corpus):
        seen.setdefault(truth["persona_id"], set()).add(truth["municipality"])
    moves = [orjson.loads(x) for x in (corpus / "movements.jsonl").read_bytes().splitlines()]
    assert moves
    last: dict[str, str | None] = {}
    for m in moves:
        pid = m["persona_id"]
        assert m["to_municipality"] in seen[pid]
        assert m["from_municipality"] == last.get(pid), m
        last[pid] = m["to_municipality"]
    first = {m["persona_id"] for m in moves if m["from_municipality"] is None}
    assert first == set(seen)
    # Network personas move together: same municipality sequence within a network.
    seq: dict[str, list[str]] = {}
    for m in moves:
        if m["class"] == "network":
            seq.setdefault(m["network_id"], []).append(m["to_municipality"])
    assert any(len(s) > 5 for s in seq.values())


def test_origin_field_and_text_agree(corpus: Path) -> None:
    from signaal.synth.phrases import ORIGINS

    compatible: dict[str, set[str | None]] = {}
    for options in ORIGINS.values():
        for written, nl, en in options:
            for word in (nl, en):
                if word.lower() not in {"local", "exotic", "exotische"}:
                    compatible.setdefault(word, set()).add(written)
    pattern = re.compile(
        r"\b(" + "|".join(map(re.escape, sorted(compatible, key=len)[::-1])) + r")\b"
    )
    checked = 0
    for ad, _ in read_pairs(corpus):
        if ad["origin"] is None:
            continue
        for word in pattern.findall(ad["text"]):
            assert ad["origin"] in compatible[word], (ad["id"], ad["origin"], word)
            checked += 1
    assert checked > 1000


def test_same_bytes_across_interpreters_with_other_hash_seeds(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from signaal.synth import SynthConfig, generate; "
        "generate(SynthConfig(seed=8, ads=1500, page_share=0.05), Path(sys.argv[1]), workers=1)"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / hash_seed)], env=env, check=True)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")
