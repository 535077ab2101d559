-- purpose: record the eligible, not yet assigned candidates (state path of `assign`) with
--          their bucket and arm.
-- grain:   one row per newly assigned (experiment_id, contact_id).
-- reads:   temp macro _tl_unassigned (sql/assign/eligibility/unassigned_*.sql) and what it
--          reads; assignments.
-- params:  those of sql/assign/evaluate.sql (threadlift.assign.assignment.evaluation_params):
--          $experiment_id VARCHAR, $salt VARCHAR, $arm_names VARCHAR[], $arm_starts
--          INTEGER[], $arm_stops INTEGER[] and the eligibility parameters; $assigned_at
--          TIMESTAMP (the run's assignment time).
INSERT INTO assignments (experiment_id, contact_id, arm, bucket, assigned_at)
SELECT
    CAST($experiment_id AS VARCHAR),
    contact_id,
    -- Arms own contiguous ranges in order: the arm is the first whose stop is above the
    -- bucket (the start check leaves a bucket outside every range arm-less, as
    -- sql/assign/evaluate.sql does; experiment ranges always cover 0..9999).
    CASE WHEN CAST($arm_starts AS INTEGER[])[arm_index] <= bucket
         THEN CAST($arm_names AS VARCHAR[])[arm_index] END,
    bucket,
    $assigned_at
FROM (
    SELECT
        contact_id,
        bucket,
        len(list_filter(CAST($arm_stops AS INTEGER[]), lambda stop: stop <= bucket)) + 1
            AS arm_index
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
    )
)
