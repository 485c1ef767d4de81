"""The Spark engine: the ads pipeline on a Spark cluster (or Spark local mode), the same stages
and the same result as the local engine (``signaal analyse ADS --out DIR --engine spark``, or
``spark-submit`` of ``signaal/engines/spark/__main__.py``; see docs/spark.md).

What runs where today:

* **executors** — reading the input from any path Spark reads (JSON Lines as raw bytes, or
  Parquet), line numbering, and the per-ad stages (parse, normalise, indicators) in
  ``mapPartitions`` with the local engine's chunk function (``engines.chunks``); reposts are
  analysed once per executor process. Photo files are hashed there too (``items.SparkItems``).
  Connected components over an edge DataFrame (``components.connected_components``,
  large-star / small-star) are ready for the link stage but not yet called by it.
* **driver** — the per-ad results are streamed back in input order (``toLocalIterator``, one
  partition at a time) into ``pipeline.analyse_results``: deduplication, price medians, photo
  clustering, link, movement and risk run there with the local engine's functions, and the five
  CSV tables are written by the local writer. The Parquet copies are written by Spark.

So the driver still holds the analysed corpus (as the local engine does): the corpus-wide
stages are not yet distributed (docs/spark.md, "What is distributed").

pyspark is an optional extra (``signaal[spark]``); nothing outside this package imports it.
"""
