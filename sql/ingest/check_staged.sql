-- purpose: check every staged body: valid JSON object, no documentation placeholders, a
--          webhook (or log record) of the platform being ingested.
-- grain:   one row per staged body (temp table _checked); reason NULL when the body is good;
--          k orders bodies by arrival, body_hash is the md5 of the body text as received.
-- params:  $platform VARCHAR.
CREATE OR REPLACE TEMP TABLE _checked AS
WITH heads AS MATERIALIZED (
    -- one parse per body: NULL when the text is not JSON
    SELECT source, location, ord, sub, body,
           try(json_extract_string(body, ['$.object', '$.direction'])) AS head,
           (starts_with(body, '{') OR starts_with(ltrim(body), '{')) AS is_object
    FROM _staged
)
SELECT source, location, ord * 100000 + sub AS k, body, md5(body) AS body_hash,
    CASE
        WHEN head IS NULL THEN 'malformed JSON'
        WHEN NOT is_object THEN 'not a JSON object; each body must be an object'
        WHEN contains(body, '"<') AND regexp_matches(body, '"<[A-Za-z][^"<>]*>"')
            THEN 'payload contains placeholders such as '
                 || regexp_extract(body, '"(<[A-Za-z][^"<>]*>)"', 1)
                 || '; documentation examples are not traffic'
        WHEN $platform = 'whatsapp' AND coalesce(head[1], '') <> 'whatsapp_business_account'
            THEN 'not a WhatsApp webhook body: expected "object": "whatsapp_business_account", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN $platform = 'messenger' AND coalesce(head[1], '') <> 'page'
            THEN 'not a Messenger webhook body: expected "object": "page", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN $platform = 'instagram' AND coalesce(head[1], '') <> 'instagram'
            THEN 'not an Instagram webhook body: expected "object": "instagram", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN $platform = 'apple' AND coalesce(head[2], '') NOT IN ('inbound', 'outbound')
            THEN 'not an Apple Messages for Business log record: expected "direction": '
                 || '"inbound" or "outbound"'
    END AS reason
FROM heads;
