"""Messenger (``object: page``) and Instagram (``object: instagram``) webhooks → candidates.

Both put events in ``entry[].messaging[]`` with millisecond timestamps. An echo
(``message.is_echo``) is the business's own send; any other ``message`` is inbound, as
are postbacks, reactions and referrals (they open the messaging window). Messenger
``delivery`` names delivered ``mids`` and a ``watermark``; ``read`` has only a
watermark: every outbound message to that user from that page sent at or before it is
read (``watermarks`` writes the events watermarks imply). Instagram ``messaging_seen`` names the message read (``read.mid``); Instagram has
no delivery receipts. ``messaging_optins`` for Marketing Messages become consents
(``notification_messages_status`` STOP → revoked, RESUME or a new token → granted).
"""

from __future__ import annotations

import duckdb

from threadlift.engines.sqlfiles import sql_text


def derive(con: duckdb.DuckDBPyConnection, platform: str) -> None:
    """Fill the candidate tables from the Messenger / Instagram bodies in ``_bodies``."""
    con.execute(sql_text("ingest/meta_items"), {"platform": platform})
    con.execute(sql_text("ingest/meta_c_rows"))
