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

from pathlib import Path

import duckdb

from threadlift.engines.sqlfiles import quote_identifier, sql_text
from threadlift.errors import InputError
from threadlift.loading import stage_csv_text

PLATFORMS = ("sms", "email")
REQUIRED_COLUMNS = ("message_id", "event", "ts")


def stage_csv(
    con: duckdb.DuckDBPyConnection, path: Path, file_index: int, delimiter: str | None = None
) -> None:
    """Append the rows of a CSV file to ``_staged`` as JSON objects.

    The file is read as ``threadlift load`` reads a CSV (:func:`threadlift.loading.stage_csv_text`):
    a UTF-8 byte-order mark skipped, the delimiter detected, a file that is not UTF-8
    refused with its first bad byte, line and likely encoding. A row the reader cannot
    split into the header's fields goes to quarantine with its line; the rest is kept.
    ``delimiter`` (checked by :func:`threadlift.loading.parse_delimiter`) is detected when None.
    """
    staged = stage_csv_text(con, path, "_csv", delimiter)
    missing = [c for c in REQUIRED_COLUMNS if c not in staged.header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name at least "
            f"{', '.join(REQUIRED_COLUMNS)} (see docs/ingest.md){staged.missing_columns_hint()}"
        )
    fields = ", ".join(
        f"{_sql_string(name)}: {quote_identifier(name, set(staged.header))}"
        for name in staged.header
    )
    con.execute(
        f"INSERT INTO _staged SELECT $source, 'line ' || _line, "
        f"$file::BIGINT * 1000000000 + _line, 0, to_json({{{fields}}})::VARCHAR FROM _csv",
        {"source": str(path), "file": file_index},
    )
    if staged.rejects:
        con.executemany(
            "INSERT INTO _stage_rejects VALUES (?, ?, ?, ?)",
            [(str(path), f"line {line}", reason, text) for line, reason, text in staged.rejects],
        )
    con.execute("DROP TABLE _csv")


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def derive(con: duckdb.DuckDBPyConnection, platform: str) -> None:
    """Fill the candidate tables from the CSV rows in ``_bodies``."""
    con.execute(sql_text("ingest/sms_items"), {"platform": platform})
    con.execute(sql_text("ingest/sms_c_rows"))
