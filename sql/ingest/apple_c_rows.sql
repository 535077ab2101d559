-- purpose: candidate rows from Apple Messages for Business records: outbound records as
--          sends with a submitted (or failed) event, inbound records as inbound, typing /
--          close records as platform events, quarantine of unusable records.
-- grain:   one row per candidate into the _c_* tables. Several statements.
-- params:  none. needs: _apple_items.
INSERT INTO _c_obs
SELECT DISTINCT 'apple:' || business_id || ':' || user_id, 'apple', 'apple', user_id, business_id, ts
FROM _apple_items
WHERE reason IS NULL AND NOT is_event;

INSERT INTO _c_messages
SELECT message_id, 'apple:' || business_id || ':' || user_id, 'apple', business_id,
       experiment_id, arm, campaign_id, template, category, ts, 'sent', source, location, raw
FROM _apple_items
WHERE reason IS NULL AND direction = 'outbound';

INSERT INTO _c_events
SELECT message_id, status, ts, CASE WHEN status = 'failed' THEN error_code END, NULL, NULL
FROM _apple_items
WHERE reason IS NULL AND direction = 'outbound';

INSERT INTO _c_inbound
SELECT message_id, 'apple:' || business_id || ':' || user_id, 'apple', business_id, ts, type,
       context_message_id, source, location, raw
FROM _apple_items
WHERE reason IS NULL AND direction = 'inbound' AND NOT is_event;

INSERT INTO _c_platform_events
SELECT 'apple', business_id, business_id, 'apple', type, ts, NULL, NULL, NULL, raw, body_hash
FROM _apple_items
WHERE reason IS NULL AND is_event;

INSERT INTO _c_quarantine
SELECT source, location, reason, raw, CASE WHEN direction = 'inbound' THEN 'inbound' ELSE 'messages' END
FROM _apple_items
WHERE reason IS NOT NULL;
