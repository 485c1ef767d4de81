"""The SparkSession of a run: the one ``spark-submit`` made, or a new one for ``--spark-master``."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession


def spark_session(master: str | None = None, *, app_name: str = "signaal") -> SparkSession:
    """The active session, or a new one on ``master``.

    Under ``spark-submit`` the master and resources come from the submit command (``master``
    None keeps them); otherwise ``master`` or pyspark's default, ``local[*]``. In local mode
    the Python workers are this interpreter unless PYSPARK_PYTHON says otherwise (so they
    import this installation of signaal); on a cluster the executors need signaal installed
    (docs/spark.md). Timestamps read from Parquet are taken in UTC, as the ad records'
    ``posted_at`` are.
    """
    if master is None or master.startswith("local"):
        # Without a master pyspark runs locally (local[*]), unless spark-submit gave one; its
        # Python workers are started with PYSPARK_PYTHON (spark-submit sets it), else python3.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    return _configured(builder).getOrCreate()


def _configured(builder: SparkSession.Builder) -> SparkSession.Builder:
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    # Signaal draws its own progress bars.
    return builder.config("spark.ui.showConsoleProgress", "false")
