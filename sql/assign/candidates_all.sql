-- purpose: the candidates of a batch run with an audience_sql: every contact of the
--          workspace and every id the audience returns, flagged whether in the audience
--          (contacts outside it are counted as not_in_audience).
-- grain:   one row per (source row); sql/assign/evaluate.sql groups them by contact_id.
-- reads:   contacts, temp view _tl_audience(contact_id).
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT contact_id, false AS in_audience FROM contacts
UNION ALL
SELECT contact_id, true AS in_audience FROM _tl_audience
