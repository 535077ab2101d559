-- purpose: whether this call maps status-only WhatsApp bodies on the status-only path
--          (wa_status_only.sql) or, like every other body, on the general one.
-- grain:   one row (temp table _wa_route), read by wa_statuses.sql.
-- params:  $status_only_path BOOLEAN (threadlift.ingest.whatsapp: always true, except in
--          the test that proves both paths write the same rows).
CREATE OR REPLACE TEMP TABLE _wa_route AS
SELECT $status_only_path::BOOLEAN AS status_only_path
