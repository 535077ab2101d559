"""The default engine: the ``sql/`` files run as written on the workspace's DuckDB connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from threadlift.engines.base import Rows
from threadlift.engines.sqlfiles import sql_text


class DuckDBEngine:
    """The default engine: the workspace's own DuckDB connection."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        cursor = self.con.execute(sql_text(query), dict(params or {}))
        if cursor.description is None:
            return Rows([], [])
        columns = [d[0] for d in cursor.description]
        return Rows(columns, cursor.fetchall())
