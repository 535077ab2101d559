-- purpose: add the API's logged exposures to the workspace, once each (idempotent by
--          exposure_id; rows loaded from files without an exposure_id are left alone).
-- grain:   one row per exposure_id of the log that the exposures table does not hold yet.
-- reads:   _tl_exposure_log(exposure_id, experiment_id, contact_id, arm, ts, source),
--          registered by threadlift.api.exposures.import_exposures; exposures.
-- params:  none.
INSERT INTO exposures (experiment_id, contact_id, arm, ts, source, exposure_id)
SELECT l.experiment_id, l.contact_id, l.arm, l.ts, l.source, l.exposure_id
FROM (SELECT DISTINCT ON (exposure_id) * FROM _tl_exposure_log) AS l
WHERE NOT EXISTS (
    SELECT 1 FROM exposures AS e WHERE e.exposure_id = l.exposure_id
)
