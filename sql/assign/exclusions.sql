-- purpose: how many unassigned candidates each eligibility rule excluded.
-- grain:   one row per reason.
-- reads:   temp table _tl_evaluation.
-- params:  none.
SELECT reason, count(*) AS contacts
FROM _tl_evaluation
WHERE NOT assigned AND reason IS NOT NULL
GROUP BY reason
ORDER BY reason
