-- purpose: per arm, how many units the sending system exposed (a valid real send inside
--          the unit's outcome window), how many holdout units it logged counterfactually
--          (a valid would-be send inside the window), how many were triggered (either), and
--          how many of the exposures of the arm's units are mismatches.
-- grain:   one row per arm that has units (arms without units have no row).
-- params:  none.
-- needs:   temp tables _units (analysis/units/units.sql) and _exposure_check
--          (analysis/exposure/exposures.sql).
WITH per_unit AS (
    SELECT
        contact_id,
        count(*) AS exposures,
        count(*) FILTER (WHERE mismatch IS NOT NULL) AS mismatched,
        count(*) FILTER (WHERE mismatch IS NULL AND in_window AND NOT counterfactual) AS real_valid,
        count(*) FILTER (WHERE mismatch IS NULL AND in_window AND counterfactual) AS counterfactual_valid
    FROM _exposure_check
    WHERE assigned_arm IS NOT NULL
    GROUP BY contact_id
)
SELECT
    u.arm,
    count(*) AS units,
    coalesce(sum(p.exposures), 0) AS exposures,
    count(*) FILTER (WHERE p.real_valid > 0) AS exposed_units,
    count(*) FILTER (WHERE p.counterfactual_valid > 0) AS counterfactual_units,
    count(*) FILTER (WHERE p.real_valid > 0 OR p.counterfactual_valid > 0) AS triggered_units,
    coalesce(sum(p.mismatched), 0) AS mismatched_exposures
FROM _units AS u
LEFT JOIN per_unit AS p ON p.contact_id = u.contact_id
GROUP BY u.arm
ORDER BY u.arm
