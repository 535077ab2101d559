-- purpose: move the assignments of a version that is being replaced to
--          assignment_archive (a new version of an experiment's design starts afresh).
-- grain:   named statements, each with its own grain below.
-- params:  per statement, below.

-- statement: archive
-- Keep the assignments of the version being replaced.
-- grain:   one row per archived (experiment_id, version, contact_id).
-- params:  $experiment_id VARCHAR, $version INTEGER (the version being replaced),
--          $archived_at TIMESTAMP.
INSERT INTO assignment_archive
SELECT experiment_id, CAST($version AS INTEGER), contact_id, arm, bucket, assigned_at, $archived_at
FROM assignments
WHERE experiment_id = CAST($experiment_id AS VARCHAR);

-- statement: drop
-- Remove the experiment's assignments once archived.
-- grain:   deletes every assignments row of the experiment.
-- params:  $experiment_id VARCHAR.
DELETE FROM assignments WHERE experiment_id = CAST($experiment_id AS VARCHAR);
