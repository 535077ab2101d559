-- purpose: how many unassigned candidates each eligibility rule excluded.
-- grain:   one row per reason.
-- reads:   temp table _tl_exclusions (sql/eligibility/exclusions.sql).
-- params:  none.
SELECT reason, count(*) AS contacts
FROM _tl_exclusions
GROUP BY reason
ORDER BY reason
