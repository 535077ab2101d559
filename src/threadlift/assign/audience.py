"""The sandbox of an experiment's ``audience_sql``: workspace tables only.

An experiment file is data: whoever can drop one into an experiments folder must not be
able to read the machine's files, environment or network through it. ``audience_sql``
is parsed by DuckDB's own parser (``json_serialize_sql``, so no other dialect's reading
can differ from what DuckDB would run) and refused unless every table it reads is a plain
name (a workspace table, view or one of its own CTEs) and it calls no table function
(``read_csv``, ``read_text``, ``glob``, ``query``…) and none of the scalar functions that
reveal the process's surroundings (:data:`DENIED_FUNCTIONS`). When it runs, the names it
reads must exist in the workspace (:func:`check_tables_exist`), so no replacement scan can
turn an unknown name into a file or a Python object. Where a process or connection exists
only to evaluate audiences (``threadlift assign``, the API's snapshot copy), DuckDB's own
external access is turned off as well (:func:`lock_down`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from threadlift.errors import ConfigError

PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A table name that DuckDB cannot read as a file path."""

DENIED_FUNCTIONS = frozenset(
    {"getenv", "current_setting", "which_secret", "read_text", "read_blob", "sql_auto_complete"}
)
"""Scalar functions that reveal the environment, settings, secrets or files."""

ALLOWED_SCHEMAS = frozenset({"", "main"})


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of a serialized statement, depth first."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _nodes(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _nodes(inner)


@cache
def audience_tables(text: str, field: str = "audience_sql") -> frozenset[str]:
    """The workspace tables ``text`` reads (lower case, its own CTEs left out).

    ``field`` names the query in the messages (``audience_sql``, a segment's ``sql``):
    both run in this sandbox.

    Raises:
        ValueError: the query reads a file or calls a table function or a denied
            function, or names a table in another catalog or schema; the message names it.
    """
    with duckdb.connect() as con:
        row = con.execute("SELECT json_serialize_sql(?)", [text]).fetchone()
    serialized = json.loads(row[0]) if row else {"error": True}
    if serialized.get("error"):
        raise ValueError(f"DuckDB cannot parse it: {serialized.get('error_message', 'syntax error')}")
    ctes: set[str] = set()
    tables: set[str] = set()
    for node in _nodes(serialized["statements"]):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            ctes.update(str(entry["key"]).lower() for entry in cte_map.get("map", []))
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            name = node.get("function", {}).get("function_name", "?")
            raise ValueError(
                f"it calls the table function {name}(); {field} may read workspace tables "
                "only (load a file with `threadlift load` first)"
            )
        if kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            where = (str(node.get("catalog_name", "")), str(node.get("schema_name", "")))
            if where[0] or where[1] not in ALLOWED_SCHEMAS or not PLAIN_NAME.fullmatch(name):
                shown = ".".join(part for part in (*where, name) if part)
                raise ValueError(
                    f"it reads {shown!r}, which is not a plain workspace table name; "
                    f"{field} may read workspace tables only"
                )
            tables.add(name.lower())
        if node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if name in DENIED_FUNCTIONS:
                raise ValueError(f"it calls {name}(), which {field} may not use")
    return frozenset(tables - ctes)


def check_tables_exist(
    con: duckdb.DuckDBPyConnection, text: str, source: str, field: str = "audience_sql"
) -> None:
    """Refuse ``text`` unless every table it reads is a table or view of the workspace
    (or a temporary one the caller created on its connection, as a notebook may).

    Raises:
        ConfigError: naming the missing tables and ``source`` (the experiment).
    """
    present = {
        str(name).lower()
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog IN (current_database(), 'temp') AND table_schema = 'main'"
        ).fetchall()
    }
    missing = sorted(audience_tables(text, field) - present)
    if missing:
        raise ConfigError(
            f"{source}: {field} reads {', '.join(missing)}, which the workspace does not "
            "have; load them first (threadlift load, or a table created in the workspace)"
        )


def lock_down(con: duckdb.DuckDBPyConnection, writable: list[Path] | tuple[Path, ...] = ()) -> None:
    """Turn off DuckDB's access to files, network and extensions on ``con`` for good.

    What the connection already has open (the workspace, temporary files) keeps working;
    only the files in ``writable`` can still be written (exports). A database instance
    cannot turn access back on, so this is for a process (``threadlift assign``) or a
    connection (the API's in-memory snapshot copy) that lives only for the evaluation; a
    notebook's workspace connection relies on :func:`audience_tables` and
    :func:`check_tables_exist` alone.
    """
    allowed = [str(path.resolve()) for path in writable]
    con.execute("SET allowed_paths = $paths", {"paths": allowed})
    con.execute("SET enable_external_access = false")
