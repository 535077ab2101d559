-- purpose: the candidates of a lookup: exactly the requested contact ids, flagged whether
--          the experiment's audience contains them.
-- grain:   one row per requested id.
-- reads:   temp table _tl_requested (sql/assign/requested.sql), temp view _tl_audience.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT
    contact_id,
    contact_id IN (SELECT contact_id FROM _tl_audience) AS in_audience
FROM _tl_requested
