-- purpose: the analysed units of one experiment, each with its own outcome window.
-- grain:   one row per assigned contact (experiment_id, contact_id).
-- params:  $experiment_id VARCHAR, $as_of TIMESTAMP, $window_days INTEGER.
-- Every unit's clock starts at its own assigned_at (rolling enrolment); the window ends
-- window_days later or at as_of, whichever is first. Units assigned after as_of are not counted.
CREATE OR REPLACE TEMP TABLE _units AS
SELECT
    contact_id,
    arm,
    assigned_at,
    least(assigned_at + to_days(CAST($window_days AS INTEGER)), $as_of) AS window_end
FROM assignments
WHERE experiment_id = $experiment_id
  AND assigned_at <= $as_of
