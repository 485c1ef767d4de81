"""``signaal ingest`` from the command line: exit codes, counts, the run it stores, ids kept
from one day to the next, and the drop folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ads.adfactories import record_json
from signaal.cli import app
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, upgrade
from signaal.store.models import AnalysisAd, AnalysisRun

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{(tmp_path / 'data' / 'signaal.db').as_posix()}"
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    created = runner.invoke(
        app, ["organisations", "create", "--name", "Testpolitie", "--kind", "police"]
    )
    assert created.exit_code == 0, created.output
    yield url
    get_settings.cache_clear()


def _write(path: Path, ids: list[str], extra: str = "") -> Path:
    lines = [json.dumps(record_json(id=i, url=f"https://example.test/{i}")) for i in ids]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _personas(url: str) -> list[dict[str, str]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            runs = session.scalars(select(AnalysisRun.id).order_by(AnalysisRun.id)).all()
            return [
                dict(
                    session.execute(
                        select(AnalysisAd.ad_id, AnalysisAd.persona_id).where(
                            AnalysisAd.run_id == run_id
                        )
                    ).all()
                )
                for run_id in runs
            ]
    finally:
        engine.dispose()


def test_ingest_stores_and_analyses_and_keeps_ids_the_next_day(store: str, tmp_path: Path) -> None:
    day1 = _write(tmp_path / "day1.jsonl", ["site:b1", "site:b2"])
    first = runner.invoke(app, ["ingest", str(day1), "--organisation", "Testpolitie"])
    assert first.exit_code == 0, first.output
    assert "2 new ad(s), 0 changed, 0 seen again" in first.output
    assert "Saved in the app store as analysis 1 of Testpolitie." in first.output

    # An ad with a smaller id joins the same persona (same phone, name, age and text).
    day2 = _write(tmp_path / "day2.jsonl", ["site:a0", "site:b1"], extra="[1, 2]\n")
    second = runner.invoke(app, ["ingest", str(day2), "--organisation", "Testpolitie"])
    assert second.exit_code == 3, second.output
    assert "1 new ad(s), 0 changed, 1 seen again" in second.output
    assert "quarantined day2.jsonl:3" in second.output
    assert "analysis 2 of Testpolitie" in second.output
    run1, run2 = _personas(store)
    assert run2["site:a0"] == run2["site:b1"] == run1["site:b1"]

    again = runner.invoke(app, ["ingest", str(day1), "--organisation", "Testpolitie"])
    assert again.exit_code == 0, again.output
    assert "Nothing new to analyse" in again.output
    assert len(_personas(store)) == 2


def test_bad_usage_and_unreadable_input_give_exit_2(store: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", ["site:1"])
    unknown = runner.invoke(app, ["ingest", str(path), "--organisation", "Niemand"])
    assert unknown.exit_code == 2
    assert "no organisation 'Niemand'" in unknown.output
    missing = runner.invoke(
        app, ["ingest", str(tmp_path / "nope.jsonl"), "--organisation", "Testpolitie"]
    )
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.output
    assert _personas(store) == []


def test_ingest_a_drop_folder(store: str, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop / "one.jsonl", ["site:1"])
    _write(drop / "two.jsonl", ["site:2"])
    (drop / "notes.txt").write_text("geen advertenties", encoding="utf-8")
    result = runner.invoke(
        app, ["ingest", str(drop), "--folder", "--organisation", "Testpolitie", "--no-analyse"]
    )
    # --no-analyse is for single inputs; a drop folder is always analysed once.
    assert result.exit_code == 0, result.output
    assert "one.jsonl: 1 new ad(s)" in result.output
    assert "failed notes.txt: unknown input format '.txt'" in result.output
    assert "Analysed 2 ads" in result.output
    done = sorted(p.name.split("-", 1)[1] for p in (drop / "done").iterdir())
    assert done == ["one.jsonl", "two.jsonl"]
    assert [p.name for p in drop.iterdir() if p.is_file()] == []
