-- purpose: outbound message statuses (value.statuses[]) of WhatsApp "messages" changes,
--          parsed and checked.
-- grain:   one row per status element (temp view _wa_statuses over the status-only bodies,
--          _wa_statuses_staged, and temp table _wa_statuses_parsed); reason NULL when usable.
--          _wa_statuses_status_only: the statuses the status-only path maps;
--          _wa_statuses_general: the others, which the general path maps.
-- params:  none. Several statements. needs: _bodies (status-only bodies: wa, see
--          stage_json_lines.sql), _wa_changes (wa_changes.sql), _wa_heads (wa_heads.sql),
--          _wa_route (wa_route.sql).
-- Every status goes through _wa_status_row (wa_macros.sql): timestamps, the pricing
-- category and billable are converted and the status is checked there. The statuses[]
-- array of a change with several is split as wa_inbound.sql splits messages[]: parsed
-- whole, typed and as JSON values (each element's text, raw), unnested side by side. The statuses of
-- status-only bodies (most traffic) were converted while staging and are read in place:
-- a million of them are not copied again. raw (the status as JSON) is NULL for the single
-- status of a fast or status-only body: it is taken from the body only when the status is
-- quarantined (wa_c_rows.sql, writer).
CREATE OR REPLACE TEMP TABLE _wa_statuses_parsed AS
WITH arrays AS (
    SELECT change_id, seq, source, location, sender_id,
           json_extract(doc, '$.entry[0].changes[0].value.statuses') AS arr
    FROM _wa_changes
    WHERE fast AND has_statuses
    UNION ALL
    SELECT change_id, seq, source, location, sender_id, json_extract(doc, '$.statuses')
    FROM _wa_changes
    WHERE NOT fast AND field = 'messages' AND has_statuses
),
parsed AS (
    SELECT change_id, seq, source, location, sender_id,
           unnest(from_json(arr, '[' || _wa_status_schema() || ']')) AS f,
           coalesce(unnest(from_json(arr, '["JSON"]'))::VARCHAR, 'null') AS raw
    FROM arrays
)
SELECT change_id, seq, source, location, raw, s.*
FROM (SELECT change_id, seq, source, location, NULL AS raw, s FROM _wa_heads
      WHERE fast AND single_status
      UNION ALL
      SELECT change_id, seq, source, location, raw, _wa_status_row(sender_id, f) FROM parsed);

CREATE OR REPLACE TEMP VIEW _wa_statuses_staged AS
SELECT seq AS change_id, seq, source, location, NULL::VARCHAR AS raw, wa.*
FROM _bodies
WHERE wa IS NOT NULL;

CREATE OR REPLACE TEMP VIEW _wa_statuses AS
SELECT * FROM _wa_statuses_staged
UNION ALL
SELECT * FROM _wa_statuses_parsed;

-- whether the status-only path (wa_status_only.sql) maps a staged status's send and
-- observation instead of the general path: a usable status, when the path is on (_wa_route)
-- and no status parsed from another body names its message id (a send and its
-- observation gather every status of its message id, so such ids stay whole on the
-- general path).
CREATE OR REPLACE TEMP MACRO _wa_status_only_path(message_id, reason) AS
    reason IS NULL AND (SELECT status_only_path FROM _wa_route)
    AND NOT EXISTS (SELECT 1 FROM _wa_statuses_parsed AS p WHERE p.message_id = message_id);

CREATE OR REPLACE TEMP VIEW _wa_statuses_general AS
SELECT * FROM _wa_statuses_staged WHERE NOT _wa_status_only_path(message_id, reason)
UNION ALL
SELECT * FROM _wa_statuses_parsed;

CREATE OR REPLACE TEMP VIEW _wa_statuses_status_only AS
SELECT * FROM _wa_statuses_staged WHERE _wa_status_only_path(message_id, reason);
