-- purpose: outbound message statuses (value.statuses[]) of WhatsApp "messages" changes,
--          parsed and checked.
-- grain:   one row per status element (temp table _wa_statuses); reason NULL when usable.
-- params:  none. needs: _bodies (status-only bodies: wa, see stage_json_lines.sql),
--          _wa_changes (wa_changes.sql), _wa_heads (wa_heads.sql).
-- pricing.category is normalised: lower case, and authentication-international (either
-- spelling) counts as authentication. billable falls back to pricing.type when absent.
-- raw (the status as JSON) is NULL for the single status of a fast or status-only body: it
-- is taken from the body only when the status is quarantined (wa_c_rows.sql, writer).
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
    SELECT change_id, seq, source, location, raw, s.* EXCLUDE (status_only)
    FROM (SELECT seq AS change_id, seq, source, location, NULL AS raw, wa AS s FROM _bodies
          WHERE wa.status_only
          UNION ALL
          SELECT change_id, seq, source, location, NULL, s FROM _wa_heads
          WHERE fast AND single_status
          UNION ALL
          SELECT change_id, seq, source, location, raw, _wa_status_fields(false, sender_id, f)
          FROM parsed)
)
SELECT
    change_id, seq, source, location, sender_id, raw,
    id AS message_id, status,
    make_timestamp(TRY_CAST(timestamp AS BIGINT) * 1000000) AS ts,
    recipient_id, recipient_user_id, recipient_parent_user_id, recipient_type, callback,
    error_code,
    CASE WHEN replace(lower(category), '-', '_') = 'authentication_international'
         THEN 'authentication' ELSE lower(category) END AS pricing_category,
    CASE WHEN billable IN ('true', 'false') THEN billable::BOOLEAN
         WHEN pricing_type = 'regular' THEN true
         WHEN pricing_type LIKE 'free%' THEN false END AS billable,
    CASE
        WHEN coalesce(id, '') = '' THEN 'status without an id'
        WHEN status IS NULL THEN 'status without a "status" value'
        WHEN status NOT IN ('sent', 'delivered', 'read', 'failed', 'played')
            THEN 'unknown status "' || status || '"; expected sent, delivered, read, failed or played'
        WHEN TRY_CAST(timestamp AS BIGINT) IS NULL
            THEN 'timestamp ' || coalesce('"' || timestamp || '"', 'missing') || ' is not Unix seconds'
    END AS reason
FROM items;
