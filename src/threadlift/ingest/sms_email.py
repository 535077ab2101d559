"""SMS and e-mail: a CSV of sends and delivery events from the sending system → candidates.

Columns (header required; extra columns ignored, empty cells are missing values):

``message_id`` (required), ``event`` (required: ``send``, ``sent``, ``delivered``,
``read`` / ``opened``, ``failed`` / ``bounced``), ``ts`` (required: ISO 8601, naive = UTC,
or Unix seconds), ``to`` (phone number or e-mail address; required on ``send``),
``sender_id``, ``category``, ``campaign_id``, ``experiment_id``, ``arm``, ``template``,
``error_code``.

A ``send`` row is a message (and its ``sent`` event); the other rows are events of it.
Each CSV row is kept in the raw store as a JSON object, so rebuilds work as for webhooks.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from threadlift.engines.sqlfiles import sql_text
from threadlift.errors import InputError

PLATFORMS = ("sms", "email")
REQUIRED_COLUMNS = ("message_id", "event", "ts")


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, file_index: int) -> None:
    """Append the rows of a CSV file to ``_staged`` as JSON objects."""
    try:
        con.execute(sql_text("ingest/stage_csv"), {"path": str(path)})
    except duckdb.Error as exc:
        raise InputError(_csv_problem(path, str(exc))) from exc
    columns = {
        str(row[0]) for row in con.execute("SELECT column_name FROM (DESCRIBE _csv)").fetchall()
    }
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name at least "
            f"{', '.join(REQUIRED_COLUMNS)} (see docs/ingest.md)"
        )
    con.execute(
        "INSERT INTO _staged SELECT $source, 'line ' || line_no, "
        "$file::BIGINT * 1000000000 + line_no, 0, body FROM _csv",
        {"source": str(path), "file": file_index},
    )


def _csv_problem(path: Path, detail: str) -> str:
    """One line: what DuckDB could not read in ``path``, where, and what to do about it."""
    line = re.search(r"CSV Error on Line: (\d+)", detail)
    where = f" (line {line.group(1)})" if line else ""
    if "not utf-8 encoded" in detail or "Invalid unicode" in detail:
        return (
            f"{path}: not UTF-8 text{where}; save the file as UTF-8 (for example "
            f"`iconv -f latin1 -t utf-8 {path.name}`) and ingest it again"
        )
    first = next((text.strip() for text in detail.splitlines() if text.strip()), "unreadable")
    return f"{path}: not a readable CSV file{where}: {first}"


def derive(con: duckdb.DuckDBPyConnection, platform: str) -> None:
    """Fill the candidate tables from the CSV rows in ``_bodies``."""
    con.execute(sql_text("ingest/sms_items"), {"platform": platform})
    con.execute(sql_text("ingest/sms_c_rows"))
