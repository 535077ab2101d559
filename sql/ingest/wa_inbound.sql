-- purpose: inbound user messages (value.messages[]) of WhatsApp "messages" changes, parsed
--          and checked.
-- grain:   one row per message element (temp table _wa_inbound); reason NULL when usable.
-- params:  none. needs: temp table _wa_changes.
-- kind: 'inbound' for user messages (they open the customer-service window), 'event' for
-- system notices, revokes and edits (kept as platform events, not as inbound).
-- The messages[] array of a change (a fast change's own, messages_json from wa_heads.sql;
-- a split change's from its doc) is parsed twice as a whole, both lists unnested side by
-- side: typed, for the fields, and as a list of JSON values, for each element's text. That
-- is several times faster than json_extract's '$[*]' followed by a parse per element (a
-- JSON null element becomes SQL NULL there, hence the coalesce). A "referral": null is no
-- referral.
CREATE OR REPLACE TEMP TABLE _wa_inbound AS
WITH arrays AS (
    SELECT change_id, body_hash, account_id, source, location, sender_id, messages_json AS arr
    FROM _wa_changes
    WHERE fast AND has_messages
    UNION ALL
    SELECT change_id, body_hash, account_id, source, location, sender_id,
           json_extract(doc, '$.messages')
    FROM _wa_changes
    WHERE NOT fast AND field = 'messages' AND has_messages
),
items AS (
    SELECT change_id, body_hash, account_id, source, location, sender_id,
           coalesce(unnest(from_json(arr, '["JSON"]'))::VARCHAR, 'null') AS raw,
           unnest(from_json(arr, '[{"id": "VARCHAR", "timestamp": "VARCHAR", "type": "VARCHAR",
                                    "from": "VARCHAR", "from_user_id": "VARCHAR",
                                    "from_parent_user_id": "VARCHAR", "context": {"id": "VARCHAR"},
                                    "referral": {"source_type": "VARCHAR", "source_id": "VARCHAR",
                                                 "ctwa_clid": "VARCHAR"},
                                    "system": {"type": "VARCHAR"}}]')) AS f
    FROM arrays
)
SELECT
    change_id, body_hash, account_id, source, location, sender_id, raw,
    f.id AS message_id, f.type AS type,
    make_timestamp(TRY_CAST(f.timestamp AS BIGINT) * 1000000) AS ts,
    f."from" AS from_phone,
    f.from_user_id AS from_user_id,
    f.from_parent_user_id AS from_parent_user_id,
    f.context.id AS context_message_id,
    f.referral.source_type AS referral_source_type,
    f.referral.source_id AS referral_source_id,
    f.referral.ctwa_clid AS referral_ctwa_clid,
    f.referral IS NOT NULL AS has_referral,
    CASE WHEN f.type IN ('system', 'revoke', 'edit') THEN 'event' ELSE 'inbound' END AS kind,
    CASE WHEN f.type = 'system' THEN 'system:' || coalesce(f.system.type, 'unknown')
         ELSE f.type END AS event,
    CASE
        WHEN coalesce(f.id, '') = '' THEN 'message without an id'
        WHEN TRY_CAST(f.timestamp AS BIGINT) IS NULL
            THEN 'timestamp ' || coalesce('"' || f.timestamp || '"', 'missing')
                 || ' is not Unix seconds'
        WHEN f."from" IS NULL AND f.from_user_id IS NULL
            THEN 'message without a sender (from / from_user_id)'
    END AS reason
FROM items;
