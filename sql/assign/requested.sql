-- purpose: hold the contact ids a caller (the HTTP API, a notebook) asks about.
-- grain:   one row per requested id.
-- params:  $contact_ids VARCHAR[].
CREATE OR REPLACE TEMP TABLE _tl_requested AS
SELECT unnest(CAST($contact_ids AS VARCHAR[])) AS contact_id
