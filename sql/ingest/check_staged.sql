-- purpose: check the bodies staged outside the JSON-lines pass: documents read in Python
--          and the elements of JSON-lines lines holding an array (marked split in _checked).
-- grain:   one row per body, appended to temp table _checked (reason NULL when good).
-- params:  $platform VARCHAR. needs: _staged, _checked, the macros of staging.sql.
-- The split lines themselves are deleted from _checked by the caller afterwards.
INSERT INTO _checked
WITH staged AS (
    SELECT source, location, ord * 100000 + sub AS k, body FROM _staged
    UNION ALL
    SELECT source, location || ' [' || (idx - 1) || ']', k + idx, element
    FROM (
        SELECT source, location, k,
               unnest(json_extract(body, '$[*]'))::VARCHAR AS element,
               generate_subscripts(json_extract(body, '$[*]'), 1) AS idx
        FROM _checked
        WHERE split
    )
),
heads AS MATERIALIZED (
    SELECT source, location, k, body, _body_head(body) AS head FROM staged
)
SELECT source, location, k, body, md5_number(body), _body_reason(body, head, $platform), false, NULL
FROM heads;
