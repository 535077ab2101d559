"""WhatsApp Cloud API webhooks (``object: whatsapp_business_account``) → candidate rows.

``messages`` changes carry ``statuses`` (sent / delivered / read / failed / played, with
``pricing``, ``conversation``, ``errors`` and ``biz_opaque_callback_data``), inbound
``messages`` of every type (with ``context`` and ``referral``) and ``contacts`` (phone
``wa_id``, BSUID ``user_id``, ``parent_user_id``). ``user_preferences`` stop / resume /
signup become consent events; ``phone_number_quality_update`` becomes sender quality;
every other field (template status / quality / category updates, ``account_update``,
``business_capability_update``, ``account_alerts``…) is kept in ``platform_events``.
There is no send webhook: a message's send is the earliest of its statuses.

Most traffic is *status-only* bodies (one entry, one ``messages`` change holding one status
and nothing else the mapper reads; ``stage_json_lines.sql`` parses their status while
staging). Their sends and recipient observations are mapped by a dedicated path
(``wa_status_only.sql``: one observation per recipient instead of one per message), which
writes the same rows as the general one; the general path maps everything else, and the
statuses of a message id that other bodies also report.

References:
    Meta, WhatsApp Cloud API webhook references: "Status messages", "messages",
    "phone_number_quality_update", "user_preferences", "message_template_status_update",
    "Business-scoped user IDs" (developers.facebook.com/documentation/business-messaging/
    whatsapp/webhooks/reference/…, pages updated 2025–2026). docs/ingest.md maps each field.
"""

from __future__ import annotations

import duckdb

from threadlift.engines.sqlfiles import sql_text

_STEPS = (
    "ingest/wa_heads",
    "ingest/wa_split",
    "ingest/wa_changes",
    "ingest/wa_statuses",
    "ingest/wa_status_only",
    "ingest/wa_inbound",
    "ingest/wa_preferences",
    "ingest/wa_contacts",
    "ingest/wa_c_obs",
    "ingest/wa_c_rows",
)


_STATUS_ONLY_PATH = True
"""Whether status-only bodies take their dedicated path. Only the test that proves both
paths write the same rows turns it off (tests/ingest/test_status_path_differential.py)."""


def derive(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the candidate tables from the WhatsApp bodies in ``_bodies``.

    Needs the macros of ``wa_macros.sql``, which :func:`threadlift.ingest.raw.create_staging`
    creates at the start of every ingest and rebuild.
    """
    con.execute(sql_text("ingest/wa_route"), {"status_only_path": _STATUS_ONLY_PATH})
    for step in _STEPS:
        con.execute(sql_text(step))
