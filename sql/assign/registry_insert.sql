-- purpose: register the design a new version of an experiment is assigned with.
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
)
