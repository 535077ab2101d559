-- purpose: the workspace's global holdout: contacts whose bucket under its salt is below
--          its basis points are assigned to no experiment. Reading the setting is
--          sql/assign/global_holdout_get.sql, a query of its own because the analysis runs
--          it on every engine.
-- grain:   named statements, each with its own grain below.
-- params:  per statement, below.

-- statement: clear
-- Remove the setting (before setting a new one).
-- grain:   deletes every row of global_holdout.
-- params:  none.
DELETE FROM global_holdout;

-- statement: set
-- Set the global holdout.
-- grain:   one row.
-- params:  $salt VARCHAR, $basis_points INTEGER, $set_at TIMESTAMP.
INSERT INTO global_holdout VALUES (CAST($salt AS VARCHAR), CAST($basis_points AS INTEGER), $set_at);

-- statement: units
-- The program-level holdout: every contact labelled global_holdout or everyone_else, so
-- a report can compare the two like the arms of an experiment.
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
FROM (SELECT DISTINCT contact_id FROM contacts);
