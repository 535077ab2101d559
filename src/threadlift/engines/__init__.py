"""Where threadlift's SQL runs, and the SQL itself.

* :mod:`threadlift.engines.sqlfiles`: the ``sql/`` files shipped inside the package,
  loaded by name.
* :mod:`threadlift.engines.base`: the :class:`~threadlift.engines.base.Engine` seam
  (run a named SQL file with bound parameters, get rows back).
* :mod:`threadlift.engines.duckdb`: the default engine, the workspace's own connection.
* :mod:`threadlift.engines.dialects`: the same files transpiled (sqlglot) for Spark,
  BigQuery, Snowflake and Trino.
* :mod:`threadlift.engines.spark`: the ``sql/`` queries on Spark over a Parquet lake
  (``pip install 'threadlift[spark]'``).
* :mod:`threadlift.engines.lake`: the lake layout (one directory of Parquet files per
  canonical table), shared by every lake engine;
  :func:`~threadlift.engines.lake.export_lake` writes it.

pyspark is imported only by :mod:`threadlift.engines.spark`, so importing this package is
cheap.
"""
