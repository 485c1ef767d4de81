"""The SparkSession of a run: the one ``spark-submit`` made, or a new one for ``--spark-master``."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

#: The master when none is given and none is configured (not under ``spark-submit``).
DEFAULT_MASTER = "local[*]"


def spark_session(master: str | None = None, *, app_name: str = "signaal") -> SparkSession:
    """The active session, or a new one on ``master``.

    Under ``spark-submit`` the master and resources come from the submit command (``master``
    None keeps them); otherwise ``master`` or ``local[*]``. In local mode the Python workers
    are this interpreter (so they import this installation of signaal); on a cluster the
    executors need signaal installed (docs/spark.md). Timestamps read from Parquet are taken
    in UTC, as the ad records' ``posted_at`` are.
    """
    builder = SparkSession.builder.appName(app_name)
    if master is None and SparkSession.getActiveSession() is None:
        # getOrCreate() without a master fails outside spark-submit; spark.master is set there.
        from pyspark import SparkConf

        configured = SparkConf().get("spark.master")
        master_used = configured or DEFAULT_MASTER
        if configured is None:
            builder = builder.master(DEFAULT_MASTER)
    else:
        master_used = master or ""
        if master is not None:
            builder = builder.master(master)
    if master_used.startswith("local"):
        # The Python workers are started with PYSPARK_PYTHON (read when the context starts).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    # Signaal draws its own progress bars.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    session = builder.getOrCreate()
    return session
