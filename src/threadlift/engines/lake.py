"""The lake layout: one directory of Parquet files per canonical table.

::

    <lake>/
        contacts/        *.parquet   (any number of files, any names; Hive-style
        messages/        *.parquet    partition directories such as market=BR/ work too)
        message_events/  *.parquet
        …                            every canonical table (sql/workspace)
        platform_events/   *.parquet (optional: template status / quality webhooks)
        message_referrals/ *.parquet (optional: ad and page-button entry points)

Columns and types are those of ``sql/workspace/001_canonical_tables.sql``: identifiers
strings, times naive UTC timestamps (Parquet ``TIMESTAMP`` with
``isAdjustedToUTC = false``, as DuckDB and pandas write naive times), ``value`` and
``price`` doubles, ``billable`` boolean, ``bucket`` int. A table missing from the lake
reads as empty. The two optional tables are those WhatsApp ingest fills
(``sql/workspace/003_raw_store.sql``); without them a report says it could not show the
template timeline or apply free-entry-point pricing. :func:`export_lake` writes a
workspace in this layout.
"""

from __future__ import annotations

from pathlib import Path

from threadlift.engines.sqlfiles import quote_identifier
from threadlift.errors import WorkspaceError
from threadlift.workspace import CANONICAL_TABLES, Workspace

INGEST_FACT_TABLES: tuple[str, ...] = ("platform_events", "message_referrals")
"""Tables only WhatsApp ingest fills that reports read (template events, entry points)."""

LAKE_TABLES: tuple[str, ...] = (*CANONICAL_TABLES, *INGEST_FACT_TABLES)
"""The tables a lake may hold: the canonical tables (including ``assignments``) and
:data:`INGEST_FACT_TABLES`."""


def lake_tables(directory: str | Path) -> dict[str, Path]:
    """The canonical tables present in the lake at ``directory``, by name."""
    root = Path(directory)
    if not root.is_dir():
        raise WorkspaceError(
            f"lake {root} is not a directory; write one with threadlift.engines.lake.export_lake "
            "or point to a directory holding <table>/*.parquet"
        )
    return {name: root / name for name in LAKE_TABLES if (root / name).is_dir()}


def export_lake(
    ws: Workspace, directory: str | Path, tables: tuple[str, ...] = LAKE_TABLES
) -> dict[str, int]:
    """Write the workspace's canonical tables to ``directory`` in the lake layout.

    Each table becomes ``<directory>/<table>/part-0.parquet`` (replaced if present).
    Empty tables are written too, so their schema is known to the reader.

    Args:
        ws: The workspace to export.
        directory: The lake's root; created when missing.
        tables: Which canonical tables to write (default: all).

    Returns:
        Rows written per table.
    """
    root = Path(directory)
    written: dict[str, int] = {}
    for table in tables:
        quoted = quote_identifier(table, set(LAKE_TABLES))
        folder = root / table
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        target = folder / "part-0.parquet"
        row = ws.con.execute(
            f"COPY (SELECT * FROM {quoted}) TO $path (FORMAT parquet)", {"path": str(target)}
        ).fetchone()
        written[table] = int(row[0]) if row else 0
    return written
