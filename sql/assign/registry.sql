-- purpose: the design registry (assignment_registry): the design each version of an
--          experiment was assigned with, so `assign` can refuse a changed design and
--          start a new version only when asked (threadlift.assign.assignment).
-- grain:   named statements, each with its own grain below.
-- params:  per statement, below; values always bound.

-- statement: current
-- The design an experiment is currently assigned with.
-- grain:   at most one row: the unretired version of the experiment.
-- params:  $experiment_id VARCHAR.
SELECT version, fingerprint, design
FROM assignment_registry
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND retired_at IS NULL
ORDER BY version DESC
LIMIT 1;

-- statement: designs
-- The design every current (unretired) experiment version was assigned with.
-- grain:   one row per current experiment.
-- params:  none.
SELECT experiment_id, design
FROM assignment_registry
WHERE retired_at IS NULL
ORDER BY experiment_id;

-- statement: insert
-- Register the design a new version of an experiment is assigned with.
-- grain:   one row per (experiment_id, version).
-- params:  $experiment_id VARCHAR, $version INTEGER, $fingerprint VARCHAR, $design VARCHAR
--          (JSON), $layer_name, $layer_salt VARCHAR, $layer_start, $layer_stop INTEGER
--          (NULL without a layer), $registered_at TIMESTAMP.
INSERT INTO assignment_registry (
    experiment_id, version, fingerprint, design,
    layer_name, layer_salt, layer_start, layer_stop, registered_at, retired_at
)
VALUES (
    CAST($experiment_id AS VARCHAR), CAST($version AS INTEGER), CAST($fingerprint AS VARCHAR),
    CAST($design AS VARCHAR), CAST($layer_name AS VARCHAR), CAST($layer_salt AS VARCHAR),
    CAST($layer_start AS INTEGER), CAST($layer_stop AS INTEGER), $registered_at, NULL
);

-- statement: retire
-- Mark the current version of an experiment as replaced by a newer one.
-- grain:   updates at most one row of assignment_registry.
-- params:  $experiment_id VARCHAR, $retired_at TIMESTAMP.
UPDATE assignment_registry
SET retired_at = $retired_at
WHERE experiment_id = CAST($experiment_id AS VARCHAR) AND retired_at IS NULL;
