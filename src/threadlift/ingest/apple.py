"""Apple Messages for Business provider logs → candidate rows.

Apple gives messaging service providers no delivery or read receipts: the only signal
for an outbound message is that the provider accepted (submitted) it. So an outbound
record becomes a send with a ``submitted`` event (or ``failed`` with the provider's error
code), never ``delivered`` or ``read``; engagement is the user's inbound replies.

One JSON object per line (docs/ingest.md):
``{"direction": "inbound" | "outbound", "id", "source_id", "destination_id",
"timestamp", "type", "status", "error_code", "context_message_id", "experiment_id",
"arm", "campaign_id", "template", "category"}`` — ``id``, ``source-id`` and
``destination-id`` are the headers of Apple's MSP REST API (either spelling is read);
inbound ``source_id`` is the user's opaque id and ``destination_id`` the business id;
outbound the other way round. ``typing_start`` / ``typing_end`` / ``close`` records are
kept as platform events.
"""

from __future__ import annotations

import duckdb

from threadlift.engines.sqlfiles import sql_text


def derive(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the candidate tables from the Apple log records in ``_bodies``."""
    con.execute(sql_text("ingest/apple_items"))
    con.execute(sql_text("ingest/apple_c_rows"))
