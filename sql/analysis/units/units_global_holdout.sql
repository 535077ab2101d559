-- purpose: the analysed units of a program-level holdout (assignment = "global_holdout"):
--          every contact known at $assigned_at (created_at at or before it, or unknown),
--          labelled global_holdout when its bucket under the workspace's global holdout
--          salt is below $basis_points, everyone_else otherwise; all counted from
--          $assigned_at, as in sql/analysis/units/units.sql.
-- grain:   one row per distinct contact_id; writes TEMP TABLE _units (same columns as
--          sql/analysis/units/units.sql). No unit is counted when $assigned_at is after $as_of.
-- params:  $salt VARCHAR, $basis_points INTEGER (the workspace's global holdout),
--          $assigned_at TIMESTAMP, $as_of TIMESTAMP, $window_days INTEGER.
CREATE OR REPLACE TEMP TABLE _units AS
SELECT
    contact_id,
    CASE
        WHEN threadlift_bucket(CAST($salt AS VARCHAR), contact_id) < CAST($basis_points AS INTEGER)
        THEN 'global_holdout'
        ELSE 'everyone_else'
    END AS arm,
    CAST($assigned_at AS TIMESTAMP) AS assigned_at,
    least(CAST($assigned_at AS TIMESTAMP) + to_days(CAST($window_days AS INTEGER)), $as_of)
        AS window_end
FROM (
    SELECT DISTINCT contact_id
    FROM contacts
    WHERE contact_id IS NOT NULL
      AND (created_at IS NULL OR created_at <= CAST($assigned_at AS TIMESTAMP))
)
WHERE CAST($assigned_at AS TIMESTAMP) <= $as_of
