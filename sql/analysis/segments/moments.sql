-- purpose: per-arm sufficient statistics of action-based outcomes within each segment of
--          each segment dimension: the same variables and sums as
--          analysis/lift/action_moments.sql, grouped by two more keys. A dimension's
--          segments add up to the whole arm.
-- grain:   one row per (dimension, segment, arm, action, cuped_days).
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_unit_variables.sql, analysis/lift/_moment_sums.sql.
-- needs:   temp tables _units (analysis/units/units.sql) and _segment_units
--          (analysis/segments/units.sql).
-- variables per unit as in action_moments.sql, computed once per unit from _units (not
-- once per dimension): a unit's outcomes do not depend on its segments, so each dimension
-- joins the units that acted to their segment labels.
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.assigned_at, a.action, a.ts, a.value
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    JOIN horizons AS h ON a.action = h.action
    WHERE a.ts >= u.assigned_at - to_days(h.lookback)
      AND a.ts < u.window_end
),
unit_variables AS (
    SELECT
        w.contact_id,
        s.action,
        s.cuped_days,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    JOIN specs AS s ON s.action = w.action
    WHERE w.ts >= w.assigned_at - to_days(s.cuped_days)
    GROUP BY w.contact_id, s.action, s.cuped_days
),
per_unit AS (
    SELECT u.arm, u.dimension, u.segment, v.* EXCLUDE (contact_id)
    FROM unit_variables AS v
    JOIN _segment_units AS u ON u.contact_id = v.contact_id
),
sums AS (
    SELECT
    arm,
    dimension,
    segment,
    action,
    cuped_days,
    -- include: analysis/lift/_moment_sums
    FROM per_unit
    GROUP BY arm, dimension, segment, action, cuped_days
),
cells AS (
    SELECT arm, dimension, segment, count(*) AS units
    FROM _segment_units
    GROUP BY arm, dimension, segment
)
SELECT cells.dimension, cells.segment, cells.arm, specs.action, specs.cuped_days, cells.units,
       sums.* EXCLUDE (arm, dimension, segment, action, cuped_days)
FROM cells
CROSS JOIN specs
LEFT JOIN sums
    ON sums.arm = cells.arm AND sums.dimension = cells.dimension
    AND sums.segment = cells.segment
    AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY cells.dimension, cells.segment, cells.arm, specs.action, specs.cuped_days
