-- purpose: every eligibility event of the canonical tables, one row each: consent grants
--          and revokes (kind 'granted' / 'revoked'), WhatsApp 131050 failures (the user
--          stopped marketing messages from the business; kind 'stop', on the failed
--          message's channel and sender) and block / report / opt_out feedback (kind
--          'feedback', any channel). What counts as an eligibility event is written here
--          only: sql/assign/evaluate.sql judges these rows; sql/assign/eligibility/insert_rows.sql
--          and checksums.sql keep and fingerprint them in eligibility_state.
-- grain:   a fragment (a SELECT to include as a subquery or CTE body): one row per event,
--          columns source (the table it comes from: consents, stops, feedback), contact_id,
--          kind, channel, scope (consents only), sender_id, ts, message_id (stops only).
-- reads:   consents, messages, message_events, feedback.
-- params:  none.
SELECT
    'consents' AS source, contact_id, status AS kind, channel, scope, sender_id, ts,
    CAST(NULL AS VARCHAR) AS message_id
FROM consents
UNION ALL
SELECT 'stops', m.contact_id, 'stop', m.channel, NULL, m.sender_id, e.ts, e.message_id
FROM message_events AS e
JOIN messages AS m ON m.message_id = e.message_id
WHERE e.error_code = '131050'
UNION ALL
SELECT 'feedback', contact_id, 'feedback', channel, NULL, sender_id, ts, NULL
FROM feedback
WHERE kind IN ('block', 'report', 'opt_out')
