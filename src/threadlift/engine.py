"""The engine seam: where the ``sql/`` queries run.

Analysis code asks an :class:`Engine` to run a named SQL file with bound parameters and
gets rows back (per-arm aggregates only). :class:`DuckDBEngine` runs the files as they
are written (DuckDB dialect); other engines (Spark, in :mod:`threadlift.engines`)
transpile the same files with sqlglot, so there is one set of queries, not one per engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb

from threadlift.sqlfiles import sql_text


@dataclass(frozen=True)
class Rows:
    """A query result: column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Engine(Protocol):
    """Runs threadlift's named SQL files."""

    name: str

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> Rows:
        """Run ``sql/<query>.sql`` with ``params`` bound; return its rows (none for DDL)."""
        ...


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
