"""The Spark engine's tests: one SparkSession in local mode for the whole test session.

Skipped (with the reason) when pyspark (the spark extra) or Java is missing; ``./dev check``
installs both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Small input splits, so that even a test corpus of a few thousand ads spans several
#: partitions (reposts, duplicates and line numbers across partition borders).
SPLIT_BYTES = 128 * 1024


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (./dev check installs openjdk-17-jre-headless)")
    from signaal.engines.spark.session import spark_session

    session = spark_session("local[2]", app_name="signaal-tests")
    session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.files.maxPartitionBytes", str(SPLIT_BYTES))
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()
