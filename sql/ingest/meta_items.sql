-- purpose: the events of Messenger / Instagram bodies (entry[].messaging[]), parsed and
--          checked: who the user and the page are, what kind of event it is.
-- grain:   one row per messaging event (temp table _meta_items); reason NULL when usable.
-- params:  $platform VARCHAR (messenger or instagram).
-- Timestamps are milliseconds since the epoch. For an echo the page is the sender and the
-- user the recipient; for everything else the other way round.
CREATE OR REPLACE TEMP TABLE _meta_items AS
WITH items AS MATERIALIZED (
    SELECT b.body_hash, b.source, b.location, e.entry ->> 'id' AS account_id, i.item,
           CASE
               WHEN (i.item -> 'message') IS NOT NULL AND (i.item ->> '$.message.is_echo') = 'true'
                   THEN 'echo'
               WHEN (i.item -> 'message') IS NOT NULL THEN 'message'
               WHEN (i.item -> 'delivery') IS NOT NULL THEN 'delivery'
               WHEN (i.item -> 'read') IS NOT NULL THEN 'read'
               WHEN (i.item -> 'optin') IS NOT NULL THEN 'optin'
               WHEN (i.item -> 'postback') IS NOT NULL THEN 'postback'
               WHEN (i.item -> 'reaction') IS NOT NULL THEN 'reaction'
               WHEN (i.item -> 'referral') IS NOT NULL THEN 'referral'
               ELSE 'other'
           END AS kind
    FROM _bodies AS b,
         unnest(json_extract(b.body, '$.entry[*]')) AS e(entry),
         unnest(json_extract(e.entry, '$.messaging[*]')) AS i(item)
)
SELECT body_hash, source, location, account_id, item::VARCHAR AS raw, kind, $platform AS platform,
       CASE WHEN kind = 'echo' THEN item ->> '$.recipient.id' ELSE item ->> '$.sender.id' END AS user_id,
       CASE WHEN kind = 'echo' THEN item ->> '$.sender.id' ELSE item ->> '$.recipient.id' END AS page_id,
       epoch_ms(TRY_CAST(item ->> 'timestamp' AS BIGINT)) AS ts,
       coalesce(item ->> '$.message.mid', item ->> '$.postback.mid', item ->> '$.read.mid') AS mid,
       item ->> '$.message.metadata' AS tracking,
       item ->> '$.message.reply_to.mid' AS reply_to,
       CASE WHEN (item -> '$.message.quick_reply') IS NOT NULL THEN 'quick_reply'
            WHEN (item -> '$.message.attachments') IS NOT NULL
                THEN coalesce(item ->> '$.message.attachments[0].type', 'attachment')
            WHEN (item -> '$.message.text') IS NOT NULL THEN 'text'
            ELSE kind END AS type,
       json_extract_string(item, '$.delivery.mids[*]') AS delivered_mids,
       epoch_ms(TRY_CAST(coalesce(item ->> '$.delivery.watermark', item ->> '$.read.watermark') AS BIGINT))
           AS watermark,
       item ->> '$.optin.type' AS optin_type,
       item ->> '$.optin.notification_messages_status' AS optin_status,
       item ->> '$.optin.notification_messages_token' AS optin_token,
       coalesce(item ->> '$.message.referral.source', item ->> '$.referral.source') AS referral_source,
       coalesce(item ->> '$.message.referral.ad_id', item ->> '$.referral.ad_id') AS referral_ad_id,
       (coalesce(item -> '$.message.referral', item -> 'referral')) IS NOT NULL AS has_referral,
       CASE
           WHEN item ->> '$.sender.id' IS NULL OR item ->> '$.recipient.id' IS NULL
               THEN 'event without sender.id / recipient.id'
           WHEN TRY_CAST(item ->> 'timestamp' AS BIGINT) IS NULL
               THEN 'timestamp is not milliseconds since the epoch'
           WHEN kind IN ('echo', 'message') AND item ->> '$.message.mid' IS NULL
               THEN 'message without a mid'
           WHEN kind IN ('delivery', 'read') AND item ->> '$.read.mid' IS NULL
                AND coalesce(item ->> '$.delivery.watermark', item ->> '$.read.watermark') IS NULL
                AND (item -> '$.delivery.mids') IS NULL
               THEN kind || ' without a watermark or mid'
           WHEN kind = 'optin' AND item ->> '$.optin.notification_messages_status' IS NOT NULL
                AND item ->> '$.optin.notification_messages_status'
                    NOT IN ('STOP_NOTIFICATIONS', 'RESUME_NOTIFICATIONS')
               THEN 'unknown notification_messages_status "'
                    || (item ->> '$.optin.notification_messages_status') || '"'
       END AS reason
FROM items;
