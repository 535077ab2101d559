-- purpose: stage and check the documents of one JSON-lines file in one pass: line number,
--          md5 of the line as received and why it cannot be stored (_body_reason).
-- grain:   one row per non-blank line, appended to temp table _checked; a line holding a
--          JSON array is marked split (check_staged.sql replaces it by its elements).
-- params:  $path VARCHAR (the file), $file BIGINT (its index in the call, for ordering),
--          $platform VARCHAR.
-- Lines are read as text (the unit separator never occurs in JSON text), so a malformed
-- line is kept with its line number and quarantined. The body text is copied once, from
-- the file into _checked; hashing and the JSON parse read it there.
INSERT INTO _checked
WITH lines AS (
    SELECT row_number() OVER () AS line_no, line
    FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = chr(31),
                  quote = '', escape = '', auto_detect = false, max_line_size = 268435456,
                  strict_mode = false)
),
heads AS (
    SELECT line_no, line, _body_head(line) AS head
    FROM lines
    WHERE line IS NOT NULL AND (starts_with(line, '{') OR trim(line) <> '')
)
SELECT $path, 'line ' || line_no, ($file::BIGINT * 1000000000 + line_no) * 100000, line,
       md5(line), _body_reason(line, head, $platform),
       NOT starts_with(line, '{') AND head IS NOT NULL AND starts_with(ltrim(line), '[')
FROM heads;
