-- purpose: the arm of each bucket: arms own contiguous ranges [start, stop) of the
--          10,000 buckets, in the order given; a bucket outside every range has no row
--          (no arm). Written once: sql/assign/evaluate.sql (API, Spark, log path) and
--          sql/assign/eligibility/insert_new.sql (`assign`) both join it.
-- grain:   a fragment (a SELECT to include as a subquery or CTE body): one row per
--          bucket inside an arm's range, columns bucket INTEGER, arm VARCHAR.
-- reads:   nothing but its parameters.
-- params:  $arm_names VARCHAR[], $arm_starts INTEGER[], $arm_stops INTEGER[] (one entry
--          per arm, holdout first; threadlift.assign.assignment.evaluation_params).
SELECT CAST(b.range AS INTEGER) AS bucket, r.arm
FROM range(0, 10000) AS b
JOIN (
    SELECT
        unnest(CAST($arm_names AS VARCHAR[])) AS arm,
        unnest(CAST($arm_starts AS INTEGER[])) AS start,
        unnest(CAST($arm_stops AS INTEGER[])) AS stop
) AS r ON b.range >= r.start AND b.range < r.stop
