"""Engines other than the embedded DuckDB default (see :mod:`threadlift.engine`).

* :mod:`threadlift.engines.spark`: the ``sql/`` queries on Spark over a Parquet lake
  (``pip install 'threadlift[spark]'``); :func:`~threadlift.engines.lake.export_lake`
  writes a workspace in that layout.
* :mod:`threadlift.engines.lake`: the lake layout (one directory of Parquet files per
  canonical table), shared by every lake engine.

pyspark is imported only by :mod:`threadlift.engines.spark`, so importing this package is
cheap.
"""

from __future__ import annotations

from threadlift.engines.lake import LAKE_TABLES, export_lake, lake_tables

__all__ = ["LAKE_TABLES", "export_lake", "lake_tables"]
