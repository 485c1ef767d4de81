"""The Spark engine's tests: one SparkSession in local mode for the whole test session.

Skipped (with the reason) when pyspark (the spark extra) or Java is missing, except under
``./dev check``, which installs both and sets ``SIGNAAL_REQUIRE_SPARK=1``: there a missing one
fails the tests instead of hiding them.
"""

from __future__ import annotations

import importlib.util
import os
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
    missing = []
    if importlib.util.find_spec("pyspark") is None:
        missing.append("the spark extra (pyspark) is not installed")
    if shutil.which("java") is None:
        missing.append("Java is not installed (./dev check installs openjdk-17-jre-headless)")
    if missing:
        if os.environ.get("SIGNAAL_REQUIRE_SPARK") == "1":
            pytest.fail("; ".join(missing))
        pytest.skip("; ".join(missing))
    from signaal.engines.spark.session import spark_session

    session = spark_session("local[2]", app_name="signaal-tests")
    session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.files.maxPartitionBytes", str(SPLIT_BYTES))
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()
