-- purpose: messaging-limit usage of each sender the experiment used: the most unique contacts
--          reached outside a customer-service window in any moving 24 hours, and the tier then.
-- grain:   one row per sender.
-- params:  $experiment_id VARCHAR, $since TIMESTAMP, $as_of TIMESTAMP.
-- The limit counts unique users a business delivers to outside a customer-service window
-- (no inbound from the user in the 24 hours before) in a moving 24-hour period, across all
-- of the sender's messages (not only this experiment's). Messages count when delivered or
-- read; the tier is the sender's latest messaging_limit_tier at the peak.
WITH senders AS (
    SELECT DISTINCT sender_id FROM messages
    WHERE experiment_id = $experiment_id AND sender_id IS NOT NULL
),
delivered AS (
    SELECT m.message_id, m.contact_id, m.sender_id, m.channel, m.sent_at
    FROM messages AS m
    WHERE m.sender_id IN (SELECT sender_id FROM senders)
      AND m.sent_at >= $since AND m.sent_at <= $as_of
      AND EXISTS (SELECT 1 FROM message_events AS e
                  WHERE e.message_id = m.message_id AND e.status IN ('delivered', 'read'))
),
outside_window AS (
    SELECT d.*
    FROM delivered AS d
    ASOF LEFT JOIN inbound AS i
        ON i.contact_id = d.contact_id AND i.channel = d.channel
        AND coalesce(i.sender_id, '') = d.sender_id AND d.sent_at >= i.ts
    WHERE i.ts IS NULL OR i.ts <= d.sent_at - INTERVAL 24 HOUR
),
rolling AS (
    SELECT
        sender_id,
        sent_at,
        count(DISTINCT contact_id) OVER (
            PARTITION BY sender_id ORDER BY sent_at
            RANGE BETWEEN INTERVAL 24 HOURS PRECEDING AND CURRENT ROW
        ) AS unique_contacts
    FROM outside_window
),
peaks AS (
    SELECT sender_id, max(unique_contacts) AS peak_unique_contacts,
           arg_max(sent_at, unique_contacts) AS peak_at
    FROM rolling
    GROUP BY sender_id
),
tiers AS (
    SELECT sender_id, ts, messaging_limit_tier FROM sender_quality WHERE messaging_limit_tier IS NOT NULL
)
SELECT p.sender_id, p.peak_unique_contacts, p.peak_at, t.messaging_limit_tier
FROM peaks AS p
ASOF LEFT JOIN tiers AS t ON t.sender_id = p.sender_id AND p.peak_at >= t.ts
ORDER BY p.sender_id
