-- purpose: the staging tables of one ingest call and the check every staged body passes.
-- grain:   _checked one row per staged body (reason NULL when good; body_hash the md5 of
--          the body text as received, as md5_number; k orders bodies by arrival; split marks a JSON-lines
--          line holding an array, replaced by its elements before storing); _staged one row
--          per body read in Python or split out of an array line, before checking;
--          _stage_rejects one row per input that never became a body.
--          wa holds the one status of a status-only WhatsApp body, parsed while staging
--          (_wa_status_row of wa_macros.sql), which the mapper reads from these fields
--          alone; NULL for every other body (the mapper parses it again).
-- params:  none. Several statements (DDL only), run once per ingest call after wa_macros.sql.
CREATE OR REPLACE TEMP TABLE _checked AS
SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS location, NULL::BIGINT AS k,
       NULL::VARCHAR AS body, NULL::UHUGEINT AS body_hash, NULL::VARCHAR AS reason,
       NULL::BOOLEAN AS split,
       _wa_status_row(NULL::VARCHAR, _wa_json('{}').entry[1].changes[1].value.statuses[1]) AS wa
LIMIT 0;
CREATE OR REPLACE TEMP TABLE _staged (
    source VARCHAR, location VARCHAR, ord BIGINT, sub BIGINT, body VARCHAR);
CREATE OR REPLACE TEMP TABLE _stage_rejects (
    source VARCHAR, location VARCHAR, reason VARCHAR, raw VARCHAR);
-- the parse every body gets once: NULL when the text is not JSON, else [object, direction]
CREATE OR REPLACE TEMP MACRO _body_head(body) AS
    try(json_extract_string(body, ['$.object', '$.direction']));
-- why a body cannot be stored (NULL when it can): valid JSON object, no documentation
-- placeholders, a webhook (or log record) of the platform being ingested. The cheap
-- contains(body, '<') guards the regular expression, which needs '"<'.
CREATE OR REPLACE TEMP MACRO _body_reason(body, head, platform) AS
    CASE
        WHEN head IS NULL THEN 'malformed JSON'
        WHEN NOT (starts_with(body, '{') OR starts_with(ltrim(body), '{'))
            THEN 'not a JSON object; each body must be an object'
        WHEN contains(body, '<') AND regexp_matches(body, '"<[A-Za-z][^"<>]*>"')
            THEN 'payload contains placeholders such as '
                 || regexp_extract(body, '"(<[A-Za-z][^"<>]*>)"', 1)
                 || '; documentation examples are not traffic'
        WHEN platform = 'whatsapp' AND coalesce(head[1], '') <> 'whatsapp_business_account'
            THEN 'not a WhatsApp webhook body: expected "object": "whatsapp_business_account", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN platform = 'messenger' AND coalesce(head[1], '') <> 'page'
            THEN 'not a Messenger webhook body: expected "object": "page", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN platform = 'instagram' AND coalesce(head[1], '') <> 'instagram'
            THEN 'not an Instagram webhook body: expected "object": "instagram", got '
                 || coalesce('"' || head[1] || '"', 'no "object"')
        WHEN platform = 'apple' AND coalesce(head[2], '') NOT IN ('inbound', 'outbound')
            THEN 'not an Apple Messages for Business log record: expected "direction": '
                 || '"inbound" or "outbound"'
    END;
