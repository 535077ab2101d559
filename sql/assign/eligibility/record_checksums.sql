-- purpose: record the source checksums eligibility_state now matches (after
--          sql/assign/eligibility/forget_checksums.sql).
-- grain:   one row per source.
-- reads:   temp table _tl_state_checksums (sql/assign/eligibility/source_checksums.sql).
-- params:  none.
INSERT INTO eligibility_state_sources
SELECT source, rows, checksum FROM _tl_state_checksums
