-- purpose: record the eligible, not yet assigned candidates (state path of `assign`) with
--          their bucket and arm.
-- grain:   one row per newly assigned (experiment_id, contact_id).
-- reads:   temp macro _tl_unassigned (sql/assign/eligibility/unassigned.sql) and what it
--          reads; the arm of each bucket (sql/assign/_arm_of_bucket.sql); assignments.
-- params:  those of sql/assign/evaluate.sql (threadlift.assign.assignment.evaluation_params):
--          $experiment_id VARCHAR, $salt VARCHAR, $arm_names VARCHAR[], $arm_starts
--          INTEGER[], $arm_stops INTEGER[] and the eligibility parameters; $assigned_at
--          TIMESTAMP (the run's assignment time).
INSERT INTO assignments (experiment_id, contact_id, arm, bucket, assigned_at)
SELECT CAST($experiment_id AS VARCHAR), u.contact_id, ab.arm, u.bucket, $assigned_at
FROM (
    SELECT
        contact_id,
        CAST(threadlift_bucket(CAST($salt AS VARCHAR), contact_id) AS INTEGER) AS bucket
    FROM _tl_unassigned(
        $experiment_id, $at, $channel, $sender_id, $category, $require_consent,
        $marketing, $feedback_days, $global_salt, $global_stop, $layer_salt,
        $layer_start, $layer_stop
    )
    WHERE reason IS NULL
) AS u
-- Experiment ranges cover every bucket (threadlift.experiment); were one left out, its
-- NULL arm would fail the insert (assignments.arm is NOT NULL) rather than drop the row.
LEFT JOIN (
    -- include: assign/_arm_of_bucket
) AS ab ON ab.bucket = u.bucket
