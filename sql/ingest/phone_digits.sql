-- purpose: E.164 form and market of phone identifiers written as international digits
--          (WhatsApp wa_id), checked against the possible national-number lengths of
--          their calling code (phonenumbers metadata in _calling_codes).
-- grain:   one row per distinct digits-only phone (temp table _phone_norm); e164 and region
--          NULL when the number is not possible.
-- params:  none. needs: _c_obs, _calling_codes(calling_code, region, lengths).
CREATE OR REPLACE TEMP TABLE _phone_norm AS
WITH digits AS (
    SELECT DISTINCT raw FROM _c_obs WHERE kind = 'phone' AND regexp_full_match(raw, '[0-9]+')
),
matched AS (
    SELECT d.raw, c.calling_code, c.region, c.lengths
    FROM digits AS d JOIN _calling_codes AS c ON c.calling_code = left(d.raw, 1)
    UNION ALL
    SELECT d.raw, c.calling_code, c.region, c.lengths
    FROM digits AS d JOIN _calling_codes AS c ON c.calling_code = left(d.raw, 2)
    UNION ALL
    SELECT d.raw, c.calling_code, c.region, c.lengths
    FROM digits AS d JOIN _calling_codes AS c ON c.calling_code = left(d.raw, 3)
)
SELECT d.raw,
       CASE WHEN list_contains(m.lengths, length(d.raw) - length(m.calling_code))
            THEN '+' || d.raw END AS e164,
       CASE WHEN list_contains(m.lengths, length(d.raw) - length(m.calling_code))
            THEN m.region END AS region
FROM digits AS d LEFT JOIN matched AS m ON m.raw = d.raw;
