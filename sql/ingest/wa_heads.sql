-- purpose: parse every WhatsApp body once into the fields the mapper needs: the envelope of
--          its first change and, for the usual body (one entry, one "messages" change), its
--          statuses as typed fields.
-- grain:   one row per body (temp table _wa_heads); fast marks the usual body, whose change
--          is read from this row (single_status: its one status, in the s_* columns, kept
--          as plain columns, cheaper to store than the nested struct); other bodies are
--          split into changes by wa_split.sql.
-- params:  none. needs: _bodies (platform whatsapp).
-- from_json reads each body once (typed: a value of another JSON type becomes NULL, as with
-- json_extract_string); there is no WHERE clause so the parse is evaluated once per row.
-- doc is the body only when the change holds more than a single status (other item lists,
-- or several statuses), so status-only bodies are never copied; the JSON text of a single
-- status is taken from the body only if it is quarantined (raw NULL, see wa_c_rows.sql).
CREATE OR REPLACE TEMP TABLE _wa_heads AS
WITH parsed AS (
    SELECT b.body_hash, b.source, b.location, b.seq, b.body,
           from_json(b.body, '{"entry": [{"id": "VARCHAR", "time": "VARCHAR", "changes": [{
               "field": "VARCHAR",
               "value": {"metadata": {"display_phone_number": "VARCHAR"},
                         "messages": "JSON", "contacts": "JSON", "errors": "JSON",
                         "statuses": [{"id": "VARCHAR", "status": "VARCHAR",
                                       "timestamp": "VARCHAR", "recipient_id": "VARCHAR",
                                       "recipient_user_id": "VARCHAR",
                                       "recipient_parent_user_id": "VARCHAR",
                                       "recipient_type": "VARCHAR",
                                       "biz_opaque_callback_data": "VARCHAR",
                                       "errors": [{"code": "VARCHAR"}],
                                       "pricing": {"billable": "VARCHAR", "type": "VARCHAR",
                                                   "category": "VARCHAR"}}]}}]}]}') AS j
    FROM _bodies AS b
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
       nullif(regexp_replace(coalesce(v.metadata.display_phone_number, ''), '[^0-9]', '', 'g'),
              '') AS sender_id,
       coalesce(len(v.statuses) > 1, false) AS has_statuses,
       v.messages IS NOT NULL AS has_messages,
       v.contacts IS NOT NULL AS has_contacts,
       v.errors IS NOT NULL AS has_errors,
       len(v.statuses) = 1 AS single_status,
       v.statuses[1].id AS s_id,
       v.statuses[1].status AS s_status,
       v.statuses[1].timestamp AS s_timestamp,
       v.statuses[1].recipient_id AS s_recipient_id,
       v.statuses[1].recipient_user_id AS s_recipient_user_id,
       v.statuses[1].recipient_parent_user_id AS s_recipient_parent_user_id,
       v.statuses[1].recipient_type AS s_recipient_type,
       v.statuses[1].biz_opaque_callback_data AS s_callback,
       v.statuses[1].errors[1].code AS s_error_code,
       v.statuses[1].pricing.billable AS s_billable,
       v.statuses[1].pricing.type AS s_pricing_type,
       v.statuses[1].pricing.category AS s_pricing_category
FROM shaped;
