"""An engine that runs the portable (other-engine) rewrites of the SQL on DuckDB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from threadlift.engines import dialects
from threadlift.engines.base import Rows
from threadlift.engines.sqlfiles import sql_text


class PortableDuckDB:
    """Runs each query after the portable rewrites (as rendered for Trino), on DuckDB.

    The rewrites (ASOF join by ``lead``, VALUES tables, star exclusion, timestamp adds,
    sum for fsum) are what every other engine runs; running them on DuckDB checks that
    they keep the reference results.
    """

    name = "portable-duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.rendered: list[str] = []

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        tree = dialects.bind(dialects.parse(sql_text(query)), dict(params or {}))
        text = dialects.portable(tree, "trino").sql(dialect="duckdb")
        self.rendered.append(text)
        cursor = self.con.execute(text)
        if cursor.description is None:
            return Rows([], [])
        return Rows([d[0] for d in cursor.description], cursor.fetchall())
