-- purpose: read a CSV of SMS / e-mail sends and events as text, one JSON object per row.
-- grain:   one row per CSV data row (temp table _csv), line_no counting the header as 1.
-- params:  $path VARCHAR.
CREATE OR REPLACE TEMP TABLE _csv AS
SELECT row_number() OVER () + 1 AS line_no, to_json(c)::VARCHAR AS body, c.*
FROM read_csv($path, all_varchar = true, header = true) AS c;
