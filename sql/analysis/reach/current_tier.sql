-- purpose: a sender's latest messaging-limit tier.
-- grain:   at most one row.
-- params:  $sender_id VARCHAR.
SELECT messaging_limit_tier
FROM sender_quality
WHERE sender_id = $sender_id AND messaging_limit_tier IS NOT NULL
ORDER BY ts DESC
LIMIT 1
