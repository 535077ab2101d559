-- purpose: stage and check the lines of one JSON-lines file (temp table _lines, read by
--          sql/ingest/read_lines.sql): line number, md5 of the line as received and why it
--          cannot be stored (_body_reason).
-- grain:   one row per non-blank line, appended to temp table _checked; a line holding a
--          JSON array is marked split (check_staged.sql replaces it by its elements).
-- params:  $path VARCHAR (the file), $file BIGINT (its index in the call, for ordering),
--          $platform VARCHAR.
-- The line number is the row's position in _lines (its rowid minus the first one, plus 1:
-- _lines was written in file order, and rowids are dense, which threadlift.ingest.raw
-- checks), so this pass needs no ordering and runs on every thread.
INSERT INTO _checked
WITH heads AS (
    SELECT rowid - (SELECT min(rowid) FROM _lines) + 1 AS line_no, line, _body_head(line) AS head
    FROM _lines
    WHERE line IS NOT NULL AND (starts_with(line, '{') OR trim(line) <> '')
)
SELECT $path, 'line ' || line_no, ($file::BIGINT * 1000000000 + line_no) * 100000, line,
       md5(line), _body_reason(line, head, $platform),
       NOT starts_with(line, '{') AND head IS NOT NULL AND starts_with(ltrim(line), '[')
FROM heads
