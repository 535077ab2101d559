-- purpose: the body of the action-based moments query, after its first CTE: per-arm
--          sufficient statistics of action-based outcomes for every (action, cuped_days)
--          spec at once, over the units of a CTE `moment_units` the including query defines
--          (analysis/lift/action_moments.sql: every unit; analysis/exposure/triggered_moments.sql:
--          the triggered units). Written once so the two comparisons count alike.
-- grain:   continues a WITH clause: CTEs then the final SELECT, one row per (arm, action,
--          cuped_days); see analysis/lift/action_moments.sql for the variables and windows.
-- reads:   CTE moment_units(contact_id, arm, assigned_at, window_end); actions.
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_unit_variables.sql and analysis/lift/_moment_sums.sql.
specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.arm, u.assigned_at, a.action, a.ts, a.value
    FROM moment_units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    JOIN horizons AS h ON a.action = h.action
    WHERE a.ts >= u.assigned_at - to_days(h.lookback)
      AND a.ts < u.window_end
),
per_unit AS (
    SELECT
        w.arm,
        s.action,
        s.cuped_days,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    JOIN specs AS s ON s.action = w.action
    WHERE w.ts >= w.assigned_at - to_days(s.cuped_days)
    GROUP BY w.contact_id, w.arm, s.action, s.cuped_days
),
sums AS (
    SELECT
    arm,
    action,
    cuped_days,
    -- include: analysis/lift/_moment_sums
    FROM per_unit
    GROUP BY arm, action, cuped_days
),
arms AS (
    SELECT arm, count(*) AS units FROM moment_units GROUP BY arm
)
SELECT arms.arm, specs.action, specs.cuped_days, arms.units, sums.* EXCLUDE (arm, action, cuped_days)
FROM arms
CROSS JOIN specs
LEFT JOIN sums ON sums.arm = arms.arm AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY arms.arm, specs.action, specs.cuped_days
