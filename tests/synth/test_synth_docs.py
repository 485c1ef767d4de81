"""Docs that cannot drift: every schema field and every generator parameter is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from signaal.ads.records import ad_record_schema
from signaal.synth import SynthConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_ad_record_field_is_documented() -> None:
    text = (DOCS / "ad-record.md").read_text("utf-8")
    for name in ad_record_schema()["properties"]:
        assert f"### `{name}`" in text, name


def test_every_synth_parameter_is_documented() -> None:
    text = (DOCS / "synthetic-data.md").read_text("utf-8")
    for f in dataclasses.fields(SynthConfig):
        assert f"| `{f.name}` |" in text, f.name
