-- purpose: the candidates sql/assign/evaluate.sql judges, as the temp view
--          _tl_candidates(contact_id, in_audience): one statement per kind of run
--          (threadlift.assign.assignment._evaluate picks one; Spark's assign runs `all`).
-- grain:   named statements, each with its own grain below; evaluate.sql groups the rows
--          by contact_id.
-- params:  per statement, below.

-- statement: contacts
-- A batch run without audience_sql: every contact of the workspace, all in the audience.
-- grain:   one row per contacts row.
-- reads:   contacts.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT contact_id, true AS in_audience FROM contacts;

-- statement: all
-- A batch run with an audience_sql: every contact of the workspace and every id the
-- audience returns, flagged whether in the audience (contacts outside it are counted as
-- not_in_audience).
-- grain:   one row per source row.
-- reads:   contacts, temp view _tl_audience(contact_id).
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT contact_id, false AS in_audience FROM contacts
UNION ALL
SELECT contact_id, true AS in_audience FROM _tl_audience;

-- statement: requested
-- Hold the contact ids a caller (the HTTP API, a notebook) asks about, for `given`.
-- grain:   one row per requested id; writes TEMP TABLE _tl_requested.
-- params:  $contact_ids VARCHAR[].
CREATE OR REPLACE TEMP TABLE _tl_requested AS
SELECT unnest(CAST($contact_ids AS VARCHAR[])) AS contact_id;

-- statement: given
-- A lookup: exactly the requested contact ids, flagged whether the experiment's audience
-- contains them.
-- grain:   one row per requested id.
-- reads:   temp table _tl_requested (`requested`), temp view _tl_audience.
-- params:  none.
CREATE OR REPLACE TEMP VIEW _tl_candidates AS
SELECT
    contact_id,
    contact_id IN (SELECT contact_id FROM _tl_audience) AS in_audience
FROM _tl_requested;
