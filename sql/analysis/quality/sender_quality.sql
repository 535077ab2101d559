-- purpose: quality-rating and messaging-limit history of the senders an experiment used.
-- grain:   one row per sender_quality event, from $since to $as_of, plus each sender's last
--          state before $since (so the timeline starts from a known state).
-- params:  $experiment_id VARCHAR, $sender_id VARCHAR (may be NULL), $since TIMESTAMP, $as_of TIMESTAMP.
WITH senders AS (
    SELECT DISTINCT sender_id FROM messages
    WHERE experiment_id = $experiment_id AND sender_id IS NOT NULL
    UNION
    SELECT $sender_id WHERE $sender_id IS NOT NULL
),
history AS (
    SELECT q.*, row_number() OVER (PARTITION BY q.sender_id ORDER BY q.ts DESC) AS recency
    FROM sender_quality AS q
    WHERE q.sender_id IN (SELECT sender_id FROM senders) AND q.ts < $since
)
SELECT sender_id, ts, quality_rating, messaging_limit_tier, event
FROM (
    SELECT sender_id, ts, quality_rating, messaging_limit_tier, event FROM history WHERE recency = 1
    UNION ALL
    SELECT sender_id, ts, quality_rating, messaging_limit_tier, event
    FROM sender_quality
    WHERE sender_id IN (SELECT sender_id FROM senders) AND ts >= $since AND ts <= $as_of
)
ORDER BY sender_id, ts
