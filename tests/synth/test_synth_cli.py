"""``signaal synth``: generates a corpus, prints its statistics, refuses bad options."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from signaal.cli import app

runner = CliRunner()


def test_synth_writes_a_corpus_and_prints_stats(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    result = runner.invoke(
        app,
        ["synth", "--ads", "400", "--seed", "2", "--out", str(out), "--stats", "--workers", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 400 ads" in result.output
    assert "independent" in result.output
    assert all(c in result.output for c in ("touring", "agency", "scammer", "network"))
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["counts"]["ads"] == 400
    assert manifest["options"]["seed"] == 2
    assert len((out / "ads.jsonl").read_bytes().splitlines()) == 400
    assert len((out / "truth.jsonl").read_bytes().splitlines()) == 400

    # --stats alone reads the existing corpus without regenerating it.
    before = (out / "ads.jsonl").stat().st_mtime_ns
    again = runner.invoke(app, ["synth", "--stats", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "Wrote" not in again.output
    assert "400 ads" in again.output
    assert (out / "ads.jsonl").stat().st_mtime_ns == before


def test_synth_rejects_bad_options(tmp_path: Path) -> None:
    assert runner.invoke(app, ["synth", "--ads", "10"]).exit_code != 0  # no --out
    bad = runner.invoke(
        app, ["synth", "--ads", "10", "--out", str(tmp_path), "--controlled-share", "1.5"]
    )
    assert bad.exit_code != 0
    assert "controlled share" in bad.output
