-- purpose: stage and check the lines of one JSON-lines file (temp table _lines, read by
--          sql/ingest/read_lines.sql): line number, md5 of the line as received and why it
--          cannot be stored (_body_reason).
-- grain:   one row per non-blank line, appended to temp table _checked; a line holding a
--          JSON array is marked split (check_staged.sql replaces it by its elements).
--          WhatsApp lines are parsed here once (_wa_json): the parse checks the JSON and
--          the envelope. A status-only body (one entry with one "messages" change holding
--          exactly one status and no messages, contacts, errors or message_echoes: most
--          traffic) keeps its status as the typed row of _wa_statuses in wa; the mapper never
--          parses it again, redaction skips it (it holds no path redaction.py redacts) and
--          the status-only path (wa_status_only.sql) maps it.
-- params:  $path VARCHAR (the file), $file BIGINT (its index in the call, for ordering),
--          $platform VARCHAR.
-- The line number is the row's position in _lines (its rowid minus the first one, plus 1:
-- _lines was written in file order, and rowids are dense, which threadlift.ingest.raw
-- checks), so this pass needs no ordering and runs on every thread.
INSERT INTO _checked
WITH parsed AS (
    SELECT rowid - (SELECT min(rowid) FROM _lines) + 1 AS line_no, line,
           CASE WHEN $platform = 'whatsapp' THEN _wa_json(line) END AS j
    FROM _lines
    WHERE line IS NOT NULL AND (starts_with(line, '{') OR trim(line) <> '')
),
-- one nesting level per CTE (see wa_macros.sql)
entries AS (
    SELECT line_no, line, j, len(j.entry) AS n_entries, j.entry[1] AS entry FROM parsed
),
changes AS (
    SELECT line_no, line, j, n_entries, len(entry.changes) AS n_changes,
           entry.changes[1] AS change
    FROM entries
),
vals AS (
    SELECT line_no, line, j,
           n_entries = 1 AND n_changes = 1 AND change.field = 'messages' AS fast,
           change.value AS v
    FROM changes
),
heads AS (
    -- _wa_json is NULL for text that is not JSON, and for the JSON literal null, which
    -- _body_head reads as a document that is not an object
    SELECT line_no, line,
           CASE WHEN j IS NOT NULL THEN [j.object, NULL] ELSE _body_head(line) END AS head,
           coalesce(fast AND len(v.statuses) = 1 AND v.messages IS NULL AND v.contacts IS NULL
                    AND v.errors IS NULL AND v.message_echoes IS NULL, false) AS status_only,
           _wa_sender(v.metadata.display_phone_number) AS sender_id,
           v.statuses[1] AS status
    FROM vals
)
SELECT $path, 'line ' || line_no, ($file::BIGINT * 1000000000 + line_no) * 100000, line,
       md5_number(line), _body_reason(line, head, $platform),
       NOT starts_with(line, '{') AND head IS NOT NULL AND starts_with(ltrim(line), '['),
       CASE WHEN status_only THEN _wa_status_row(sender_id, status) END
FROM heads
