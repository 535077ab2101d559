-- purpose: keep the assignments of a version that is being replaced.
-- grain:   one row per archived (experiment_id, version, contact_id).
-- params:  $experiment_id VARCHAR, $version INTEGER (the version being replaced),
--          $archived_at TIMESTAMP.
INSERT INTO assignment_archive
SELECT experiment_id, CAST($version AS INTEGER), contact_id, arm, bucket, assigned_at, $archived_at
FROM assignments
WHERE experiment_id = CAST($experiment_id AS VARCHAR)
