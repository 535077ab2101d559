-- purpose: how many unassigned candidates each eligibility rule excluded, on which channel.
-- grain:   one row per (reason, channel judged).
-- reads:   temp table _tl_evaluation.
-- params:  none.
SELECT reason, reason_channel, count(*) AS contacts
FROM _tl_evaluation
WHERE NOT assigned AND reason IS NOT NULL
GROUP BY reason, reason_channel
ORDER BY reason, reason_channel
