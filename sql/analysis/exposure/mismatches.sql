-- purpose: the mismatched exposures (see analysis/exposure/exposures.sql for the rules),
--          counted by what is wrong with them.
-- grain:   one row per (mismatch, assigned_arm, exposure_arm, source); assigned_arm is NULL
--          for not_assigned, exposure_arm NULL when the exposure named no arm.
-- params:  none.
-- needs:   temp table _exposure_check (analysis/exposure/exposures.sql).
SELECT
    mismatch,
    assigned_arm,
    exposure_arm,
    source,
    count(*) AS exposures,
    count(DISTINCT contact_id) AS contacts,
    min(ts) AS first_ts,
    max(ts) AS last_ts
FROM _exposure_check
WHERE mismatch IS NOT NULL
GROUP BY mismatch, assigned_arm, exposure_arm, source
ORDER BY mismatch, assigned_arm NULLS FIRST, exposure_arm NULLS FIRST, source
