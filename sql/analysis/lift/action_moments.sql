-- purpose: per-arm sufficient statistics of action-based outcomes, for every (action, cuped_days)
--          spec at once: sums, sums of squares and cross-products of six per-unit variables.
-- grain:   one row per (arm, action, cuped_days). Units without any action contribute zeros to
--          every sum, so sums run over units that acted; `units` comes from _units.
-- params:  $actions VARCHAR[], $cuped_days INTEGER[] (parallel lists; 0 = no pre-period).
-- includes: analysis/lift/_moment_sums.sql (the 27 per-arm sums, written once).
-- needs:   temp table _units(contact_id, arm, assigned_at, window_end) from analysis/units/units.sql.
-- variables per unit, counted from the unit's own assigned_at:
--   ind = 1 when >= 1 action in [assigned_at, window_end), val = sum of value, cnt = actions;
--   pre_* = the same over [assigned_at - cuped_days, assigned_at).
-- actions is read once per action, over the widest pre-period any of its specs asks for;
-- only the rows in that window are then matched to the specs (a row counts for a spec when
-- it falls in the spec's own window).
WITH specs AS (
    SELECT DISTINCT unnest($actions) AS action, unnest($cuped_days) AS cuped_days
),
horizons AS (
    SELECT action, max(cuped_days) AS lookback FROM specs GROUP BY action
),
windowed AS MATERIALIZED (
    SELECT u.contact_id, u.arm, u.assigned_at, a.action, a.ts, a.value
    FROM _units AS u
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
    SELECT arm, count(*) AS units FROM _units GROUP BY arm
)
SELECT arms.arm, specs.action, specs.cuped_days, arms.units, sums.* EXCLUDE (arm, action, cuped_days)
FROM arms
CROSS JOIN specs
LEFT JOIN sums ON sums.arm = arms.arm AND sums.action = specs.action AND sums.cuped_days = specs.cuped_days
ORDER BY arms.arm, specs.action, specs.cuped_days
