"""Link and movement parameters reach a run: ``--config FILE`` and ``SIGNAAL_ANALYSIS_CONFIG``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signaal.ads.link import LinkConfig
from signaal.ads.movement import MovementConfig
from signaal.ads.stage_config import load_stage_config, parse_stage_config
from signaal.cli import app
from signaal.errors import InputError
from signaal.settings import get_settings

from .test_analyse_cli import _ads

runner = CliRunner()


def test_a_config_sets_what_it_names_and_keeps_every_other_default() -> None:
    config = parse_stage_config(
        {
            "link": {"max_personas_per_contact": 7, "text": {"threshold": 0.7}, "places": ["X"]},
            "movement": {"rotation_days": 21, "turnover_days": [4, 12.5]},
        }
    )
    assert config.link.max_personas_per_contact == 7
    assert config.link.text.threshold == 0.7
    assert config.link.text.num_perm == LinkConfig().text.num_perm
    assert config.link.places == ("X",)
    assert config.link.age_tolerance == LinkConfig().age_tolerance
    assert config.movement.rotation_days == 21.0
    assert config.movement.turnover_days == (4.0, 12.5)
    assert config.movement.comove_days == MovementConfig().comove_days
    assert parse_stage_config({}).link == LinkConfig()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must hold a JSON object"),
        ({"linking": {}}, "unknown section 'linking'"),
        ({"link": {"max_personas": 3}}, "link.max_personas: unknown parameter"),
        ({"link": {"max_personas_per_contact": "many"}}, "expected a whole number"),
        ({"link": {"max_personas_per_contact": 2.5}}, "expected a whole number"),
        ({"link": {"max_personas_per_contact": True}}, "expected a whole number"),
        ({"link": {"age_tolerance": -1}}, "must not be negative"),
        ({"movement": {"rotation_days": "NaN"}}, "expected a number"),
        ({"movement": {"turnover_days": [1]}}, "expected a list of 2 values"),
        ({"link": {"text": {"bands": 3}}}, "bands * rows must equal num_perm"),
        ({"link": {"text": 5}}, "link.text: must be a JSON object"),
        ({"link": {"places": "Utrecht"}}, "link.places: expected a list"),
    ],
)
def test_a_bad_config_names_the_field_and_why(raw: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_stage_config(raw, where="stages.json")
    assert caught.value.message.startswith("stages.json")
    assert message in caught.value.message


def test_an_unreadable_or_invalid_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        load_stage_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_stage_config(broken)


def _networks(out: Path) -> str:
    return (out / "networks.csv").read_text(encoding="utf-8")


def test_the_config_reaches_the_run_from_the_option_and_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ads = _ads(tmp_path)
    # One phone behind two names: linked by default; with a limit of one persona per contact
    # point the phone is too common to link, and the two personas fall apart.
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"link": {"max_personas_per_contact": 1}}), encoding="utf-8")
    runs = {}
    for name, extra in (("default", []), ("option", ["--config", str(strict)])):
        out = tmp_path / name
        result = runner.invoke(app, ["analyse", str(ads), "--out", str(out), "--quiet", *extra])
        assert result.exit_code == 0, result.output
        runs[name] = _networks(out)
    assert runs["option"] != runs["default"]
    assert runs["default"].count("\n") < runs["option"].count("\n")

    monkeypatch.setenv("SIGNAAL_ANALYSIS_CONFIG", str(strict))
    get_settings.cache_clear()
    try:
        out = tmp_path / "setting"
        result = runner.invoke(app, ["analyse", str(ads), "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        assert _networks(out) == runs["option"]
    finally:
        get_settings.cache_clear()


def test_a_bad_config_is_bad_usage_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"movement": {"rotation_min": "three"}}), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet", "--config", str(bad)]
    )
    assert result.exit_code == 2
    assert "movement.rotation_min" in result.output
    assert not (out / "networks.csv").exists()
