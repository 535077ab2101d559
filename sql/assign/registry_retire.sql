-- purpose: mark the current version of an experiment as replaced by a newer one.
-- grain:   updates at most one row of assignment_registry.
-- params:  $experiment_id VARCHAR, $retired_at TIMESTAMP.
UPDATE assignment_registry
SET retired_at = $retired_at
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND retired_at IS NULL
