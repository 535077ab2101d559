-- purpose: parse the WhatsApp bodies that are not status-only into the fields the mapper
--          needs: the envelope of the first change and, for the usual body (one entry, one
--          "messages" change), its single status as typed fields.
-- grain:   one row per body that is not status-only (wa NULL; temp table _wa_heads); fast
--          marks the usual body, whose change is read from this row (single_status: its one
--          status, in s, as _wa_status_row shapes it); other bodies are split into changes
--          by wa_split.sql. Status-only bodies (most traffic) were parsed while staging and
--          are read from _bodies.wa by wa_statuses.sql.
-- params:  none. needs: _bodies (platform whatsapp), the macros of wa_macros.sql.
-- The parse (_wa_json) is evaluated once per row: there is no WHERE clause on it.
-- doc is the body only when the change holds more than a single status (other item lists,
-- or several statuses), so status-only bodies are never copied; the JSON text of a single
-- status is taken from the body only if it is quarantined (raw NULL, see wa_c_rows.sql).
-- messages_json and contacts_json are the change's messages[] and contacts[] arrays as this
-- parse found them, so the mapper splits those small arrays, not the whole body again.
CREATE OR REPLACE TEMP TABLE _wa_heads AS
WITH parsed AS (
    SELECT b.body_hash, b.source, b.location, b.seq, b.body, _wa_json(b.body) AS j
    FROM (SELECT * FROM _bodies WHERE wa IS NULL) AS b
),
shaped AS (
    SELECT body_hash, source, location, seq, body,
           j.entry[1].id AS account_id,
           j.entry[1].time AS entry_time,
           len(j.entry) = 1 AND len(j.entry[1].changes) = 1
               AND j.entry[1].changes[1].field = 'messages' AS fast,
           j.entry[1].changes[1].value AS v
    FROM parsed
)
SELECT seq AS change_id, body_hash, source, location, seq, account_id,
       make_timestamp(TRY_CAST(entry_time AS BIGINT) * 1000000) AS entry_ts,
       'messages' AS field,
       coalesce(fast, false) AS fast,
       CASE WHEN len(v.statuses) > 1 OR v.messages IS NOT NULL OR v.contacts IS NOT NULL
                 OR v.errors IS NOT NULL THEN body END AS doc,
       _wa_sender(v.metadata.display_phone_number) AS sender_id,
       coalesce(len(v.statuses) > 1, false) AS has_statuses,
       v.messages IS NOT NULL AS has_messages,
       v.contacts IS NOT NULL AS has_contacts,
       v.errors IS NOT NULL AS has_errors,
       v.messages AS messages_json,
       v.contacts AS contacts_json,
       len(v.statuses) = 1 AS single_status,
       CASE WHEN len(v.statuses) = 1
            THEN _wa_status_row(_wa_sender(v.metadata.display_phone_number), v.statuses[1])
       END AS s
FROM shaped;
