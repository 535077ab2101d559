"""Retention: raw bodies and per-message events kept no longer than the workspace's policy.

``threadlift retention set --raw-days N --events-days M`` records the policy
(``retention_policy``); ``threadlift retention apply``, run by a scheduler, removes raw
bodies received more than N days ago and message events more than M days old, and logs
each table's count and date range in ``retention_log``.

Raw bodies may not outlive the events they carry (N ≤ M): a body holds its events, so
keeping it longer than them would keep them too.

The canonical rows ingest derived from the bodies it removes stay (sends, inbound
messages, contacts and their identities are facts reports need); they are released from
``ingest_provenance``, so a later ``ingest --rebuild``, which can only replay the bodies
kept, leaves them as they are instead of deleting them. A body's rows are no newer than
its ``received_at`` (a platform reports what already happened), so releasing the rows
older than the cutoff releases every row of the removed bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

from threadlift.errors import InputError, WorkspaceError
from threadlift.ingest.watermarks import IMPLIED
from threadlift.ingest.writer import key_expression
from threadlift.workspace import Workspace, first_row


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days raw bodies and message events are kept (None: forever)."""

    raw_days: int | None
    events_days: int | None


@dataclass(frozen=True)
class Removed:
    """What one table lost in one ``retention apply``."""

    table: str
    cutoff: datetime
    rows: int
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True)
class RetentionRun:
    """What ``apply_retention`` did."""

    applied_at: datetime
    policy: RetentionPolicy
    removed: list[Removed] = field(default_factory=list)


def _naive_utc(moment: datetime | None) -> datetime:
    value = moment or datetime.now(UTC)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def set_retention(
    ws: Workspace, *, raw_days: int | None, events_days: int | None, now: datetime | None = None
) -> RetentionPolicy:
    """Record the retention policy (replacing the previous one).

    Raises:
        InputError: neither limit given, a limit below 1, or raw bodies kept longer than events.
    """
    if raw_days is None and events_days is None:
        raise InputError("give --raw-days, --events-days or both (days to keep)")
    for name, days in (("--raw-days", raw_days), ("--events-days", events_days)):
        if days is not None and days < 1:
            raise InputError(f"{name} {days} is not a number of days to keep; give 1 or more")
    if raw_days is not None and events_days is not None and raw_days > events_days:
        raise InputError(
            f"--raw-days {raw_days} is longer than --events-days {events_days}: a raw body holds "
            "its events, so it cannot be kept longer than they are; lower --raw-days or raise "
            "--events-days"
        )
    if raw_days is None and events_days is not None:
        raise InputError(
            f"--events-days {events_days} without --raw-days would keep the raw bodies, which hold "
            f"the events, forever; give --raw-days of at most {events_days} too"
        )
    con = ws.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM retention_policy")
        con.execute(
            "INSERT INTO retention_policy VALUES ($raw, $events, $at)",
            {"raw": raw_days, "events": events_days, "at": _naive_utc(now)},
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return RetentionPolicy(raw_days, events_days)


def current_policy(ws: Workspace) -> RetentionPolicy | None:
    """The recorded policy, or None when none was set."""
    row = first_row(ws.con, "SELECT raw_days, events_days FROM retention_policy")
    return None if row is None else RetentionPolicy(row[0], row[1])


def apply_retention(ws: Workspace, *, now: datetime | None = None) -> RetentionRun:
    """Remove what is older than the policy allows, in one transaction; log it.

    Raises:
        WorkspaceError: no policy was set.
    """
    policy = current_policy(ws)
    if policy is None:
        raise WorkspaceError(
            f"workspace {ws.path} has no retention policy; set one with "
            "`threadlift retention set --raw-days N --events-days M`"
        )
    applied_at = _naive_utc(now)
    con = ws.con
    removed: list[Removed] = []
    con.execute("BEGIN TRANSACTION")
    try:
        if policy.raw_days is not None:
            cutoff = applied_at - timedelta(days=policy.raw_days)
            _release_rows(con, cutoff)
            removed.append(_remove(con, "raw_bodies", "received_at", cutoff))
        if policy.events_days is not None:
            cutoff = applied_at - timedelta(days=policy.events_days)
            # an event a watermark implied is recorded under IMPLIED as well
            con.execute(
                "DELETE FROM ingest_provenance WHERE list_contains($names, table_name) AND row_key IN "
                f"(SELECT {key_expression('message_events', 'e')} FROM message_events AS e "
                "WHERE e.ts < $cutoff)",
                {"cutoff": cutoff, "names": ["message_events", IMPLIED]},
            )
            removed.append(_remove(con, "message_events", "ts", cutoff))
        for done in removed:
            if done.rows:
                con.execute(
                    "INSERT INTO retention_log VALUES ($at, $table, $cutoff, $rows, $oldest, $newest)",
                    {"at": applied_at, "table": done.table, "cutoff": done.cutoff, "rows": done.rows,
                     "oldest": done.oldest, "newest": done.newest},
                )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if any(done.rows for done in removed):
        con.execute("CHECKPOINT")
    return RetentionRun(applied_at, policy, removed)


_TIMED = {("raw_bodies", "received_at"), ("message_events", "ts")}

_RELEASED: dict[str, str] = {
    "contacts": "t.created_at < $cutoff",
    "identities": "t.contact_id IN (SELECT contact_id FROM contacts WHERE created_at < $cutoff)",
    "consents": "t.ts < $cutoff",
    "messages": "t.sent_at < $cutoff",
    "message_events": "t.ts < $cutoff",
    "inbound": "t.ts < $cutoff",
    "sender_quality": "t.ts < $cutoff",
    "quarantine": (
        "EXISTS (SELECT 1 FROM raw_bodies AS b WHERE b.received_at < $cutoff "
        "AND b.source = t.source AND (t.location = b.location "
        "OR starts_with(t.location, b.location || ' ')))"
    ),
}
"""Per table ingest owns, its rows that bodies received before the cutoff may have made."""


def _release_rows(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> None:
    """Take the rows the expiring bodies may have made out of ``ingest_provenance``."""
    for table, condition in _RELEASED.items():
        names = [table, IMPLIED] if table == "message_events" else [table]
        con.execute(
            "DELETE FROM ingest_provenance WHERE list_contains($names, table_name) AND row_key IN "
            f"(SELECT {key_expression(table, 't')} FROM {table} AS t WHERE {condition})",
            {"names": names, "cutoff": cutoff},
        )


def _remove(con: duckdb.DuckDBPyConnection, table: str, column: str, cutoff: datetime) -> Removed:
    if (table, column) not in _TIMED:
        raise ValueError(f"{table}.{column} is not a retention target")
    row = first_row(
        con, f"SELECT count(*), min({column}), max({column}) FROM {table} WHERE {column} < $cutoff",
        {"cutoff": cutoff},
    )
    assert row is not None
    if row[0]:
        con.execute(f"DELETE FROM {table} WHERE {column} < $cutoff", {"cutoff": cutoff})
    return Removed(table, cutoff, int(row[0]), row[1], row[2])
