"""``python -m signaal.engines.spark ADS --out DIR [options]``, or the same file given to
``spark-submit``: ``signaal analyse ADS --out DIR --engine spark [options]`` on the session that
``spark-submit`` configured (its ``--master``, executors and memory), see docs/spark.md.

    spark-submit --master yarn --deploy-mode client \\
        "$(python -c 'import signaal.engines.spark.__main__ as m; print(m.__file__)')" \\
        hdfs:///archive/ads/ --out results --parquet-out hdfs:///archive/results
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run ``signaal analyse`` with ``--engine spark`` and the given arguments."""
    from signaal.cli import app

    args = list(sys.argv[1:] if argv is None else argv)
    if "--engine" in args or any(a.startswith("--engine=") for a in args):
        sys.stderr.write("signaal.engines.spark always runs the Spark engine: leave out --engine\n")
        raise SystemExit(2)
    app(["analyse", *args, "--engine", "spark"], prog_name="signaal.engines.spark")


if __name__ == "__main__":
    main()
