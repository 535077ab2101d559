"""WhatsApp Cloud API webhooks (``object: whatsapp_business_account``) → candidate rows.

``messages`` changes carry ``statuses`` (sent / delivered / read / failed / played, with
``pricing``, ``conversation``, ``errors`` and ``biz_opaque_callback_data``), inbound
``messages`` of every type (with ``context`` and ``referral``) and ``contacts`` (phone
``wa_id``, BSUID ``user_id``, ``parent_user_id``). ``user_preferences`` stop / resume /
signup become consent events; ``phone_number_quality_update`` becomes sender quality;
every other field (template status / quality / category updates, ``account_update``,
``business_capability_update``, ``account_alerts``…) is kept in ``platform_events``.
There is no send webhook: a message's send is the earliest of its statuses.

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
    "ingest/wa_inbound",
    "ingest/wa_preferences",
    "ingest/wa_contacts",
    "ingest/wa_c_obs",
    "ingest/wa_c_rows",
)


def derive(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the candidate tables from the WhatsApp bodies in ``_bodies``.

    Needs the macros of ``wa_macros.sql``, which :func:`threadlift.ingest.raw.create_staging`
    creates at the start of every ingest and rebuild.
    """
    for step in _STEPS:
        con.execute(sql_text(step))
