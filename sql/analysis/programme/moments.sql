-- purpose: per-arm sufficient statistics of one action for every part of the programme
--          report (a horizon of the decay curve, an experiment inside the programme, a month
--          of the drift check): the same unit variables and the same 27 sums as the main
--          lift (sql/analysis/lift/), so threadlift.analysis.lift maps them to a metric's
--          statistics and compares them exactly as it compares the main lift.
-- grain:   one row per (part, arm) of _programme_units; the columns of
--          analysis/lift/action_moments (arm, action, cuped_days, units, the sums) plus part.
-- params:  $action VARCHAR, $lookback INTEGER (the pre-period in days read for CUPED or the
--          drift check; 0: none).
-- includes: analysis/lift/_unit_variables, analysis/lift/_moment_sums.
-- needs:   temp table _programme_units(part, contact_id, arm, assigned_at, window_end)
--          (analysis/programme/horizon_units.sql, inner_units.sql or drift_units.sql).
WITH windowed AS (
    SELECT u.part, u.contact_id, u.arm, u.assigned_at, a.ts, a.value
    FROM _programme_units AS u
    JOIN actions AS a ON a.contact_id = u.contact_id
    WHERE a.action = $action
      AND a.ts >= u.assigned_at - to_days(CAST($lookback AS INTEGER))
      AND a.ts < u.window_end
),
per_unit AS (
    SELECT
        w.part,
        w.arm,
        -- include: analysis/lift/_unit_variables
    FROM windowed AS w
    GROUP BY w.part, w.contact_id, w.arm
),
sums AS (
    SELECT
    part,
    arm,
    -- include: analysis/lift/_moment_sums
    FROM per_unit
    GROUP BY part, arm
),
groups AS (
    SELECT part, arm, count(*) AS units FROM _programme_units GROUP BY part, arm
)
SELECT
    g.part,
    g.arm,
    CAST($action AS VARCHAR) AS action,
    CAST($lookback AS INTEGER) AS cuped_days,
    g.units,
    sums.* EXCLUDE (part, arm)
FROM groups AS g
LEFT JOIN sums ON sums.part = g.part AND sums.arm = g.arm
ORDER BY g.part, g.arm
