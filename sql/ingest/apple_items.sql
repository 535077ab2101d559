-- purpose: Apple Messages for Business provider log records, parsed and checked.
-- grain:   one row per record (temp table _apple_items); reason NULL when usable.
-- params:  none. needs: _bodies (platform apple).
-- Inbound: source_id is the user's opaque id, destination_id the business. Outbound: the
-- other way round. Apple has no receipts: an outbound record is at best "submitted".
-- Each record is parsed once, typed (from_json gives a number's or an object's JSON text
-- for a VARCHAR field, as ->> does), not once per field.
CREATE OR REPLACE TEMP TABLE _apple_items AS
WITH parsed AS (
    SELECT body_hash, source, location, body AS raw,
           from_json(body, '{"direction": "VARCHAR", "id": "VARCHAR", "source_id": "VARCHAR",
                             "source-id": "VARCHAR", "destination_id": "VARCHAR",
                             "destination-id": "VARCHAR", "timestamp": "VARCHAR",
                             "type": "VARCHAR", "status": "VARCHAR", "error_code": "VARCHAR",
                             "context_message_id": "VARCHAR", "experiment_id": "VARCHAR",
                             "arm": "VARCHAR", "campaign_id": "VARCHAR", "template": "VARCHAR",
                             "category": "VARCHAR"}') AS r
    FROM _bodies
),
rows AS MATERIALIZED (
    SELECT body_hash, source, location, raw,
           r.direction AS direction,
           r.id AS message_id,
           coalesce(r.source_id, r."source-id") AS source_id,
           coalesce(r.destination_id, r."destination-id") AS destination_id,
           trim(r.timestamp) AS ts_raw,
           coalesce(r.type, 'text') AS type,
           lower(coalesce(r.status, 'submitted')) AS status,
           r.error_code AS error_code,
           r.context_message_id AS context_message_id,
           r.experiment_id AS experiment_id, r.arm AS arm,
           r.campaign_id AS campaign_id, r.template AS template,
           lower(r.category) AS category
    FROM parsed
)
SELECT *,
       CASE WHEN direction = 'inbound' THEN source_id ELSE destination_id END AS user_id,
       CASE WHEN direction = 'inbound' THEN destination_id ELSE source_id END AS business_id,
       CASE WHEN regexp_full_match(ts_raw, '[0-9]{9,11}') THEN make_timestamp(ts_raw::BIGINT * 1000000)
            ELSE coalesce(TRY_CAST(ts_raw AS TIMESTAMPTZ)::TIMESTAMP, TRY_CAST(ts_raw AS TIMESTAMP))
       END AS ts,
       type IN ('typing_start', 'typing_end', 'close') AS is_event,
       CASE
           WHEN coalesce(message_id, '') = '' THEN 'record without an id'
           WHEN source_id IS NULL OR destination_id IS NULL THEN 'record without source_id / destination_id'
           WHEN ts_raw IS NULL THEN 'record without a timestamp'
           WHEN NOT regexp_full_match(ts_raw, '[0-9]{9,11}')
                AND TRY_CAST(ts_raw AS TIMESTAMPTZ) IS NULL AND TRY_CAST(ts_raw AS TIMESTAMP) IS NULL
               THEN 'timestamp "' || ts_raw || '" is not ISO 8601 or Unix seconds'
           WHEN direction = 'outbound' AND status NOT IN ('submitted', 'failed')
               THEN 'unknown outbound status "' || status || '"; Apple has no receipts: '
                    || 'expected submitted or failed'
       END AS reason
FROM rows;
