-- purpose: candidate rows from SMS / e-mail CSV rows: sends (with their sent event),
--          events, identity observations, quarantine of unusable rows.
-- grain:   one row per candidate into the _c_* tables. Several statements.
-- params:  none. needs: _sms_items.
INSERT INTO _c_obs
SELECT DISTINCT channel || ':to:' || message_id, channel,
       CASE WHEN channel = 'email' THEN 'email' ELSE 'phone' END, recipient, NULL, ts
FROM _sms_items
WHERE reason IS NULL AND event = 'send';

INSERT INTO _c_messages
SELECT message_id, channel || ':to:' || message_id, channel, sender_id, experiment_id, arm,
       campaign_id, template, category, ts, 'sent', source, location, raw
FROM _sms_items
WHERE reason IS NULL AND event = 'send';

INSERT INTO _c_events
SELECT message_id, CASE WHEN event = 'send' THEN 'sent' ELSE event END, ts,
       CASE WHEN event = 'failed' THEN error_code END, NULL, NULL
FROM _sms_items
WHERE reason IS NULL;

INSERT INTO _c_quarantine
SELECT source, location, reason, raw, 'messages'
FROM _sms_items
WHERE reason IS NOT NULL;
