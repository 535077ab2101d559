"""Messenger / Instagram delivery and read watermarks → the events they imply.

A watermark (``delivery.watermark``, ``read.watermark``) says that every message the page
sent to that user at or before it was delivered / read, without naming the messages. A send
has a watermark event for a status exactly when no stored event of that status names it (a
delivery's ``mids``, Instagram's ``read.mid``, an event loaded by hand) and a stored
watermark of its thread (user, page) covers its ``sent_at``; the event is timed at the
earliest report among the covering watermarks.

That is a function of everything stored about the thread, not of the call a body came in:
each call recomputes the implied events of every thread its bodies touch (a new watermark,
a send seen, an event naming a send), from all the thread's stored watermarks and events, and
moves, drops or adds rows to match. So any split of a stream into calls, in any order, gives
the rows of one call of the whole stream, which ``ingest --rebuild`` also gives.

An implied row is recorded in ``ingest_provenance`` twice: as a ``message_events`` row, so a
rebuild takes it out like any other, and under :data:`IMPLIED`, which lets a later call tell
it from an event a body named. An event a body names is never moved or dropped; when a body
names the very row a watermark implied, the row stops being implied.
"""

from __future__ import annotations

import duckdb

from threadlift.engines.sqlfiles import sql_text
from threadlift.ingest.writer import insert_new, key_expression
from threadlift.workspace import first_row

IMPLIED = "watermark_events"
"""``ingest_provenance.table_name`` of the message_events rows a watermark implies."""

_RECEIPTS = "('delivered', 'read')"
"""The statuses a watermark can imply."""


def write(con: duckdb.DuckDBPyConnection, platform: str) -> int:
    """Store the call's watermarks (``_w_watermarks``) and bring the implied events of the
    threads the call touched up to date; return how many event rows were added.

    Needs the writer's shaped candidates (``_w_messages``, ``_w_events``, ``_w_watermarks``)
    and its rows written: events a body names and sends with their final ``sent_at``.
    """
    con.execute(
        "INSERT INTO read_watermarks SELECT DISTINCT platform, contact_id, sender_id, status, "
        "watermark, ts FROM _w_watermarks AS w WHERE contact_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM read_watermarks AS x WHERE x.platform = w.platform "
        "AND x.contact_id = w.contact_id AND x.sender_id = w.sender_id AND x.status = w.status "
        "AND x.watermark = w.watermark AND x.ts = w.ts)"
    )
    stored = first_row(
        con, "SELECT EXISTS (SELECT 1 FROM read_watermarks WHERE platform = $platform)",
        {"platform": platform},
    )
    if not stored or not stored[0]:
        return 0  # no watermark: nothing is implied (every WhatsApp, Apple, SMS call)
    tag = {"implied": IMPLIED}
    con.execute(sql_text("ingest/watermark_sends"), {"platform": platform})
    # a row a body of this call names is a named event from now on, even if a watermark
    # implied the very same row before (one call of all the bodies would have it named)
    con.execute(
        "DELETE FROM ingest_provenance WHERE table_name = $implied AND row_key IN ("
        f"SELECT {key_expression('message_events', 'e')} FROM _w_events AS e "
        f"WHERE e.status IN {_RECEIPTS})",
        tag,
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _wm_current AS "
        "SELECT e.*, e.row_key IN (SELECT row_key FROM ingest_provenance "
        "WHERE table_name = $implied) AS implied "
        f"FROM (SELECT e.message_id, e.status, e.ts, {key_expression('message_events', 'e')} "
        "AS row_key FROM message_events AS e SEMI JOIN _wm_sends AS s "
        f"ON s.message_id = e.message_id WHERE e.status IN {_RECEIPTS}) AS e",
        tag,
    )
    con.execute(sql_text("ingest/watermark_events"))
    # implied rows that moved (an earlier covering watermark came late) or are no longer
    # implied (a body named the send): out, with their provenance
    con.execute(
        "DELETE FROM message_events AS e USING _wm_stale AS s WHERE e.message_id = s.message_id "
        "AND e.status = s.status AND e.ts = s.ts AND e.error_code IS NULL"
    )
    con.execute(
        "DELETE FROM ingest_provenance WHERE table_name IN ('message_events', $implied) "
        "AND row_key IN (SELECT row_key FROM _wm_stale)",
        tag,
    )
    added = insert_new(
        con,
        "message_events",
        "SELECT message_id, status, ts, NULL AS error_code, NULL AS pricing_category, "
        "NULL::BOOLEAN AS billable FROM _wm_events",
    )
    con.execute(
        f"INSERT INTO ingest_provenance SELECT $implied, {key_expression('message_events', '_new')} "
        "FROM _new",
        tag,
    )
    return added
