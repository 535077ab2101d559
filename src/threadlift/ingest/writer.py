"""Turn the candidate rows of one ingest call into canonical rows.

Every insert skips rows whose natural key (``workspace.NATURAL_KEYS``) already exists, so
ingesting the same bodies twice adds nothing, and records the key of each row it adds in
``ingest_provenance`` so that a rebuild can take out exactly what ingest put in (rows a
user loaded with ``threadlift load`` are never touched).
"""

from __future__ import annotations

import duckdb

from threadlift.engines.sqlfiles import quote_identifier, sql_text
from threadlift.workspace import NATURAL_KEYS

_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id", "market", "created_at"),
    "identities": ("contact_id", "channel", "address", "sender_id"),
    "consents": ("contact_id", "channel", "sender_id", "scope", "status", "ts", "source"),
    "messages": (
        "message_id", "contact_id", "channel", "sender_id", "experiment_id", "arm",
        "campaign_id", "template", "category", "sent_at",
    ),
    "message_events": ("message_id", "status", "ts", "error_code", "pricing_category", "billable"),
    "inbound": (
        "message_id", "contact_id", "channel", "sender_id", "ts", "type", "context_message_id",
    ),
    "sender_quality": ("sender_id", "ts", "quality_rating", "messaging_limit_tier", "event"),
}
"""Canonical tables ingest writes, with their columns in order (the allow-list)."""

TABLES = tuple(_TABLE_COLUMNS)

QUARANTINE_KEY = ("source", "location", "reason")
_ALLOWED = frozenset(
    {column for columns in _TABLE_COLUMNS.values() for column in columns}
    | set(_TABLE_COLUMNS)
    | set(QUARANTINE_KEY)
    | {"quarantine"}
)


def _q(name: str) -> str:
    return quote_identifier(name, _ALLOWED)


def key_expression(table: str, alias: str) -> str:
    """SQL for the md5 of a row's natural key (NULL-safe) as a number, as stored in
    ingest_provenance (``md5_number``: 16 bytes, cheaper to write than 32 hex digits)."""
    keys = QUARANTINE_KEY if table == "quarantine" else NATURAL_KEYS[table]
    parts = ", ".join(f"coalesce({alias}.{_q(k)}::VARCHAR, chr(0))" for k in keys)
    return f"md5_number(concat_ws(chr(31), {parts}))"


def forget_ingested(con: duckdb.DuckDBPyConnection) -> None:
    """Delete every row ingest derived from the raw store (before replaying it)."""
    for table in (*_TABLE_COLUMNS, "quarantine"):
        con.execute(
            f"DELETE FROM {_q(table)} WHERE {key_expression(table, _q(table))} IN "
            "(SELECT row_key FROM ingest_provenance WHERE table_name = $table)",
            {"table": table},
        )
    con.execute("DELETE FROM ingest_provenance")
    con.execute("DELETE FROM platform_events")
    con.execute("DELETE FROM message_referrals")
    con.execute("DELETE FROM read_watermarks")


def refresh_owned(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the aggregate columns of rows ingest owns from everything stored so far.

    A send's ``sent_at`` (earliest sent / submitted event, else earliest event) and
    pricing category, and a contact's ``created_at`` (first time seen), depend on all
    the bodies about them; recomputing them from the canonical tables after each call makes
    the result independent of how deliveries were split across calls. Sends are recomputed
    when they were known before this call (``_w_prior``): a send first seen now already has
    the values of its statuses, all of which are in this call. The events a watermark implies
    (``watermarks``, written after this) never move a ``sent_at``: they concern Messenger and
    Instagram sends, whose rows come from echoes that carry their ``sent`` event. Likewise only contacts that existed before the call can get an earlier
    ``created_at``: one created now already has the earliest time of its component.
    """
    con.execute(
        f"""
        UPDATE messages SET sent_at = f.sent_at, category = coalesce(f.category, messages.category)
        FROM (
            SELECT e.message_id,
                   coalesce(min(e.ts) FILTER (WHERE e.status IN ('sent', 'submitted')),
                            min(e.ts)) AS sent_at,
                   arg_min(e.pricing_category, (e.status <> 'sent', e.ts, e.pricing_category))
                       FILTER (WHERE e.pricing_category IS NOT NULL) AS category
            FROM message_events AS e
            WHERE e.message_id IN (SELECT message_id FROM _w_prior)
            GROUP BY e.message_id
        ) AS f
        WHERE messages.message_id = f.message_id
          AND (messages.sent_at IS DISTINCT FROM f.sent_at
               OR (f.category IS NOT NULL AND messages.category IS DISTINCT FROM f.category))
          AND {key_expression("messages", "messages")} IN
              (SELECT row_key FROM ingest_provenance WHERE table_name = 'messages')
        """
    )
    con.execute(
        f"""
        UPDATE contacts SET created_at = x.created_at
        FROM (
            SELECT contact_id, min(created_at) AS created_at
            FROM _comp_contact WHERE contact_id IS NOT NULL AND NOT is_new GROUP BY contact_id
        ) AS x
        WHERE contacts.contact_id = x.contact_id AND x.created_at < contacts.created_at
          AND {key_expression("contacts", "contacts")} IN
              (SELECT row_key FROM ingest_provenance WHERE table_name = 'contacts')
        """
    )


def insert_new(
    con: duckdb.DuckDBPyConnection, table: str, select_sql: str, *, unique: bool = True
) -> int:
    """Insert the rows of ``select_sql`` whose natural key is new; return how many.

    ``unique=False`` when ``select_sql`` may repeat a key: the first row in column order
    is kept, so the choice does not depend on arrival order.
    """
    columns = _TABLE_COLUMNS[table]
    column_list = ", ".join(_q(c) for c in columns)
    keys = ", ".join(_q(k) for k in NATURAL_KEYS[table])
    condition = " AND ".join(
        f"x.{_q(k)} IS NOT DISTINCT FROM t.{_q(k)}" for k in NATURAL_KEYS[table]
    )
    distinct = "" if unique else f"DISTINCT ON ({keys}) "
    order = "" if unique else f" ORDER BY {column_list}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _new AS SELECT {distinct}{column_list} "
        f"FROM ({select_sql}) AS t "
        f"WHERE NOT EXISTS (SELECT 1 FROM {_q(table)} AS x WHERE {condition}){order}"
    )
    con.execute(f"INSERT INTO {_q(table)} ({column_list}) SELECT {column_list} FROM _new")
    con.execute(
        f"INSERT INTO ingest_provenance SELECT $table, {key_expression(table, '_new')} FROM _new",
        {"table": table},
    )
    row = con.execute("SELECT count(*) FROM _new").fetchone()
    return int(row[0]) if row else 0


def insert_quarantine(con: duckdb.DuckDBPyConnection, select_sql: str, *, derived: bool) -> int:
    """Quarantine rows (source, location, reason, raw, target_table) not already there.

    ``derived`` rows come from the raw store and are recorded in provenance, so a rebuild
    replaces them; rejected input lines never reached the raw store and stay.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _newq AS SELECT DISTINCT source, location, reason, "
        f"raw, target_table FROM ({select_sql}) AS t WHERE NOT EXISTS (SELECT 1 FROM "
        "quarantine AS q WHERE q.source = t.source AND q.location IS NOT DISTINCT FROM t.location "
        "AND q.reason = t.reason)"
    )
    con.execute(
        "INSERT INTO quarantine (source, location, reason, raw, ingested_at, target_table) "
        "SELECT source, location, reason, raw, now()::TIMESTAMP, target_table FROM _newq"
    )
    if derived:
        con.execute(
            "INSERT INTO ingest_provenance SELECT 'quarantine', "
            f"{key_expression('quarantine', '_newq')} FROM _newq"
        )
    row = con.execute("SELECT count(*) FROM _newq").fetchone()
    return int(row[0]) if row else 0


def write(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
    """Write the shaped candidates; return (rows added per table, rows quarantined).

    Watermarks are stored, and the events they imply written, by ``watermarks.write`` next.

    A send without a contact is quarantined with its item's JSON, or, when the mapper kept
    none (a WhatsApp body carrying a single status is not copied item by item), with the
    body it came from.
    """
    con.execute(sql_text("ingest/write_shape"))
    con.execute(sql_text("ingest/prior_messages"))
    rows: dict[str, int] = {}
    rows["contacts"] = insert_new(con, "contacts", "SELECT * FROM _new_contacts")
    rows["identities"] = insert_new(
        con, "identities", "SELECT * FROM _new_identities", unique=False
    )
    rows["messages"] = insert_new(
        con, "messages", "SELECT * FROM _w_messages WHERE contact_id IS NOT NULL"
    )
    rows["message_events"] = insert_new(con, "message_events", "SELECT * FROM _w_events")
    rows["inbound"] = insert_new(
        con, "inbound", "SELECT * FROM _w_inbound WHERE contact_id IS NOT NULL"
    )
    rows["consents"] = insert_new(
        con,
        "consents",
        "SELECT contact_id, channel, sender_id, scope, status, ts, source_tag AS source "
        "FROM _w_consents WHERE contact_id IS NOT NULL",
        unique=False,
    )
    rows["sender_quality"] = insert_new(
        con, "sender_quality", "SELECT * FROM _c_sender_quality", unique=False
    )
    # the raw store keeps hashes as md5_number; platform_events, which reports read, the
    # md5's hex digits (the number's 16 bytes, little-endian, read back pair by pair)
    con.execute(
        "INSERT INTO platform_events SELECT DISTINCT * FROM ("
        "SELECT * REPLACE (lower(array_to_string(list_reverse(regexp_extract_all("
        "lpad(hex(body_hash), 32, '0'), '..')), '')) AS body_hash) FROM _c_platform_events"
        ") AS p WHERE NOT EXISTS (SELECT 1 FROM platform_events AS x "
        "WHERE x.body_hash = p.body_hash AND x.field = p.field "
        "AND x.detail IS NOT DISTINCT FROM p.detail)"
    )
    con.execute(
        "INSERT INTO message_referrals SELECT * FROM _w_referrals AS r WHERE NOT EXISTS "
        "(SELECT 1 FROM message_referrals AS x WHERE x.platform = r.platform "
        "AND x.message_id = r.message_id)"
    )
    refresh_owned(con)
    quarantined = insert_quarantine(
        con,
        "SELECT source, location, reason, raw, target_table FROM _c_quarantine "
        "UNION ALL SELECT m.source, m.location || ' message ' || m.message_id, m.reason, "
        "coalesce(m.raw, b.body), 'messages' "
        "FROM (SELECT * FROM _w_messages WHERE reason IS NOT NULL) AS m "
        "LEFT JOIN _bodies AS b ON m.raw IS NULL AND b.source = m.source "
        "AND b.location = m.location WHERE NOT EXISTS "
        "(SELECT 1 FROM messages AS x WHERE x.message_id = m.message_id) "
        "UNION ALL SELECT source, location || ' message ' || message_id, reason, raw, 'inbound' "
        "FROM _w_inbound WHERE reason IS NOT NULL "
        "UNION ALL SELECT source, location, reason, raw, 'consents' FROM _w_consents "
        "WHERE reason IS NOT NULL "
        "UNION ALL SELECT source, location, reason, raw, 'read_watermarks' FROM _w_watermarks "
        "WHERE reason IS NOT NULL",
        derived=True,
    )
    return rows, quarantined
