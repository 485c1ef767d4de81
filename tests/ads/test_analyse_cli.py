"""``signaal analyse``: outputs, exit codes, report."""

import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from signaal.ads.report import marked_text
from signaal.ads.types import IndicatorHit
from signaal.cli import app

from .adfactories import record_json

runner = CliRunner()

HOSTILE = 'Hoi <script>alert("x")</script> ik ben <b>Anna</b> & 24/7 beschikbaar, "alles mag"'


def _ads(tmp_path: Path, extra: bytes = b"") -> Path:
    ads = [
        record_json(id="s:1", text=HOSTILE, phones=["06-90000001"], city="Utrecht"),
        record_json(
            id="s:2",
            name="Bella",
            age=19,
            text="Jong en nieuw, bel 06-90000001",
            city="Zeist",
            posted_at="2026-03-05T10:00:00+01:00",
        ),
        record_json(
            id="s:3",
            text="Nu in Amersfoort, bel 06-90000001",
            city="Amersfoort",
            posted_at="2026-03-09T10:00:00+01:00",
        ),
    ]
    path = tmp_path / "ads.jsonl"
    path.write_bytes(b"".join(orjson.dumps(a) + b"\n" for a in ads) + extra)
    return path


def test_analyse_writes_everything_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name in (
        "ads.csv",
        "personas.csv",
        "networks.csv",
        "movements.csv",
        "links.csv",
        "report.html",
        "quarantine.jsonl",
    ):
        assert (out / name).is_file(), name
    assert (out / "quarantine.jsonl").read_bytes() == b""


def test_quarantine_gives_exit_3_and_a_message(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = _ads(tmp_path, b'{"id": 1}\nnot json\n')
    result = runner.invoke(app, ["analyse", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 3, result.output
    assert "ads.jsonl:4" in result.output
    assert "ads.jsonl:5" in result.output
    assert "malformed JSON" in result.output
    assert len((out / "quarantine.jsonl").read_bytes().splitlines()) == 2
    assert len((out / "ads.csv").read_text().splitlines()) == 4  # header + 3 ads


def test_unreadable_input_gives_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["analyse", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"), "--quiet"]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
    bad_lang = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(tmp_path / "o"), "--lang", "fr"]
    )
    assert bad_lang.exit_code == 2


def test_same_input_same_bytes(tmp_path: Path) -> None:
    path = _ads(tmp_path)
    outputs = []
    for name, workers in (("a", "1"), ("b", "2")):
        out = tmp_path / name
        result = runner.invoke(
            app, ["analyse", str(path), "--out", str(out), "--quiet", "--workers", workers]
        )
        assert result.exit_code == 0, result.output
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outputs[0] == outputs[1]


def test_report_is_self_contained_escaped_and_marked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.invoke(app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet"])
    html = (out / "report.html").read_text("utf-8")
    assert "<script" not in html  # the ad's script tag is shown as text, never run
    assert "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;Anna&lt;/b&gt;" in html
    assert re.search(r'<mark class="fam-a" title="A05 Onbeperkte beschikbaarheid">24/7', html)
    assert "geen oordeel" in html  # scores are for triage, not verdicts
    assert "<svg" in html
    assert "marker-end" in html
    # No external requests: no remote URLs in src/href, no link or script elements.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html


def test_report_in_english(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet", "--lang", "en"]
    )
    html = (out / "report.html").read_text("utf-8")
    assert '<html lang="en">' in html
    assert "not a verdict" in html
    assert 'title="A05 Unlimited availability"' in html


def test_marked_text_handles_overlaps_and_escapes() -> None:
    text = "a <i>24/7</i> b"
    hits = [
        IndicatorHit("A05", "A", 2, "text", (5, 9), "24/7"),
        IndicatorHit("A06", "A", 2, "text", (6, 12), "4/7</i"),  # overlaps: skipped
    ]
    html = str(marked_text(text, hits, {"A05": 'name "quoted"'}))
    assert html.count("<mark") == 1
    assert 'title="A05 name &#34;quoted&#34;"' in html
    assert html.startswith("a &lt;i&gt;<mark")


def test_store_failure_is_exit_1_and_the_analysis_is_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signaal.settings import get_settings

    (tmp_path / "a-file").write_text("not a folder")
    impossible = tmp_path / "a-file" / "store.db"
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", f"sqlite:///{impossible.as_posix()}")
    get_settings.cache_clear()
    try:
        out = tmp_path / "out"
        result = runner.invoke(
            app,
            [
                "analyse",
                str(_ads(tmp_path)),
                "--out",
                str(out),
                "--quiet",
                "--store",
                "--organisation",
                "Testpolitie",
            ],
        )
        assert result.exit_code == 1, result.output
        assert "error:" in result.output
        assert "store" in result.output
        assert (out / "ads.csv").is_file()  # the analysis itself was written
    finally:
        get_settings.cache_clear()


def _store_organisation(url: str, name: str) -> None:
    from signaal.chain.accounts import create_organisation
    from signaal.store.db import make_engine, session_factory, transaction, upgrade
    from signaal.store.models import OrganisationKind

    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as session:
            create_organisation(session, name=name, kind=OrganisationKind.POLICE)
    finally:
        engine.dispose()


def test_store_needs_an_organisation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet", "--store"]
    )
    assert result.exit_code == 2, result.output
    assert "--organisation" in result.output


def test_store_option_saves_the_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from signaal.settings import get_settings
    from signaal.store.db import make_engine
    from signaal.store.models import AnalysisAd

    url = f"sqlite:///{(tmp_path / 'store.db').as_posix()}"
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "out"
        _store_organisation(url, "Testpolitie")
        result = runner.invoke(
            app,
            [
                "analyse",
                str(_ads(tmp_path)),
                "--out",
                str(out),
                "--quiet",
                "--store",
                "--organisation",
                "Testpolitie",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "Saved in the app store as analysis" in result.output
        engine = make_engine(url)
        with engine.connect() as connection:
            table = AnalysisAd.__tablename__
            stored = connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
            texts = dict(connection.execute(text(f"SELECT ad_id, text FROM {table}")).all())
        engine.dispose()
        assert stored == 3
        # The reviewer reads the ad text; its phone number only as a pseudonym.
        assert texts["s:2"].startswith("Jong en nieuw, bel [phone:")
        assert all("06-90000001" not in t for t in texts.values())
    finally:
        get_settings.cache_clear()
