-- purpose: the sources whose current checksum differs from the one eligibility_state was
--          built with (empty: the state matches the canonical tables).
-- grain:   one row per stale source (every source before the first build).
-- reads:   temp table _tl_state_checksums (sql/assign/eligibility/source_checksums.sql),
--          eligibility_state_sources.
-- params:  none.
SELECT c.source
FROM _tl_state_checksums AS c
LEFT JOIN eligibility_state_sources AS r ON r.source = c.source
WHERE r.source IS NULL OR r.rows <> c.rows OR r.checksum <> c.checksum
ORDER BY c.source
