-- purpose: action_moments.sql for the common case where every spec's pre-period is either
--          none or one shared length: the same rows, read in one pass with constant filters.
-- grain:   one row per (arm, action, cuped_days), exactly as analysis/lift/action_moments.
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; each cuped_days is 0 or
--          $lookback); $lookback INTEGER (the one pre-period length, 0 when there is none).
-- includes: analysis/lift/_moment_sums.sql (the 27 per-arm sums, written once).
-- needs:   temp table _units(contact_id, arm, assigned_at, window_end) from analysis/units/units.sql.
-- With one pre-period length a unit's variables for every spec of an action come from one
-- group: the in-window variables are shared, and the pre-period ones are those of $lookback
-- (or zero for a spec without CUPED). The action filter and the window's lower bound are
-- then constants DuckDB pushes into the scan of actions, instead of a join with the specs.
-- Units whose only actions of an action are pre-period ones add zeros to a spec without CUPED,
-- so those rows are dropped before the sums.
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
windowed AS (
    SELECT u.contact_id, u.arm, u.assigned_at, a.action, a.ts, a.value
    FROM _units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE list_contains($action_list, a.action)
      AND a.ts >= u.assigned_at - to_days(CAST($lookback AS INTEGER))
      AND a.ts < u.window_end
),
per_unit_action AS (
    SELECT
        w.arm,
        w.action,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    GROUP BY w.contact_id, w.arm, w.action
),
per_unit AS (
    SELECT
        p.arm,
        s.action,
        s.cuped_days,
        p.ind,
        p.val,
        p.cnt,
        CASE WHEN s.cuped_days > 0 THEN p.pre_ind ELSE 0.0 END AS pre_ind,
        CASE WHEN s.cuped_days > 0 THEN p.pre_val ELSE 0.0 END AS pre_val,
        CASE WHEN s.cuped_days > 0 THEN p.pre_cnt ELSE 0.0 END AS pre_cnt
    FROM per_unit_action AS p
    JOIN specs AS s ON s.action = p.action
    WHERE s.cuped_days > 0 OR p.cnt > 0
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
    SELECT arm, count(*) AS units FROM _units GROUP BY arm
)
SELECT arms.arm, specs.action, specs.cuped_days, arms.units, sums.* EXCLUDE (arm, action, cuped_days)
FROM arms
CROSS JOIN specs
LEFT JOIN sums ON sums.arm = arms.arm AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY arms.arm, specs.action, specs.cuped_days
