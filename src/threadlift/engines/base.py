"""The engine seam: where the ``sql/`` queries run.

Analysis code asks an :class:`Engine` to run a named SQL file with bound parameters and
gets rows back (per-arm aggregates only). :class:`~threadlift.engines.duckdb.DuckDBEngine`
runs the files as they are written (DuckDB dialect); other engines
(:mod:`threadlift.engines.spark`) transpile the same files with sqlglot
(:mod:`threadlift.engines.dialects`), so there is one set of queries, not one per engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


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
