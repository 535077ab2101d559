-- purpose: after a read with rejects (sql/ingest/read_lines.sql), put a NULL line back in
--          _lines for each line the reader rejected, so that a row's position in _lines is
--          again its line number (sql/ingest/stage_json_lines.sql skips NULL lines).
-- grain:   one row per physical line, in file order; replaces TEMP TABLE _lines(line).
-- params:  $rejected BIGINT[] (the line numbers, from 1, of the rejected lines).
CREATE OR REPLACE TEMP TABLE _lines AS
WITH kept AS (
    SELECT line, row_number() OVER (ORDER BY rowid) AS k FROM _lines
),
rejected AS (
    SELECT DISTINCT unnest(CAST($rejected AS BIGINT[])) AS line_no
),
slots AS (
    SELECT n AS line_no, row_number() OVER (ORDER BY n) AS k
    FROM range(1, (SELECT count(*) FROM _lines) + (SELECT count(*) FROM rejected) + 1) AS r(n)
    WHERE n NOT IN (SELECT line_no FROM rejected)
)
SELECT line FROM (
    SELECT s.line_no, kept.line FROM slots s JOIN kept USING (k)
    UNION ALL
    SELECT line_no, CAST(NULL AS VARCHAR) AS line FROM rejected
)
ORDER BY line_no
