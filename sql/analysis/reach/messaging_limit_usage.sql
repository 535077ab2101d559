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
-- Unique contacts in the 24 hours up to each send (RANGE 24 hours PRECEDING, both ends
-- included), without a distinct window aggregate: a send at s covers [s, s + 24h], so a
-- contact counts at t when t lies in one of its islands of overlapping covers; the count
-- at t is (islands started at or before t) - (islands ended before t), a running sum.
-- A send opens an island when the contact's previous send is more than 24 hours before
-- it, and closes one (at s + 24h) when its next send is more than 24 hours after it.
marked AS (
    SELECT
        sender_id,
        sent_at,
        CASE WHEN lag(sent_at) OVER (PARTITION BY sender_id, contact_id ORDER BY sent_at)
                  >= sent_at - INTERVAL 24 HOUR THEN 0 ELSE 1 END AS opens,
        CASE WHEN lead(sent_at) OVER (PARTITION BY sender_id, contact_id ORDER BY sent_at)
                  <= sent_at + INTERVAL 24 HOUR THEN 0 ELSE 1 END AS closes
    FROM outside_window
),
sweep AS (
    -- at equal times: islands that start count, then the sends are read, then ends apply.
    -- Events at the same moment and phase are summed first: sends go out in batches that
    -- share a timestamp, so the running sum below orders far fewer rows.
    SELECT sender_id, moment, phase, sum(delta) AS delta
    FROM (
        SELECT sender_id, sent_at AS moment, 0 AS phase, 1 AS delta FROM marked WHERE opens = 1
        UNION ALL
        SELECT sender_id, sent_at AS moment, 1 AS phase, 0 AS delta FROM marked
        UNION ALL
        SELECT sender_id, sent_at + INTERVAL 24 HOUR AS moment, 2 AS phase, -1 AS delta
        FROM marked WHERE closes = 1
    ) AS events
    GROUP BY sender_id, moment, phase
),
rolling AS (
    SELECT sender_id, sent_at, unique_contacts
    FROM (
        SELECT
            sender_id,
            moment AS sent_at,
            phase,
            sum(delta) OVER (PARTITION BY sender_id ORDER BY moment, phase
                             ROWS UNBOUNDED PRECEDING) AS unique_contacts
        FROM sweep
    ) AS swept
    WHERE phase = 1
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
