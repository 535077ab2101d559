-- purpose: what `assign` needs besides the canonical assignments table: the bucketing
--          macro, the registry of assigned designs (fingerprint, version, layer), the
--          archive of superseded versions' assignments, and the workspace's global holdout.
-- grain:   assignment_registry: one row per (experiment_id, version);
--          assignment_archive: one row per (experiment_id, version, contact_id);
--          global_holdout: at most one row (the current setting).
-- params:  none. Applied once by threadlift.workspace when schema_version < 2.

-- The public bucketing contract (docs/architecture.md, "The bucket"), written once for DuckDB; the golden file
-- tests/golden/assignment_cases.json checks it against Python's threadlift.bucket.
CREATE OR REPLACE MACRO threadlift_bucket(salt, unit_id) AS
    CAST(('0x' || substr(md5(salt || ':' || unit_id), 1, 15)) AS BIGINT) % 10000;

CREATE TABLE IF NOT EXISTS assignment_registry (
    experiment_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    fingerprint VARCHAR NOT NULL,   -- sha256 of `design`, first 16 hex digits
    design VARCHAR NOT NULL,        -- JSON: salt, assigned_at, arm ranges, layer, global holdout
    layer_name VARCHAR,
    layer_salt VARCHAR,
    layer_start INTEGER,
    layer_stop INTEGER,
    registered_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP            -- set when a newer version of the experiment replaces it
);

CREATE TABLE IF NOT EXISTS assignment_archive (
    experiment_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    contact_id VARCHAR NOT NULL,
    arm VARCHAR NOT NULL,
    bucket INTEGER,
    assigned_at TIMESTAMP NOT NULL,
    archived_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS global_holdout (
    salt VARCHAR NOT NULL,
    basis_points INTEGER NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
    set_at TIMESTAMP NOT NULL
);
