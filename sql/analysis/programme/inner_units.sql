-- purpose: the units of the experiments run inside the programme: each experiment's
--          assignments among the programme's everyone_else contacts, assigned at or after the
--          programme's start and by $as_of, each counted from its own assigned_at over the
--          programme's window (the shared metric's window).
-- grain:   one row per (experiment_id, contact_id); writes TEMP TABLE _programme_units
--          (part, contact_id, arm, assigned_at, window_end), part = the experiment_id.
-- params:  $experiment_ids VARCHAR[], $programme_start TIMESTAMP, $window_days INTEGER,
--          $as_of TIMESTAMP.
-- needs:   temp table _programme_holdout_units (analysis/programme/holdout_units.sql).
CREATE OR REPLACE TEMP TABLE _programme_units AS
SELECT
    a.experiment_id AS part,
    a.contact_id,
    a.arm,
    a.assigned_at,
    least(a.assigned_at + to_days(CAST($window_days AS INTEGER)), CAST($as_of AS TIMESTAMP))
        AS window_end
FROM assignments AS a
JOIN _programme_holdout_units AS p
  ON p.contact_id = a.contact_id AND p.arm = 'everyone_else'
WHERE list_contains(CAST($experiment_ids AS VARCHAR[]), a.experiment_id)
  AND a.assigned_at >= CAST($programme_start AS TIMESTAMP)
  AND a.assigned_at <= CAST($as_of AS TIMESTAMP)
