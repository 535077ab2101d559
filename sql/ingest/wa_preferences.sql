-- purpose: marketing stop / resume / signup events (value.user_preferences[]) of WhatsApp
--          "user_preferences" changes, parsed and checked.
-- grain:   one row per preference element (temp table _wa_preferences); reason NULL when usable.
-- params:  none. needs: temp table _wa_changes.
CREATE OR REPLACE TEMP TABLE _wa_preferences AS
WITH items AS MATERIALIZED (
    SELECT ch.change_id, ch.source, ch.location, ch.sender_id, p.item,
           row_number() OVER () AS item_id
    FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.user_preferences[*]')) AS p(item)
    WHERE NOT ch.fast AND ch.field = 'user_preferences'
)
SELECT
    change_id, item_id, source, location, sender_id, item::VARCHAR AS raw,
    item ->> 'wa_id' AS wa_id,
    item ->> 'user_id' AS user_id,
    item ->> 'parent_user_id' AS parent_user_id,
    make_timestamp(TRY_CAST(item ->> 'timestamp' AS BIGINT) * 1000000) AS ts,
    CASE item ->> 'value' WHEN 'stop' THEN 'revoked' WHEN 'resume' THEN 'granted'
         WHEN 'signup' THEN 'granted' END AS status,
    CASE
        WHEN coalesce(item ->> 'value', '') NOT IN ('stop', 'resume', 'signup')
            THEN 'unknown user_preferences value ' || coalesce('"' || (item ->> 'value') || '"', '(missing)')
                 || '; expected stop, resume or signup'
        WHEN coalesce(item ->> 'category', '') <> 'marketing_messages'
            THEN 'unknown user_preferences category ' || coalesce('"' || (item ->> 'category') || '"', '(missing)')
                 || '; expected marketing_messages'
        WHEN TRY_CAST(item ->> 'timestamp' AS BIGINT) IS NULL THEN 'timestamp is not Unix seconds'
        WHEN item ->> 'wa_id' IS NULL AND item ->> 'user_id' IS NULL
            THEN 'preference without a user (wa_id / user_id)'
    END AS reason
FROM items;
