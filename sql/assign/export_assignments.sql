-- purpose: the assignments of one experiment as the `assign --out` CSV.
-- grain:   one row per assigned contact, ordered by contact_id.
-- params:  $experiment_id VARCHAR.
-- assigned_at is written as ISO 8601 UTC with a Z (fractional seconds only when present).
SELECT
    experiment_id,
    contact_id,
    arm,
    bucket,
    replace(CAST(assigned_at AS VARCHAR), ' ', 'T') || 'Z' AS assigned_at
FROM assignments
WHERE experiment_id = CAST($experiment_id AS VARCHAR)
ORDER BY contact_id
