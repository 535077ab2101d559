"""Test support: write rows straight into a workspace's tables."""

from __future__ import annotations

from collections.abc import Sequence

from threadlift.workspace import Workspace


def insert_rows(ws: Workspace, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert ``rows`` (tuples in the table's column order) into ``table``."""
    marks = ", ".join("?" for _ in rows[0])
    ws.con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
