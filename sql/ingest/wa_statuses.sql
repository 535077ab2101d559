-- purpose: outbound message statuses (value.statuses[]) of WhatsApp "messages" changes,
--          parsed and checked.
-- grain:   one row per status element (temp table _wa_statuses); reason NULL when usable.
-- params:  none. needs: temp table _wa_changes.
-- pricing.category is normalised: lower case, and authentication-international (either
-- spelling) counts as authentication. billable falls back to pricing.type when absent.
CREATE OR REPLACE TEMP TABLE _wa_statuses AS
WITH elements AS (
    SELECT change_id, source, location, sender_id, s.item
    FROM _wa_changes AS ch,
         unnest(json_extract(ch.doc, '$.entry[0].changes[0].value.statuses[*]')) AS s(item)
    WHERE ch.fast AND ch.has_statuses
    UNION ALL
    SELECT change_id, source, location, sender_id, s.item
    FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.statuses[*]')) AS s(item)
    WHERE NOT ch.fast AND ch.field = 'messages' AND ch.has_statuses
),
items AS MATERIALIZED (
    SELECT change_id, source, location, sender_id,
           first_status[1:12] AS f, first_status[13] AS raw
    FROM _wa_changes
    WHERE first_status IS NOT NULL
    UNION ALL
    SELECT change_id, source, location, sender_id,
           json_extract_string(item, [
               '$.id', '$.status', '$.timestamp', '$.recipient_id', '$.recipient_user_id',
               '$.recipient_parent_user_id', '$.recipient_type', '$.biz_opaque_callback_data',
               '$.errors[0].code', '$.pricing.billable', '$.pricing.type',
               '$.pricing.category']),
           item::VARCHAR
    FROM elements
)
SELECT
    change_id, source, location, sender_id, raw,
    f[1] AS message_id, f[2] AS status,
    make_timestamp(TRY_CAST(f[3] AS BIGINT) * 1000000) AS ts,
    f[4] AS recipient_id, f[5] AS recipient_user_id, f[6] AS recipient_parent_user_id,
    f[7] AS recipient_type, f[8] AS callback, f[9] AS error_code,
    CASE WHEN replace(lower(f[12]), '-', '_') = 'authentication_international'
         THEN 'authentication' ELSE lower(f[12]) END AS pricing_category,
    CASE WHEN f[10] IN ('true', 'false') THEN f[10]::BOOLEAN
         WHEN f[11] = 'regular' THEN true
         WHEN f[11] LIKE 'free%' THEN false END AS billable,
    CASE
        WHEN coalesce(f[1], '') = '' THEN 'status without an id'
        WHEN f[2] IS NULL THEN 'status without a "status" value'
        WHEN f[2] NOT IN ('sent', 'delivered', 'read', 'failed', 'played')
            THEN 'unknown status "' || f[2] || '"; expected sent, delivered, read, failed or played'
        WHEN TRY_CAST(f[3] AS BIGINT) IS NULL
            THEN 'timestamp ' || coalesce('"' || f[3] || '"', 'missing') || ' is not Unix seconds'
    END AS reason
FROM items;
