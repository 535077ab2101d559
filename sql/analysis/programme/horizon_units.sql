-- purpose: the programme's units once per horizon of the decay curve, each with the
--          outcome window [assigned_at, assigned_at + horizon days): the main lift's
--          comparison with its window set to the horizon.
-- grain:   one row per (horizon, contact_id); writes TEMP TABLE _programme_units
--          (part, contact_id, arm, assigned_at, window_end), part = the horizon in days as text.
-- params:  $horizons INTEGER[] (only horizons the data reaches: assigned_at + horizon <= as_of;
--          threadlift.analysis.programme chooses them).
-- needs:   temp table _programme_holdout_units (analysis/programme/holdout_units.sql).
CREATE OR REPLACE TEMP TABLE _programme_units AS
SELECT
    CAST(h.horizon AS VARCHAR) AS part,
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.assigned_at + to_days(CAST(h.horizon AS INTEGER)) AS window_end
FROM _programme_holdout_units AS u
CROSS JOIN (SELECT unnest(CAST($horizons AS INTEGER[])) AS horizon) AS h
