-- purpose: parse and check the SMS / e-mail CSV rows of the raw store.
-- grain:   one row per CSV row (temp table _sms_items); reason NULL when usable.
-- params:  $platform VARCHAR (sms or email).
CREATE OR REPLACE TEMP TABLE _sms_items AS
WITH rows AS MATERIALIZED (
    SELECT source, location, body AS raw,
           body ->> 'message_id' AS message_id,
           lower(trim(body ->> 'event')) AS event_raw,
           trim(body ->> 'ts') AS ts_raw,
           body ->> 'to' AS recipient,
           body ->> 'sender_id' AS sender_id,
           lower(body ->> 'category') AS category,
           body ->> 'campaign_id' AS campaign_id,
           body ->> 'experiment_id' AS experiment_id,
           body ->> 'arm' AS arm,
           body ->> 'template' AS template,
           body ->> 'error_code' AS error_code
    FROM _bodies
)
SELECT *, $platform AS channel,
       CASE event_raw WHEN 'opened' THEN 'read' WHEN 'bounced' THEN 'failed' ELSE event_raw END
           AS event,
       CASE WHEN regexp_full_match(ts_raw, '[0-9]{9,11}') THEN make_timestamp(ts_raw::BIGINT * 1000000)
            ELSE coalesce(TRY_CAST(ts_raw AS TIMESTAMPTZ)::TIMESTAMP, TRY_CAST(ts_raw AS TIMESTAMP))
       END AS ts,
       CASE
           WHEN coalesce(message_id, '') = '' THEN 'row without a message_id'
           WHEN event_raw IS NULL THEN 'row without an event'
           WHEN event_raw NOT IN ('send', 'sent', 'delivered', 'read', 'opened', 'failed', 'bounced')
               THEN 'unknown event "' || event_raw || '"; expected send, sent, delivered, read, '
                    || 'opened, failed or bounced'
           WHEN ts_raw IS NULL THEN 'row without a ts'
           WHEN NOT regexp_full_match(ts_raw, '[0-9]{9,11}')
                AND TRY_CAST(ts_raw AS TIMESTAMPTZ) IS NULL AND TRY_CAST(ts_raw AS TIMESTAMP) IS NULL
               THEN 'ts "' || ts_raw || '" is not ISO 8601 or Unix seconds'
           WHEN event_raw = 'send' AND coalesce(recipient, '') = '' THEN 'send without a "to" address'
       END AS reason
FROM rows;
