-- purpose: inbound user messages (value.messages[]) of WhatsApp "messages" changes, parsed
--          and checked.
-- grain:   one row per message element (temp table _wa_inbound); reason NULL when usable.
-- params:  none. needs: temp table _wa_changes.
-- kind: 'inbound' for user messages (they open the customer-service window), 'event' for
-- system notices, revokes and edits (kept as platform events, not as inbound).
CREATE OR REPLACE TEMP TABLE _wa_inbound AS
WITH elements AS (
    SELECT ch.change_id, ch.body_hash, ch.account_id, ch.source, ch.location, ch.sender_id, m.item
    FROM _wa_changes AS ch,
         unnest(json_extract(ch.doc, '$.entry[0].changes[0].value.messages[*]')) AS m(item)
    WHERE ch.fast AND ch.has_messages
    UNION ALL
    SELECT ch.change_id, ch.body_hash, ch.account_id, ch.source, ch.location, ch.sender_id, m.item
    FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.messages[*]')) AS m(item)
    WHERE NOT ch.fast AND ch.field = 'messages' AND ch.has_messages
),
items AS MATERIALIZED (
    SELECT *, item ->> 'id' AS message_id, item ->> 'timestamp' AS ts_raw, item ->> 'type' AS type
    FROM elements
)
SELECT
    change_id, body_hash, account_id, source, location, sender_id, item::VARCHAR AS raw,
    message_id, type,
    make_timestamp(TRY_CAST(ts_raw AS BIGINT) * 1000000) AS ts,
    item ->> 'from' AS from_phone,
    item ->> 'from_user_id' AS from_user_id,
    item ->> 'from_parent_user_id' AS from_parent_user_id,
    item ->> '$.context.id' AS context_message_id,
    item ->> '$.referral.source_type' AS referral_source_type,
    item ->> '$.referral.source_id' AS referral_source_id,
    item ->> '$.referral.ctwa_clid' AS referral_ctwa_clid,
    (item -> 'referral') IS NOT NULL AS has_referral,
    CASE WHEN type IN ('system', 'revoke', 'edit') THEN 'event' ELSE 'inbound' END AS kind,
    CASE WHEN type = 'system' THEN 'system:' || coalesce(item ->> '$.system.type', 'unknown')
         ELSE type END AS event,
    CASE
        WHEN coalesce(message_id, '') = '' THEN 'message without an id'
        WHEN TRY_CAST(ts_raw AS BIGINT) IS NULL
            THEN 'timestamp ' || coalesce('"' || ts_raw || '"', 'missing') || ' is not Unix seconds'
        WHEN item ->> 'from' IS NULL AND item ->> 'from_user_id' IS NULL
            THEN 'message without a sender (from / from_user_id)'
    END AS reason
FROM items;
