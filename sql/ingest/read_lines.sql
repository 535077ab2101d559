-- purpose: read one JSON-lines file as lines of text, in file order (each row's rowid is its
--          0-based line index, which sql/ingest/stage_json_lines.sql turns into the line
--          number without an order-preserving window, so both passes run in parallel).
-- grain:   one row per line the CSV reader yields; writes TEMP TABLE _lines(line).
-- params:  $path VARCHAR (the file), $max_line_size BIGINT (bytes, the longest line
--          accepted: threadlift.ingest.raw._MAX_LINE, also the reader's buffer size),
--          $with_rejects BOOLEAN (false: a file known to be UTF-8, read in parallel, any
--          bad line an error; true: the lines the reader cannot take go to the temp table
--          reject_errors, read in one pass, since the parallel reader drops a line longer
--          than its buffer without a reject row; sql/ingest/lines_with_gaps.sql puts
--          them back).
-- Lines are read as text (the unit separator never occurs in JSON text), so a malformed
-- line is kept with its line number and quarantined.
CREATE OR REPLACE TEMP TABLE _lines AS
SELECT line
FROM read_csv($path, columns = {'line': 'VARCHAR'}, header = false, delim = chr(31),
              quote = '', escape = '', auto_detect = false,
              max_line_size = CAST($max_line_size AS BIGINT),
              buffer_size = CAST($max_line_size AS BIGINT), strict_mode = false,
              store_rejects = $with_rejects, parallel = NOT $with_rejects)
