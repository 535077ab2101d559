-- purpose: the events of Messenger / Instagram bodies (entry[].messaging[]), parsed and
--          checked: who the user and the page are, what kind of event it is.
-- grain:   one row per messaging event (temp table _meta_items); reason NULL when usable.
-- params:  $platform VARCHAR (messenger or instagram).
-- Timestamps are milliseconds since the epoch. For an echo the page is the sender and the
-- user the recipient; for everything else the other way round.
-- Each body is parsed once down to its entries, and each messaging[] array twice as a
-- whole, both lists unnested side by side: typed, for the fields, and as JSON values, for
-- each event's text (raw). That is several times faster than json_extract's '$[*]' and one
-- ->> per field, each of which parses the event again. A key whose value is JSON null
-- counts as absent ("message": null is no message).
CREATE OR REPLACE TEMP TABLE _meta_items AS
WITH entries AS (
    SELECT b.body_hash, b.source, b.location,
           unnest(from_json(b.body, '{"entry": [{"id": "VARCHAR", "messaging": "JSON"}]}').entry)
               AS e
    FROM _bodies AS b
),
events AS (
    SELECT body_hash, source, location, e.id AS account_id,
           coalesce(unnest(from_json(e.messaging, '["JSON"]'))::VARCHAR, 'null') AS raw,
           unnest(from_json(e.messaging, '[{
               "sender": {"id": "VARCHAR"}, "recipient": {"id": "VARCHAR"}, "timestamp": "VARCHAR",
               "message": {"mid": "VARCHAR", "is_echo": "VARCHAR", "metadata": "VARCHAR",
                           "reply_to": {"mid": "VARCHAR"}, "quick_reply": "JSON",
                           "attachments": "JSON", "text": "JSON",
                           "referral": {"source": "VARCHAR", "ad_id": "VARCHAR"}},
               "delivery": {"mids": ["VARCHAR"], "watermark": "VARCHAR"},
               "read": {"mid": "VARCHAR", "watermark": "VARCHAR"},
               "optin": {"type": "VARCHAR", "notification_messages_status": "VARCHAR",
                         "notification_messages_token": "VARCHAR"},
               "postback": {"mid": "VARCHAR"}, "reaction": "JSON",
               "referral": {"source": "VARCHAR", "ad_id": "VARCHAR"}}]')) AS f
    FROM entries
),
items AS (
    SELECT *,
           CASE
               WHEN f.message IS NOT NULL AND f.message.is_echo = 'true' THEN 'echo'
               WHEN f.message IS NOT NULL THEN 'message'
               WHEN f.delivery IS NOT NULL THEN 'delivery'
               WHEN f.read IS NOT NULL THEN 'read'
               WHEN f.optin IS NOT NULL THEN 'optin'
               WHEN f.postback IS NOT NULL THEN 'postback'
               WHEN f.reaction IS NOT NULL THEN 'reaction'
               WHEN f.referral IS NOT NULL THEN 'referral'
               ELSE 'other'
           END AS kind,
           TRY_CAST(f.timestamp AS BIGINT) AS ms,
           coalesce(f.delivery.watermark, f.read.watermark) AS watermark_raw
    FROM events
)
SELECT body_hash, source, location, account_id, raw, kind, $platform AS platform,
       CASE WHEN kind = 'echo' THEN f.recipient.id ELSE f.sender.id END AS user_id,
       CASE WHEN kind = 'echo' THEN f.sender.id ELSE f.recipient.id END AS page_id,
       epoch_ms(ms) AS ts,
       coalesce(f.message.mid, f.postback.mid, f.read.mid) AS mid,
       f.message.metadata AS tracking,
       f.message.reply_to.mid AS reply_to,
       CASE WHEN f.message.quick_reply IS NOT NULL THEN 'quick_reply'
            WHEN f.message.attachments IS NOT NULL
                THEN coalesce(json_extract_string(f.message.attachments, '$[0].type'), 'attachment')
            WHEN f.message.text IS NOT NULL THEN 'text'
            ELSE kind END AS type,
       coalesce(f.delivery.mids, []) AS delivered_mids,
       epoch_ms(TRY_CAST(watermark_raw AS BIGINT)) AS watermark,
       f.optin.type AS optin_type,
       f.optin.notification_messages_status AS optin_status,
       f.optin.notification_messages_token AS optin_token,
       coalesce(f.message.referral.source, f.referral.source) AS referral_source,
       coalesce(f.message.referral.ad_id, f.referral.ad_id) AS referral_ad_id,
       coalesce(f.message.referral, f.referral) IS NOT NULL AS has_referral,
       CASE
           WHEN f.sender.id IS NULL OR f.recipient.id IS NULL
               THEN 'event without sender.id / recipient.id'
           WHEN ms IS NULL
               THEN 'timestamp is not milliseconds since the epoch'
           WHEN kind IN ('echo', 'message') AND f.message.mid IS NULL
               THEN 'message without a mid'
           WHEN kind IN ('delivery', 'read') AND f.read.mid IS NULL AND watermark_raw IS NULL
                AND f.delivery.mids IS NULL
               THEN kind || ' without a watermark or mid'
           WHEN kind = 'optin' AND f.optin.notification_messages_status IS NOT NULL
                AND f.optin.notification_messages_status
                    NOT IN ('STOP_NOTIFICATIONS', 'RESUME_NOTIFICATIONS')
               THEN 'unknown notification_messages_status "'
                    || f.optin.notification_messages_status || '"'
       END AS reason
FROM items;
