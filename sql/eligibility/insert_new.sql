-- purpose: record the eligible, not yet assigned candidates (state path of `assign`): the
--          candidates that are neither assigned nor excluded (sql/eligibility/exclusions.sql
--          holds every unassigned candidate a rule excludes), with their bucket and arm.
--          Only contact ids are read here, so the eligibility rules run once per `assign`.
-- grain:   one row per newly assigned (experiment_id, contact_id).
-- reads:   temp view _tl_state_candidates, temp table _tl_exclusions, assignments.
-- params:  $experiment_id VARCHAR, $salt VARCHAR, $arm_names VARCHAR[], $arm_starts
--          INTEGER[], $arm_stops INTEGER[] (threadlift.assign.evaluation_params),
--          $assigned_at TIMESTAMP (the run's assignment time).
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
            c.contact_id,
            CAST(threadlift_bucket(CAST($salt AS VARCHAR), c.contact_id) AS INTEGER) AS bucket
        FROM _tl_state_candidates AS c
        WHERE NOT EXISTS (SELECT 1 FROM _tl_exclusions AS x WHERE x.contact_id = c.contact_id)
          AND NOT EXISTS (
              SELECT 1 FROM assignments AS a
              WHERE a.experiment_id = CAST($experiment_id AS VARCHAR)
                AND a.contact_id = c.contact_id
          )
    )
)
