-- purpose: the candidates of a batch run without audience_sql: every contact of the
--          workspace, all in the audience.
-- grain:   one row per contacts row; sql/assign/evaluate.sql groups them by contact_id.
-- reads:   contacts.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT contact_id, true AS in_audience FROM contacts
