-- purpose: the program-level holdout: every contact labelled global_holdout or
--          everyone_else, so a report can compare the two like the arms of an experiment.
-- grain:   one row per contact; writes TEMP TABLE _global_holdout_units.
-- params:  $salt VARCHAR, $basis_points INTEGER (the global holdout setting).
CREATE OR REPLACE TEMP TABLE _global_holdout_units AS
SELECT
    contact_id,
    CASE
        WHEN threadlift_bucket(CAST($salt AS VARCHAR), contact_id) < CAST($basis_points AS INTEGER)
        THEN 'global_holdout'
        ELSE 'everyone_else'
    END AS arm,
    CAST(threadlift_bucket(CAST($salt AS VARCHAR), contact_id) AS INTEGER) AS bucket
FROM (SELECT DISTINCT contact_id FROM contacts)
