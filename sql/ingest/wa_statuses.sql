-- purpose: outbound message statuses (value.statuses[]) of WhatsApp "messages" changes,
--          parsed and checked.
-- grain:   one row per status element (temp table _wa_statuses); reason NULL when usable.
-- params:  none. needs: _wa_changes (wa_changes.sql), _wa_heads (wa_heads.sql).
-- pricing.category is normalised: lower case, and authentication-international (either
-- spelling) counts as authentication. billable falls back to pricing.type when absent.
-- raw (the status as JSON) is NULL for the single status of a fast body: it is taken from
-- the body only when the status is quarantined (wa_c_rows.sql, writer).
CREATE OR REPLACE TEMP TABLE _wa_statuses AS
WITH elements AS (
    SELECT change_id, seq, source, location, sender_id, s.item
    FROM _wa_changes AS ch,
         unnest(json_extract(ch.doc, '$.entry[0].changes[0].value.statuses[*]')) AS s(item)
    WHERE ch.fast AND ch.has_statuses
    UNION ALL
    SELECT change_id, seq, source, location, sender_id, s.item
    FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.statuses[*]')) AS s(item)
    WHERE NOT ch.fast AND ch.field = 'messages' AND ch.has_statuses
),
parsed AS (
    SELECT change_id, seq, source, location, sender_id,
           from_json(item, '{"id": "VARCHAR", "status": "VARCHAR", "timestamp": "VARCHAR",
                             "recipient_id": "VARCHAR", "recipient_user_id": "VARCHAR",
                             "recipient_parent_user_id": "VARCHAR",
                             "recipient_type": "VARCHAR", "biz_opaque_callback_data": "VARCHAR",
                             "errors": [{"code": "VARCHAR"}],
                             "pricing": {"billable": "VARCHAR", "type": "VARCHAR",
                                         "category": "VARCHAR"}}') AS f,
           item::VARCHAR AS raw
    FROM elements
),
items AS (
    SELECT change_id, seq, source, location, sender_id, NULL AS raw,
           s_id AS id, s_status AS status, s_timestamp AS ts_raw,
           s_recipient_id AS recipient_id, s_recipient_user_id AS recipient_user_id,
           s_recipient_parent_user_id AS recipient_parent_user_id,
           s_recipient_type AS recipient_type, s_callback AS callback,
           s_error_code AS error_code, s_billable AS billable_raw,
           s_pricing_type AS pricing_type, s_pricing_category AS category_raw
    FROM _wa_heads
    WHERE fast AND single_status
    UNION ALL
    SELECT change_id, seq, source, location, sender_id, raw,
           f.id, f.status, f.timestamp, f.recipient_id, f.recipient_user_id,
           f.recipient_parent_user_id, f.recipient_type, f.biz_opaque_callback_data,
           f.errors[1].code, f.pricing.billable, f.pricing.type, f.pricing.category
    FROM parsed
)
SELECT
    change_id, seq, source, location, sender_id, raw,
    id AS message_id, status,
    make_timestamp(TRY_CAST(ts_raw AS BIGINT) * 1000000) AS ts,
    recipient_id, recipient_user_id, recipient_parent_user_id, recipient_type, callback,
    error_code,
    CASE WHEN replace(lower(category_raw), '-', '_') = 'authentication_international'
         THEN 'authentication' ELSE lower(category_raw) END AS pricing_category,
    CASE WHEN billable_raw IN ('true', 'false') THEN billable_raw::BOOLEAN
         WHEN pricing_type = 'regular' THEN true
         WHEN pricing_type LIKE 'free%' THEN false END AS billable,
    CASE
        WHEN coalesce(id, '') = '' THEN 'status without an id'
        WHEN status IS NULL THEN 'status without a "status" value'
        WHEN status NOT IN ('sent', 'delivered', 'read', 'failed', 'played')
            THEN 'unknown status "' || status || '"; expected sent, delivered, read, failed or played'
        WHEN TRY_CAST(ts_raw AS BIGINT) IS NULL
            THEN 'timestamp ' || coalesce('"' || ts_raw || '"', 'missing') || ' is not Unix seconds'
    END AS reason
FROM items;
