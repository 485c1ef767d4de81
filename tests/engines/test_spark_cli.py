"""``signaal analyse --engine spark`` and ``python -m signaal.engines.spark`` from the outside."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from signaal.cli import app
from signaal.synth.config import preset_config
from signaal.synth.generate import generate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

runner = CliRunner()
# One xdist worker runs every Spark test, so that they share one SparkSession (conftest).
spark_group = pytest.mark.xdist_group("spark")
TABLES = ("ads", "personas", "networks", "movements", "links")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-corpus")
    generate(preset_config("default", ads=800, seed=11), root, workers=1)
    with (root / "ads.jsonl").open("ab") as file:
        file.write(b"not json\n")  # one quarantined line: exit code 3 on both engines
    return root / "ads.jsonl"


@pytest.mark.spark
@spark_group
def test_cli_spark_engine_writes_the_local_tables_and_parquet_copies(
    spark: SparkSession, corpus: Path, tmp_path: Path
) -> None:
    local, on_spark = tmp_path / "local", tmp_path / "spark"
    args = ["analyse", str(corpus), "--quiet", "--workers", "1", "--out"]
    done_local = runner.invoke(app, [*args, str(local)])
    done_spark = runner.invoke(app, [*args, str(on_spark), "--engine", "spark"])
    assert done_local.exit_code == done_spark.exit_code == 3, done_spark.output
    for name in (*(f"{t}.csv" for t in TABLES), "quarantine.jsonl"):
        assert (local / name).read_bytes() == (on_spark / name).read_bytes(), name
    assert (on_spark / "report.html").is_file()
    for table in TABLES:
        with (local / f"{table}.csv").open(newline="", encoding="utf-8") as file:
            expected = [tuple(row.values()) for row in csv.DictReader(file)]
        frame = spark.read.parquet(str(on_spark / "parquet" / f"{table}.parquet"))
        rows = [tuple("" if v is None else str(v) for v in row) for row in frame.collect()]
        assert sorted(rows) == sorted(expected), table
        assert len(rows) > 0 or table == "movements"


@pytest.mark.spark
@spark_group
def test_cli_spark_engine_missing_input_is_bad_usage(spark: SparkSession, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "analyse",
            str(tmp_path / "nothing.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--quiet",
            "--engine",
            "spark",
        ],
    )
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_spark_options_need_the_spark_engine(corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["analyse", str(corpus), "--out", str(tmp_path), "--spark-master", "local[2]"]
    )
    assert result.exit_code == 2
    assert "only with --engine spark" in result.output


def test_entry_point_refuses_another_engine() -> None:
    from signaal.engines.spark.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["ads.jsonl", "--out", "x", "--engine", "local"])
    assert exit_.value.code == 2
