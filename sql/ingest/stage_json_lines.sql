-- purpose: stage the documents of one JSON-lines file: one body per non-blank line, or one
--          per element when the line holds a JSON array.
-- grain:   one row per staged body, appended to temp table _staged.
-- params:  $path VARCHAR (the file), $file BIGINT (its index in the call, for ordering).
-- Lines are read as text (the unit separator never occurs in JSON text), so a malformed
-- line is kept with its line number and quarantined by check_staged.sql.
INSERT INTO _staged
WITH lines AS (
    SELECT row_number() OVER () AS line_no, line
    FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = chr(31),
                  quote = '', escape = '', auto_detect = false, max_line_size = 268435456,
                  strict_mode = false)
)
SELECT $path, 'line ' || line_no, $file::BIGINT * 1000000000 + line_no, 0, line
FROM lines
WHERE line IS NOT NULL
  AND (starts_with(line, '{') OR trim(line) <> '')
  AND (starts_with(line, '{') OR NOT (starts_with(ltrim(line), '[') AND json_valid(line)))
UNION ALL
SELECT $path, 'line ' || line_no || ' [' || (idx - 1) || ']', $file::BIGINT * 1000000000 + line_no, idx,
       element
FROM (
    SELECT line_no,
           unnest(json_extract(line, '$[*]'))::VARCHAR AS element,
           generate_subscripts(json_extract(line, '$[*]'), 1) AS idx
    FROM lines
    WHERE NOT starts_with(line, '{') AND starts_with(ltrim(line), '[') AND json_valid(line)
);
