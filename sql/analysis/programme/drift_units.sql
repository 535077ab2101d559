-- purpose: the programme's units still eligible at the start of each month of the
--          programme, for the drift check: their outcome window is empty (window_end =
--          assigned_at), so only the pre-period before the programme's start is read.
-- grain:   one row per (month, contact_id); writes TEMP TABLE _programme_units
--          (part, contact_id, arm, assigned_at, window_end), part = the month (0, 1, …) as text.
-- params:  $months INTEGER[] (the evaluation steps of _programme_eligibility that start a month).
-- needs:   temp tables _programme_holdout_units (analysis/programme/holdout_units.sql) and
--          _programme_eligibility (analysis/programme/eligibility.sql#keep).
CREATE OR REPLACE TEMP TABLE _programme_units AS
SELECT
    CAST(e.step AS VARCHAR) AS part,
    u.contact_id,
    u.arm,
    u.assigned_at,
    u.assigned_at AS window_end
FROM _programme_holdout_units AS u
JOIN _programme_eligibility AS e ON e.contact_id = u.contact_id
WHERE list_contains(CAST($months AS INTEGER[]), e.step) AND e.reason IS NULL
