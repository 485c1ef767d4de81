"""Both engines on the same generated corpora give byte-identical output files.

The oracle is the local engine (``pipeline.run_file``); the Spark engine reads the same file
through Spark in several partitions (``conftest.SPLIT_BYTES``). Corpora: the default market
(seed 3), the hard market with photos (seed 5) and without (seed 9); the first also with
quarantined, duplicate and changed records, as Parquet, and split into a folder of files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from signaal.ads.outputs import build_tables, write_quarantine, write_tables
from signaal.ads.pipeline import AnalysisResult, PipelineConfig, run_file
from signaal.synth.config import preset_config
from signaal.synth.generate import generate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# One xdist worker runs every Spark test, so that they share one SparkSession (conftest).
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

KEY = "spark-equality-test-key"
OUTPUTS = (
    "ads.csv",
    "personas.csv",
    "networks.csv",
    "movements.csv",
    "links.csv",
    "quarantine.jsonl",
)


def _write(result: AnalysisResult, out: Path) -> Path:
    tables = build_tables(result, pseudonym_key=KEY)
    write_tables(tables, out)
    write_quarantine(result.quarantined, out)
    return out


def _local(path: Path, out: Path) -> tuple[AnalysisResult, Path]:
    result = run_file(path, PipelineConfig(pseudonym_key=KEY, workers=1))
    return result, _write(result, out)


def _on_spark(
    spark: SparkSession, path: str, out: Path, photos_dir: Path | None = None
) -> tuple[AnalysisResult, Path]:
    from signaal.engines.spark.run import run_spark

    config = PipelineConfig(pseudonym_key=KEY, workers=1, photos_dir=photos_dir)
    result = run_spark(spark, path, config)
    return result, _write(result, out)


def _differences(a: Path, b: Path) -> list[str]:
    return [name for name in OUTPUTS if (a / name).read_bytes() != (b / name).read_bytes()]


def _partitions(spark: SparkSession, path: str) -> int:
    from signaal.engines.spark.ads import input_lines

    return input_lines(spark, path).getNumPartitions()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpora")
    default = root / "default"
    generate(preset_config("default", ads=2500, seed=3), default, workers=1)
    photos = root / "hard-photos"
    generate(preset_config("hard", ads=1200, seed=5, photos=True), photos, workers=1)
    hard = root / "hard"
    generate(preset_config("hard", ads=1500, seed=9), hard, workers=1)
    return {
        "default": default / "ads.jsonl",
        "hard-photos": photos / "ads.jsonl",
        "hard": hard / "ads.jsonl",
    }


@pytest.mark.parametrize("name", ["default", "hard-photos", "hard"])
def test_same_tables_on_generated_corpora(
    spark: SparkSession, corpora: dict[str, Path], tmp_path: Path, name: str
) -> None:
    path = corpora[name]
    assert _partitions(spark, str(path)) > 1  # the corpus is split as a large one would be
    local, local_out = _local(path, tmp_path / "local")
    on_spark, spark_out = _on_spark(spark, str(path), tmp_path / "spark")
    assert len(on_spark.ads) == len(local.ads) > 1000
    assert _differences(local_out, spark_out) == []
    if name == "hard-photos":
        assert sum(len(hashes) for hashes in local.photo_hashes.values()) > 100


def _damaged(source: Path, target: Path) -> Path:
    """The corpus with bad records, exact duplicates and changed versions spread through it."""
    lines = source.read_bytes().splitlines(keepends=True)
    first = orjson.loads(lines[0])
    changed = orjson.loads(lines[10])
    changed["text"] = (changed.get("text") or "") + " Nieuw nummer, bel snel."
    bad_date = orjson.loads(lines[20])
    bad_date["id"] = "bad-date-1"
    bad_date["posted_at"] = "gisteren"
    out = [b"\xef\xbb\xbf" + lines[0]]  # a byte-order mark, as a Windows tool writes it
    for number, line in enumerate(lines[1:], start=1):
        out.append(line)
        if number == 300:
            out += [b"not json at all\n", b"\n", b"[1, 2, 3]\n", b"\xff\xfe{}\n"]
        if number == 900:
            out.append(orjson.dumps(bad_date) + b"\n")
            out.append(orjson.dumps(first) + b"\n")  # an exact duplicate, partitions later
        if number == 1500:
            out.append(orjson.dumps(changed) + b"\n")  # the same id with new content
            out.append(lines[5])  # a duplicate line
    out.append(b'{"id": "truncated')  # the last line, cut off without a newline
    target.write_bytes(b"".join(out))
    return target


def test_same_tables_with_quarantined_duplicate_and_changed_records(
    spark: SparkSession, corpora: dict[str, Path], tmp_path: Path
) -> None:
    path = _damaged(corpora["default"], tmp_path / "damaged.jsonl")
    local, local_out = _local(path, tmp_path / "local")
    _, spark_out = _on_spark(spark, str(path), tmp_path / "spark")
    assert local.stats.quarantined >= 5
    assert local.stats.duplicates >= 2
    assert _differences(local_out, spark_out) == []


def test_same_tables_from_parquet(
    spark: SparkSession, corpora: dict[str, Path], tmp_path: Path
) -> None:
    path = corpora["default"]
    parquet = tmp_path / "ads.parquet"
    # One ordered part: a Parquet row is numbered as its line in the JSON Lines file.
    spark.read.json(str(path)).coalesce(1).write.parquet(str(parquet))
    _, local_out = _local(path, tmp_path / "local")
    on_spark, spark_out = _on_spark(spark, parquet.as_uri(), tmp_path / "spark", path.parent)
    assert len(on_spark.ads) > 1000
    assert _differences(local_out, spark_out) == []


def test_a_folder_of_files_is_one_corpus_with_lines_per_file(
    spark: SparkSession, corpora: dict[str, Path], tmp_path: Path
) -> None:
    lines = corpora["default"].read_bytes().splitlines(keepends=True)
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(b"".join(lines))
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "part-1 jan.jsonl").write_bytes(b"".join(lines[:1000]))
    (folder / "part-2.jsonl").write_bytes(b"".join(lines[1000:1200]) + b"not json\n")
    (folder / "part-3.jsonl").write_bytes(b"".join(lines[1200:]))
    _, local_out = _local(whole, tmp_path / "local")
    on_spark, spark_out = _on_spark(
        spark, str(folder), tmp_path / "spark", corpora["default"].parent
    )
    # The same corpus, so the same tables; the bad line is reported in its own file.
    assert _differences(local_out, spark_out) == ["quarantine.jsonl"]
    [bad] = on_spark.quarantined
    assert (bad.source, bad.line) == ("part-2.jsonl", 201)
