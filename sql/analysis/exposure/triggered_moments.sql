-- purpose: per-arm sufficient statistics of action-based outcomes over the triggered units
--          only: the same variables, windows and sums as analysis/lift/action_moments.sql,
--          whose per-arm rows these are with _triggered_units in place of _units.
-- grain:   one row per (arm, action, cuped_days), arms with at least one triggered unit.
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_unit_variables.sql and analysis/lift/_moment_sums.sql (written once).
-- needs:   temp table _triggered_units from analysis/exposure/triggered_units.sql.
-- variables per unit as in action_moments.sql: counted from the unit's own assigned_at to
-- its window_end (not from triggered_at), CUPED's pre-period before assigned_at.
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.arm, u.assigned_at, a.action, a.ts, a.value
    FROM _triggered_units AS u
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
    SELECT arm, count(*) AS units FROM _triggered_units GROUP BY arm
)
SELECT arms.arm, specs.action, specs.cuped_days, arms.units, sums.* EXCLUDE (arm, action, cuped_days)
FROM arms
CROSS JOIN specs
LEFT JOIN sums ON sums.arm = arms.arm AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY arms.arm, specs.action, specs.cuped_days
