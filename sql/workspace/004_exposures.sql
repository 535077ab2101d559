-- purpose: give exposures the caller-supplied exposure_id of the assignment API, so the
--          API's log is imported into the workspace once per exposure
--          (threadlift.api.exposures.import_exposures).
-- grain:   exposures stays one row per exposure; exposure_id is NULL for rows loaded
--          from files that do not carry one.
-- params:  none. Applied once by threadlift.workspace when schema_version < 4.
ALTER TABLE exposures ADD COLUMN IF NOT EXISTS exposure_id VARCHAR;
