-- purpose: per-arm sufficient statistics of action-based outcomes within each
--          customer-service-window stratum (window_state 'open' / 'closed' at assignment):
--          the same variables and sums as action_moments.sql, one more grouping key.
-- grain:   one row per (window_state, arm, action, cuped_days).
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_moment_sums.sql (the 27 per-arm sums, written once).
-- needs:   temp table _window_state from analysis/windows/state_units.sql.
-- variables per unit as in action_moments.sql.
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.arm, u.window_state, u.assigned_at, a.action, a.ts, a.value
    FROM _window_state AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    JOIN horizons AS h ON a.action = h.action
    WHERE a.ts >= u.assigned_at - to_days(h.lookback)
      AND a.ts < u.window_end
),
per_unit AS (
    SELECT
        w.arm,
        w.window_state,
        s.action,
        s.cuped_days,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    JOIN specs AS s ON s.action = w.action
    WHERE w.ts >= w.assigned_at - to_days(s.cuped_days)
    GROUP BY w.contact_id, w.arm, w.window_state, s.action, s.cuped_days
),
sums AS (
    SELECT
    arm,
    window_state,
    action,
    cuped_days,
    -- include: analysis/lift/_moment_sums
    FROM per_unit
    GROUP BY arm, window_state, action, cuped_days
),
arms AS (
    SELECT arm, window_state, count(*) AS units FROM _window_state GROUP BY arm, window_state
)
SELECT arms.arm, arms.window_state, specs.action, specs.cuped_days, arms.units,
       sums.* EXCLUDE (arm, window_state, action, cuped_days)
FROM arms
CROSS JOIN specs
LEFT JOIN sums
    ON sums.arm = arms.arm AND sums.window_state = arms.window_state
    AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY arms.window_state, arms.arm, specs.action, specs.cuped_days
