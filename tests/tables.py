"""Test support: write rows straight into a workspace's tables, and read the state path's
eligibility verdicts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from threadlift.assign.assignment import evaluation_params, get_global_holdout
from threadlift.engines.sqlfiles import sql_text
from threadlift.experiment import Experiment
from threadlift.workspace import Workspace


def insert_rows(ws: Workspace, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert ``rows`` (tuples in the table's column order) into ``table``.

    A row may leave out the table's trailing columns (columns a later schema version added,
    such as rate_card's tier bounds): they stay NULL.
    """
    columns = [str(c[0]) for c in ws.con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t "
        "ORDER BY ordinal_position", {"t": table},
    ).fetchall()][: len(rows[0])]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in rows[0])
    ws.con.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def state_macro_arguments() -> list[str]:
    """The parameter names ``_tl_evaluate`` takes (sql/assign/eligibility/evaluate.sql), in order."""
    text = sql_text("assign/eligibility/evaluate")
    signature = re.search(r"MACRO _tl_evaluate\((.*?)\)\s*AS TABLE", text, re.S)
    assert signature is not None
    return [name.strip().removeprefix("p_") for name in signature.group(1).split(",")]


def state_verdicts(ws: Workspace, experiment: Experiment, at: datetime) -> set[tuple[Any, ...]]:
    """(contact_id, assigned, reason) of the state path for ``experiment`` at ``at``.

    The macros must be defined on the connection (``assign._define_state_evaluation``).
    """
    params = evaluation_params(experiment, at, get_global_holdout(ws))
    names = state_macro_arguments()
    assert set(names) <= set(params)
    call = ", ".join(f"${name}" for name in names)
    return set(ws.con.execute(
        f"SELECT contact_id, assigned, reason FROM _tl_evaluate({call})",
        {name: params[name] for name in names},
    ).fetchall())
