-- purpose: candidate canonical rows from WhatsApp items: sends (from statuses), status
--          events, inbound messages, consent events, referrals, sender quality, platform
--          events, and the quarantine of unusable items.
-- grain:   one row per candidate, into the _c_* tables. Several statements that read the
--          same parsed items; run together by threadlift.ingest.whatsapp. Sends and status
--          events (a million rows for a million status webhooks) are not copied: the views
--          _c_messages_all and _c_events_all read them from _wa_statuses. Sends of the
--          statuses the status-only path maps are its own (_c_sends,
--          wa_status_only.sql); their status events are read here like every other.
-- params:  none. needs: _wa_changes, _wa_statuses, _wa_inbound, _wa_preferences, _bodies.
-- A status parsed on the fast path has no raw text of its own (NULL): a send keeps NULL
-- (the writer quarantines the body if it must), a quarantined status gets its JSON here.
CREATE OR REPLACE TEMP VIEW _c_messages_all AS
SELECT * FROM _c_messages
UNION ALL
SELECT
    -- include: ingest/_wa_status_send
FROM _wa_statuses_general
WHERE reason IS NULL AND _wa_to_person(recipient_type);

CREATE OR REPLACE TEMP VIEW _c_events_all AS
SELECT * FROM _c_events
UNION ALL
SELECT message_id, status, ts, error_code, pricing_category, billable
FROM _wa_statuses
WHERE reason IS NULL;

INSERT INTO _c_inbound
SELECT message_id, 'whatsapp:from:' || message_id, 'whatsapp', sender_id, ts, type,
       context_message_id, source, location, raw
FROM _wa_inbound
WHERE reason IS NULL AND kind = 'inbound';

INSERT INTO _c_referrals
SELECT message_id, 'whatsapp:from:' || message_id, 'whatsapp', sender_id, ts,
       referral_source_type, referral_source_id, referral_ctwa_clid
FROM _wa_inbound
WHERE reason IS NULL AND kind = 'inbound' AND has_referral;

INSERT INTO _c_consents
SELECT 'whatsapp:pref:' || item_id, 'whatsapp', sender_id, 'marketing', status, ts,
       'user_preferences', source, location, raw
FROM _wa_preferences
WHERE reason IS NULL;

INSERT INTO _c_sender_quality
SELECT sender_id, entry_ts,
       upper(doc ->> 'quality_rating'),
       CASE coalesce(doc ->> 'max_daily_conversations_per_business', doc ->> 'current_limit')
           WHEN '50' THEN 'TIER_50' WHEN '250' THEN 'TIER_250' WHEN '1000' THEN 'TIER_1K'
           WHEN '2000' THEN 'TIER_2K' WHEN '10000' THEN 'TIER_10K'
           WHEN '100000' THEN 'TIER_100K' WHEN '-1' THEN 'TIER_UNLIMITED'
           ELSE coalesce(doc ->> 'max_daily_conversations_per_business', doc ->> 'current_limit')
       END,
       doc ->> 'event'
FROM _wa_changes
WHERE NOT fast AND field = 'phone_number_quality_update' AND sender_id IS NOT NULL
  AND entry_ts IS NOT NULL;

INSERT INTO _c_platform_events
SELECT 'whatsapp', account_id, sender_id, field,
       coalesce(doc ->> 'event', doc ->> 'new_quality_score', doc ->> 'new_category',
                doc ->> 'decision', doc ->> '$.alert_info.alert_type'),
       entry_ts,
       doc ->> 'message_template_id', doc ->> 'message_template_name',
       doc ->> 'message_template_language', doc, body_hash
FROM _wa_changes
WHERE NOT fast AND field NOT IN ('messages', 'user_preferences');

INSERT INTO _c_platform_events
SELECT 'whatsapp', ch.account_id, ch.sender_id, ch.field, 'error:' || (e.item ->> 'code'),
       ch.entry_ts, NULL, NULL, NULL, e.item::VARCHAR, ch.body_hash
FROM _wa_changes AS ch,
     unnest(json_extract(ch.doc, '$.entry[0].changes[0].value.errors[*]')) AS e(item)
WHERE ch.fast AND ch.has_errors
UNION ALL
SELECT 'whatsapp', ch.account_id, ch.sender_id, ch.field, 'error:' || (e.item ->> 'code'),
       ch.entry_ts, NULL, NULL, NULL, e.item::VARCHAR, ch.body_hash
FROM _wa_changes AS ch, unnest(json_extract(ch.doc, '$.errors[*]')) AS e(item)
WHERE NOT ch.fast AND ch.field = 'messages' AND ch.has_errors;

INSERT INTO _c_platform_events
SELECT 'whatsapp', account_id, sender_id, 'messages', event, ts, NULL, NULL, NULL, raw, body_hash
FROM _wa_inbound
WHERE reason IS NULL AND kind = 'event';

INSERT INTO _c_quarantine
SELECT s.source, s.location || ' status ' || coalesce(s.message_id, '?'), s.reason,
       coalesce(s.raw, json_extract(b.body, '$.entry[0].changes[0].value.statuses[0]')::VARCHAR),
       'message_events'
FROM (SELECT * FROM _wa_statuses WHERE reason IS NOT NULL) AS s
LEFT JOIN _bodies AS b ON s.raw IS NULL AND b.seq = s.seq
UNION ALL
SELECT source, location || ' message ' || coalesce(message_id, '?'), reason, raw, 'inbound'
FROM _wa_inbound WHERE reason IS NOT NULL
UNION ALL
SELECT source, location || ' user_preferences', reason, raw, 'consents'
FROM _wa_preferences WHERE reason IS NOT NULL
UNION ALL
SELECT source, location || ' ' || field,
       'phone_number_quality_update without '
           || CASE WHEN sender_id IS NULL THEN 'display_phone_number' ELSE 'entry.time' END,
       doc, 'sender_quality'
FROM _wa_changes
WHERE field = 'phone_number_quality_update' AND (sender_id IS NULL OR entry_ts IS NULL);
