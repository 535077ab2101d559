-- purpose: per-arm sufficient statistics of action-based outcomes within each segment of
--          each segment dimension: the same variables and sums as
--          analysis/lift/action_moments.sql, grouped by two more keys. A dimension's
--          segments add up to the whole arm.
-- grain:   one row per (dimension, segment, arm, action, cuped_days).
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_unit_variables.sql, analysis/lift/_moment_sums.sql.
-- needs:   temp table _segment_units from analysis/segments/units.sql.
-- variables per unit as in action_moments.sql.
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.arm, u.dimension, u.segment, u.assigned_at, a.action, a.ts, a.value
    FROM _segment_units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    JOIN horizons AS h ON a.action = h.action
    WHERE a.ts >= u.assigned_at - to_days(h.lookback)
      AND a.ts < u.window_end
),
per_unit AS (
    SELECT
        w.arm,
        w.dimension,
        w.segment,
        s.action,
        s.cuped_days,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    JOIN specs AS s ON s.action = w.action
    WHERE w.ts >= w.assigned_at - to_days(s.cuped_days)
    GROUP BY w.contact_id, w.arm, w.dimension, w.segment, s.action, s.cuped_days
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
