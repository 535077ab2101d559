-- purpose: the design an experiment is currently assigned with.
-- grain:   at most one row: the unretired version of the experiment.
-- params:  $experiment_id VARCHAR.
SELECT version, fingerprint, design
FROM assignment_registry
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND retired_at IS NULL
ORDER BY version DESC
LIMIT 1
